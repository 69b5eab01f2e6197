"""The floor contestant: consume and decode with sfsink's own parts, write nothing.

The cost no connector avoids: sfsink's Source (its consumer settings) polls, its
AvroDecoder reads each record through the schema registry and unwraps the Debezium
envelope, and the offsets are committed after each poll. Runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import sys

from connector.decode import AvroDecoder, RegistrySettings, SchemaRegistry
from connector.source import Source


def main() -> int:
    """Consume, decode, commit; forever."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--poll-records", type=int, default=5_000)
    args = parser.parse_args()
    source = Source({"bootstrap.servers": args.bootstrap, "group.id": args.group}, [args.topic])
    source.subscribe(on_assign=lambda _: None, on_revoke=lambda _: None)
    decoder = AvroDecoder(SchemaRegistry(RegistrySettings(args.registry)))
    while True:
        records = source.poll(1.0, args.poll_records)
        for record in records:
            decoder.decode(record)
        if records:
            last = {r.position.topic_partition: r.position.offset + 1 for r in records}
            source.commit(last)


if __name__ == "__main__":
    sys.exit(main())
