"""`sfsink-emulator`: serve a local Salesforce org (HTTPS on 127.0.0.1 by default)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from emulator.org import Settings
from emulator.schema import default_path
from emulator.server import EmulatorServer, Listen

_DEFAULTS = Settings(db=Path("org.db"), objects=default_path())


def parser() -> argparse.ArgumentParser:
    """The command line."""
    p = argparse.ArgumentParser(prog="sfsink-emulator", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=18443)
    p.add_argument("--db", type=Path, default=Path(".local/emulator/org.db"), help="SQLite file")
    p.add_argument("--objects", type=Path, default=default_path(), help="objects YAML")
    p.add_argument("--tls-cert", type=Path, help="PEM certificate (default: a generated one)")
    p.add_argument("--tls-key", type=Path, help="PEM key of --tls-cert")
    p.add_argument("--plain-http", action="store_true", help="serve HTTP instead of HTTPS")
    p.add_argument("--client-id", default=_DEFAULTS.client_id)
    p.add_argument("--client-secret", default=_DEFAULTS.client_secret)
    p.add_argument("--jwt-public-key", type=Path, help="PEM certificate or public key (JWT)")
    p.add_argument("--token-ttl", type=float, default=_DEFAULTS.token_ttl, help="seconds")
    p.add_argument("--daily-api-cap", type=int, default=_DEFAULTS.daily_api_cap)
    p.add_argument("--rate", type=float, default=None, help="rows/s per job (default: no limit)")
    return p


def main(argv: list[str] | None = None) -> int:
    """Parse options and serve until interrupted."""
    args = parser().parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        print("--tls-cert and --tls-key go together", file=sys.stderr)  # noqa: T201
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = Settings(
        db=args.db.resolve(),
        objects=args.objects,
        client_id=args.client_id,
        client_secret=args.client_secret,
        jwt_public_key=args.jwt_public_key.read_bytes() if args.jwt_public_key else None,
        token_ttl=args.token_ttl,
        daily_api_cap=args.daily_api_cap,
        rate=args.rate,
    )
    server = EmulatorServer(
        settings, Listen(args.host, args.port, args.plain_http, args.tls_cert, args.tls_key)
    )
    logging.getLogger("emulator").info(
        "serving %s (CA: %s)", server.base_url, server.tls and server.tls.ca
    )
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
