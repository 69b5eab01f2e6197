"""How fast the emulator processes a Bulk API 2.0 upsert job, and its peak memory.

Starts `sfsink-emulator` as a separate process (rate limit off) on a free port, uploads
one upsert job of N rows (default 100,000) to Account by ExternalKey__c, and reports the
processing rate from UploadComplete to JobComplete (rows/s, by the job's
totalProcessingTime and by wall clock) and the emulator's peak RSS, sampled with psutil.
Run twice in a row to see inserts (first pass) and updates (second pass). With --query it
then reads every row back through a Bulk query job, page by page, to show that results
stream (RSS stays flat however many rows there are).

    .venv/bin/python bench/emulator_rate.py --rows 100000 --passes 2
    .venv/bin/python bench/emulator_rate.py --rows 1000000 --passes 1 --query
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def csv_body(rows: int) -> bytes:
    """An upsert CSV touching most field types."""
    lines = ["ExternalKey__c,Name,NumberOfEmployees,AnnualRevenue,Active__c,Founded__c,Phone"]
    lines += [
        f"K-{i},Account {i},{i % 5000},{i * 10}.5,{'true' if i % 2 else 'false'},"
        f"2020-01-{1 + i % 28:02d},555-{i % 10000:04d}"
        for i in range(rows)
    ]
    return ("\n".join(lines) + "\n").encode()


class PeakRss:
    """Samples a process's RSS every 50 ms in a thread."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def stop(self) -> int:
        """Stop sampling; the peak in bytes."""
        self._stop.set()
        self._thread.join()
        return self.peak


def wait_until_up(session: requests.Session, base: str, proc: subprocess.Popen[bytes]) -> None:
    """Poll until the emulator answers."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("the emulator exited")
        try:
            session.get(f"{base}/services/data", timeout=1)
        except requests.ConnectionError:
            time.sleep(0.05)
            continue
        return
    sys.exit("the emulator did not answer within 30 s")


def run_job(session: requests.Session, base: str, body: bytes) -> tuple[dict[str, object], float]:
    """One upsert job: create, upload, close, poll; its final JobInfo and wall seconds."""
    jobs = f"{base}/services/data/v62.0/jobs/ingest"
    job = session.post(
        jobs,
        json={"object": "Account", "operation": "upsert", "externalIdFieldName": "ExternalKey__c"},
    ).json()
    session.put(
        f"{jobs}/{job['id']}/batches", data=body, headers={"Content-Type": "text/csv"}
    ).raise_for_status()
    began = time.monotonic()
    session.patch(f"{jobs}/{job['id']}", json={"state": "UploadComplete"}).raise_for_status()
    while True:
        info = session.get(f"{jobs}/{job['id']}").json()
        if info["state"] in {"JobComplete", "Failed", "Aborted"}:
            return info, time.monotonic() - began
        time.sleep(0.05)


def run_query(session: requests.Session, base: str) -> tuple[int, float]:
    """One Bulk query job over every Account, read in pages; rows read and seconds."""
    jobs = f"{base}/services/data/v62.0/jobs/query"
    began = time.monotonic()
    soql = "SELECT Id, ExternalKey__c, Name, NumberOfEmployees, AnnualRevenue FROM Account"
    job = session.post(jobs, json={"operation": "query", "query": soql}).json()
    while session.get(f"{jobs}/{job['id']}").json()["state"] != "JobComplete":
        time.sleep(0.05)
    rows, locator = 0, ""
    while locator != "null":
        suffix = f"&locator={locator}" if locator else ""
        page = session.get(f"{jobs}/{job['id']}/results?maxRecords=100000{suffix}", stream=True)
        for _ in page.iter_lines():
            rows += 1
        rows -= 1  # each page repeats the header row
        locator = page.headers["Sforce-Locator"]
    return rows, time.monotonic() - began


def main() -> int:
    """Run the benchmark and print one line per pass."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--passes", type=int, default=2)
    parser.add_argument("--query", action="store_true", help="then read all rows back")
    args = parser.parse_args()
    port = free_port()
    home = Path(tempfile.mkdtemp(prefix="emulator-bench-"))
    command = [
        sys.executable,
        "-m",
        "emulator.cli",
        "--port",
        str(port),
        "--db",
        str(home / "org.db"),
        "--plain-http",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        session = requests.Session()
        session.trust_env = False
        wait_until_up(session, base, proc)
        token = session.post(
            f"{base}/services/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=("sfsink-emulator", "sfsink-emulator-secret"),
        ).json()["access_token"]
        session.headers["Authorization"] = f"Bearer {token}"
        body = csv_body(args.rows)
        sampler = PeakRss(proc.pid)
        for number in range(1, args.passes + 1):
            info, wall = run_job(session, base, body)
            processing = int(info["totalProcessingTime"]) / 1000 or wall
            print(
                f"pass {number}: {info['state']} processed={info['numberRecordsProcessed']} "
                f"failed={info['numberRecordsFailed']} "
                f"rate={args.rows / processing:,.0f} rows/s (processing {processing:.2f} s), "
                f"wall {args.rows / wall:,.0f} rows/s ({wall:.2f} s incl. polling)"
            )
        if args.query:
            rows, seconds = run_query(session, base)
            print(f"query: {rows} rows in {seconds:.2f} s ({rows / seconds:,.0f} rows/s)")
        print(f"peak RSS of the emulator: {sampler.stop() / 2**20:.0f} MiB")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
