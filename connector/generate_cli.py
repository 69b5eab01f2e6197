"""`sfsink generate`: produce a Debezium-style change stream of accounts and contacts to Kafka."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from connector.decode import SCHEMAS_DIR
from connector.errors import SfsinkError
from connector.generate.mix import Mix

if TYPE_CHECKING:
    from connector.generate.produce import Outcome


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `generate` on the top-level command parser."""
    parser = commands.add_parser(
        "generate",
        help="produce a realistic CDC stream (load testing, demos)",
        description="Produce a deterministic Debezium-style CDC stream of accounts and their "
        "contacts: creates, updates, sparse updates, nulls, deletes in three shapes, records "
        "Salesforce refuses and undecodable ones. The same seed and --workers give the same "
        "stream and the same expected org.",
    )
    parser.add_argument("--count", type=int, default=10_000, help="Kafka records to produce")
    parser.add_argument("--rate", type=float, default=0, help="records/s (0: as fast as possible)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2, help="producing processes (shards)")
    parser.add_argument("--bootstrap", default="127.0.0.1:19092", help="Kafka bootstrap servers")
    parser.add_argument("--format", choices=("avro", "json"), default="avro")
    parser.add_argument("--registry-url", help="Confluent-compatible schema registry (avro)")
    parser.add_argument(
        "--topics",
        default="cdc.accounts,cdc.contacts",
        help="the accounts topic and the contacts topic, comma-separated",
    )
    parser.add_argument(
        "--mix",
        type=Mix.parse,
        default=Mix(),
        help="weights, e.g. create=0.3,update=0.3,sparse=0.12,nulls=0.08,delete=0.12,"
        "reject=0.01,undecodable=0.005,contacts=0.4 (contacts: share of changes to contacts)",
    )
    parser.add_argument("--expected", type=Path, help="write the expected org state (JSON) here")
    parser.add_argument("--schemas-dir", type=Path, default=SCHEMAS_DIR)
    parser.add_argument(
        "-X",
        dest="producer",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a librdkafka producer setting (repeatable), e.g. -X security.protocol=SSL",
    )


def run(args: argparse.Namespace) -> int:
    """Produce the stream; exit 0 when Kafka took every record, 1 when not, 2 on bad options."""
    topics = [t.strip() for t in args.topics.split(",")]
    settings = dict(item.partition("=")[::2] for item in args.producer)
    if len(topics) != 2 or not all(topics) or args.count < 0 or args.workers < 1:  # noqa: PLR2004
        print("need --topics ACCOUNTS,CONTACTS, --count >= 0, --workers >= 1", file=sys.stderr)  # noqa: T201
        return 2
    # Imported here, not at the top: the generator's value tables take megabytes that
    # every other sfsink command (a long-running `sfsink run`) should not carry.
    from connector.generate.produce import Plan, Target, generate  # noqa: PLC0415

    target = Target(
        bootstrap=args.bootstrap,
        topics={"account": topics[0], "contact": topics[1]},
        value_format=args.format,
        registry_url=args.registry_url,
        producer=settings,
        schemas_dir=args.schemas_dir,
    )
    plan = Plan(args.count, args.seed, args.rate, args.mix, args.workers)
    try:
        outcome = generate(target, plan, _progress(args.count))
    except SfsinkError as exc:
        print(f"\ngenerate: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    except KeyboardInterrupt:
        print("\ngenerate: interrupted; records already sent stay in Kafka", file=sys.stderr)  # noqa: T201
        return 130
    if args.expected is not None:
        outcome.expected.write(args.expected)
    print(_summary(outcome), file=sys.stderr)  # noqa: T201
    return 0


def _progress(total: int) -> Callable[[int], None]:
    last = [0.0]

    def show(sent: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 1 or sent == total:
            last[0] = now
            print(f"\rproduced {sent:,} of {total:,}", end="", file=sys.stderr, flush=True)  # noqa: T201

    return show


def _summary(outcome: Outcome) -> str:
    rate = outcome.records / outcome.seconds if outcome.seconds else 0.0
    lines = [f"\nproduced {outcome.records:,} records in {outcome.seconds:.1f}s ({rate:,.0f}/s)"]
    for (sobject, kind), count in sorted(outcome.by_kind.items()):
        lines.append(f"  {sobject:<8} {kind:<12} {count:>10,}")
    return "\n".join(lines)
