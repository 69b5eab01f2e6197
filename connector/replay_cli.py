"""`sfsink replay-dlq`: dead letters back to their topics (so through the pipeline) or a file."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from contextlib import nullcontext
from pathlib import Path
from typing import IO

from connector import replay
from connector.errors import ConfigError, ReplayError
from connector.run_cli import load

EPILOG = """\
Replayed records go to the end of their original topic: the connector writes them after
everything already there. Replay a record only once its cause is fixed, and prefer
--reason or an offset range over replaying everything: an old upsert replayed after a
newer change of the same key would overwrite it.
"""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `replay-dlq` on the top-level command parser."""
    parser = commands.add_parser(
        "replay-dlq",
        help="send dead-lettered records back through the pipeline, or to a file",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", type=Path, required=True, help="the YAML settings file")
    parser.add_argument("--topic", help="the dead-letter topic (default: dead_letter.topic)")
    parser.add_argument("--partition", type=int, help="only this partition of it")
    parser.add_argument("--from-offset", type=int, help="first offset to read (inclusive)")
    parser.add_argument("--to-offset", type=int, help="last offset to read (inclusive)")
    parser.add_argument(
        "--reason",
        action="append",
        default=[],
        help="only records with this sfsink.errors.reason (repeatable)",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--to-topic", help="produce to this topic instead of each origin")
    where.add_argument(
        "--to-file", type=Path, help="write JSON lines here instead of producing ('-': stdout)"
    )
    where.add_argument("--dry-run", action="store_true", help="count what would be replayed")


def run(args: argparse.Namespace) -> int:
    """Exit 0 when every selected record was replayed (or written), 2 on bad input, 1 on failure."""
    try:
        config = load(args.config)
        selection = _selection(args, config.dead_letter.topic)
    except ConfigError as exc:
        print(f"config error: {exc}", file=sys.stderr)  # noqa: T201 - the operator's answer
        return 2
    settings = config.kafka.consumer
    counts: Counter[tuple[str, str]] = Counter()
    try:
        records = replay.read(settings, selection)
        if args.to_file is not None:
            with _output(args.to_file) as out:
                for record in records:
                    replay.write_json_line(record, out)
                    counts[(str(args.to_file), record.reason)] += 1
        elif args.dry_run:
            for record in records:
                counts[(record.origin_topic or "(no origin)", record.reason)] += 1
        else:
            replayer = replay.TopicReplayer(settings, args.to_topic)
            for record in records:
                counts[(replayer.send(record), record.reason)] += 1
            replayer.finish()
    except ReplayError as exc:
        print(f"replay-dlq: {exc}", file=sys.stderr)  # noqa: T201 - the operator's answer
        _report(counts, "sent before the failure", sys.stderr)
        return 1
    verb = "would replay" if args.dry_run else "wrote" if args.to_file else "replayed"
    _report(counts, verb, sys.stderr if args.to_file == Path("-") else sys.stdout)
    return 0


def _selection(args: argparse.Namespace, default_topic: str) -> replay.Selection:
    for name in ("partition", "from_offset", "to_offset"):
        value = getattr(args, name)
        if value is not None and value < 0:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(f"{flag} must be 0 or more, not {value}")
    bounded = args.from_offset is not None and args.to_offset is not None
    if bounded and args.from_offset > args.to_offset:
        raise ConfigError(f"--from-offset {args.from_offset} is after --to-offset {args.to_offset}")
    return replay.Selection(
        topic=args.topic or default_topic,
        partition=args.partition,
        from_offset=args.from_offset,
        to_offset=args.to_offset,
        reasons=frozenset(args.reason),
    )


def _output(path: Path) -> nullcontext[IO[str]] | IO[str]:
    if path == Path("-"):
        return nullcontext(sys.stdout)
    return path.open("w", encoding="utf-8")


def _report(counts: Counter[tuple[str, str]], verb: str, out: IO[str]) -> None:
    total = sum(counts.values())
    print(f"{verb} {total} dead letters", file=out)
    for (where, reason), count in sorted(counts.items()):
        print(f"  {count:>8}  {reason:<24} → {where}", file=out)
