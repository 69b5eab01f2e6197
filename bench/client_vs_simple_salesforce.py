"""HTTP calls and wall time to upsert N rows: sfsink's BulkClient next to simple-salesforce.

Starts `sfsink-emulator` (HTTPS, no rate limit) as its own process, then upserts the
same N rows (default 100,000) into Account by ExternalKey__c, each run on an emptied org
so every run does the same work (all inserts):

- sfsink BulkClient from the CSV file, and from N dicts (default poll: 1 s x1.5 to 30 s),
  and from the file polling every second (simple-salesforce's wait=1 polls about so);
- simple-salesforce's bulk2 from the same CSV file, with its default wait (5 s) and
  with wait=1 (its poll interval then starts where ours does).

Calls are the emulator's own count (GET /__emulator/calls), sign-in included. sfsink
by default also downloads and parses the successful rows (100,000 Ids) before it
returns; simple-salesforce returns counts only, as sfsink does with
fetch_successes=False (the last sfsink row).

    .venv/bin/python bench/client_vs_simple_salesforce.py --rows 100000
"""

from __future__ import annotations

import argparse
import csv
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import requests
from simple_salesforce import Salesforce

from connector.salesforce import BulkClient, ClientCredentials, ClientSettings, PollPolicy

EVERY_SECOND = PollPolicy(initial=1.0, factor=1.0, maximum=1.0)
ROOT = Path(__file__).resolve().parent.parent
CLIENT_ID, CLIENT_SECRET = "sfsink-emulator", "sfsink-emulator-secret"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rows(count: int) -> list[dict[str, object]]:
    """The records to upsert."""
    return [
        {
            "ExternalKey__c": f"K-{i}",
            "Name": f"Account {i}",
            "NumberOfEmployees": i % 5000,
            "Active__c": i % 2 == 0,
            "Phone": f"555-{i % 10000:04d}",
        }
        for i in range(count)
    ]


def write_csv(path: Path, records: list[dict[str, object]]) -> None:
    """The same records as a CSV file."""
    with path.open("w", encoding="utf-8", newline="") as target:
        writer = csv.DictWriter(target, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        for record in records:
            writer.writerow(
                {k: str(v).lower() if isinstance(v, bool) else v for k, v in record.items()}
            )


class Emulator:
    """The emulator in its own process, and its admin API."""

    def __init__(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="bench-client-"))
        port = free_port()
        command = [sys.executable, "-m", "emulator.cli", "--port", str(port)]
        command += ["--db", str(self.home / "org.db")]
        self.proc = subprocess.Popen(
            command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.base = f"https://127.0.0.1:{port}"
        self.ca = self.home / "tls" / "ca.pem"
        self.admin = requests.Session()
        self.admin.trust_env = False
        self._wait_until_up()

    def _wait_until_up(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit("the emulator exited")
            try:
                if self.ca.exists():
                    self.admin.get(f"{self.base}/services/data", timeout=1, verify=str(self.ca))
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        sys.exit("the emulator did not answer within 60 s")

    def call(self, method: str, path: str) -> dict[str, object]:
        """One admin call."""
        response = self.admin.request(method, f"{self.base}/__emulator/{path}", verify=str(self.ca))
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def calls(self) -> int:
        """Every call the org has answered since the last reset."""
        return sum(self.call("GET", "calls")["calls"].values())  # type: ignore[union-attr]

    def stop(self) -> None:
        """End the emulator process."""
        self.proc.terminate()
        self.proc.wait(timeout=30)


def measure(emulator: Emulator, run: Callable[[], int]) -> tuple[int, int, float]:
    """Reset the org, run, and return (rows written, HTTP calls, wall seconds)."""
    emulator.call("POST", "reset")
    began = time.monotonic()
    written = run()
    return written, emulator.calls(), time.monotonic() - began


def sfsink_run(
    emulator: Emulator, source: object, poll: PollPolicy | None = None, *, successes: bool = True
) -> Callable[[], int]:
    """An upsert through BulkClient."""

    def run() -> int:
        settings = ClientSettings(
            login_url=emulator.base,
            auth=ClientCredentials(CLIENT_ID, CLIENT_SECRET),
            ca_bundle=str(emulator.ca),
            poll=poll or PollPolicy(),
        )
        with BulkClient(settings) as client:
            result = client.upsert(
                "Account",
                source,  # type: ignore[arg-type]
                "ExternalKey__c",
                fetch_successes=successes,
            )
            return result.success_count

    return run


def simple_salesforce_run(emulator: Emulator, path: Path, wait: int) -> Callable[[], int]:
    """The same upsert through simple-salesforce's bulk2."""

    def run() -> int:
        session = requests.Session()
        session.trust_env = False
        session.verify = str(emulator.ca)
        token = session.post(
            f"{emulator.base}/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(CLIENT_ID, CLIENT_SECRET),
        ).json()["access_token"]
        sf = Salesforce(instance_url=emulator.base, session_id=token, session=session)
        results = sf.bulk2.Account.upsert(str(path), external_id_field="ExternalKey__c", wait=wait)
        return sum(r["numberRecordsProcessed"] - r["numberRecordsFailed"] for r in results)

    return run


def main() -> int:
    """Run each client in turn against one emulator and print a table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    records = rows(args.rows)
    emulator = Emulator()
    path = emulator.home / "accounts.csv"
    write_csv(path, records)
    runs = [
        ("sfsink BulkClient, CSV file", sfsink_run(emulator, path)),
        ("sfsink BulkClient, list of dicts", sfsink_run(emulator, records)),
        ("sfsink BulkClient, CSV file, poll every 1 s", sfsink_run(emulator, path, EVERY_SECOND)),
        (
            "sfsink, CSV, poll 1 s, counts only",
            sfsink_run(emulator, path, EVERY_SECOND, successes=False),
        ),
        ("simple-salesforce bulk2, wait=5 (default)", simple_salesforce_run(emulator, path, 5)),
        ("simple-salesforce bulk2, wait=1", simple_salesforce_run(emulator, path, 1)),
    ]
    try:
        print(
            f"upsert of {args.rows:,} rows into Account by ExternalKey__c, emulator {emulator.base}"
        )
        print(f"{'client':45} {'rows ok':>9} {'HTTP calls':>10} {'wall s':>8}")
        for name, run in runs:
            written, calls, wall = measure(emulator, run)
            print(f"{name:45} {written:>9,} {calls:>10} {wall:>8.2f}")
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
