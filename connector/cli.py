"""The `sfsink` command line."""

from __future__ import annotations

import argparse

from connector import __version__


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(
        prog="sfsink",
        description="Replicates change events from Kafka into Salesforce (Bulk API 2.0).",
    )
    parser.add_argument("--version", action="version", version=f"sfsink {__version__}")
    parser.parse_args(argv)
    parser.print_help()
    return 0
