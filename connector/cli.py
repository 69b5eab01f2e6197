"""The `sfsink` command line."""

from __future__ import annotations

import argparse

from connector import __version__, bulk_cli, replay_cli, run_cli


def build_parser() -> argparse.ArgumentParser:
    """The parser of every sfsink command."""
    parser = argparse.ArgumentParser(
        prog="sfsink",
        description="Replicates change events from Kafka into Salesforce (Bulk API 2.0).",
    )
    parser.add_argument("--version", action="version", version=f"sfsink {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run_cli.add_parsers(commands)
    bulk_cli.add_parser(commands)
    replay_cli.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "bulk":
        return bulk_cli.run(args)
    if args.command == "run":
        return run_cli.run(args)
    if args.command == "check":
        return run_cli.check(args)
    if args.command == "replay-dlq":
        return replay_cli.run(args)
    parser.print_help()
    return 0
