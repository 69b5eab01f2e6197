"""A private Prometheus (Debian's package) scraping sfsink: for the tests and by hand.

The binary comes from `install-system-deps.sh`; no system service is used. Each server
gets its own config, storage and port under `home`, scrapes every second, loads the
alert rules of deploy/prometheus/alerts.yml, and finds its targets in a file it watches,
so targets can come and go while it runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from devstack import ROOT, Launch, StackError, free_port, launch, running_pid, stop_pid

ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
JOB = "sfsink"  # the alerts' `up{job="sfsink"}` expects this scrape job name


def binary(name: str) -> str:
    """The path of `prometheus` or `promtool`, or a StackError saying how to get it."""
    found = shutil.which(name)
    if found is None:
        raise StackError(f"{name} is needed: run deploy/local/install-system-deps.sh")
    return found


def promtool(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    """Run promtool; its output (problems, one a line) is in stdout and stderr."""
    return subprocess.run(
        [binary("promtool"), *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


@dataclass
class PrometheusServer:
    """One Prometheus process; its config, data, log and pid live in `home`."""

    home: Path
    port: int
    scrape_interval: str = "1s"

    @property
    def url(self) -> str:
        """The base URL of its HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        """Where the running server's pid is kept."""
        return self.home / "prometheus.pid"

    @property
    def log_file(self) -> Path:
        """The server's stdout and stderr."""
        return self.home / "prometheus.log"

    @property
    def targets_file(self) -> Path:
        """The file_sd file listing what it scrapes."""
        return self.home / "targets.json"

    def set_targets(self, addresses: list[str]) -> None:
        """Scrape these host:port addresses from now on (the file is re-read on change)."""
        self.home.mkdir(parents=True, exist_ok=True)
        partial = self.targets_file.with_suffix(".tmp")
        partial.write_text(json.dumps([{"targets": addresses, "labels": {}}]))
        partial.replace(self.targets_file)  # atomic: never a half-written file

    def start(self, timeout: float = 60.0) -> None:
        """Write the config, start the server and wait until it is ready."""
        if not self.targets_file.exists():
            self.set_targets([])
        config = {
            "global": {
                "scrape_interval": self.scrape_interval,
                "evaluation_interval": self.scrape_interval,
            },
            "rule_files": [str(ALERTS)],
            "scrape_configs": [
                {
                    "job_name": JOB,
                    "file_sd_configs": [
                        {"files": [str(self.targets_file)], "refresh_interval": "1s"}
                    ],
                }
            ],
        }
        (self.home / "prometheus.yml").write_text(yaml.safe_dump(config))
        command = [
            binary("prometheus"),
            f"--config.file={self.home / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.home / 'data'}",  # also marks the process as ours
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--storage.tsdb.retention.time=1d",
            "--log.level=warn",
        ]
        launch(
            Launch("prometheus", command, self.home, self.log_file, self.pid_file),
            self.answers,
            timeout,
        )

    def answers(self) -> bool:
        """Whether /-/ready says 200."""
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as answer:  # noqa: S310 - our own http URL
                return bool(answer.status == 200)  # noqa: PLR2004 - HTTP OK
        except (urllib.error.URLError, OSError):
            return False

    def query(self, promql: str) -> list[dict[str, object]]:
        """The result vector of an instant query; a StackError if Prometheus refuses it."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - our own http URL
                body = json.load(answer)
        except urllib.error.HTTPError as exc:
            raise StackError(f"{promql!r}: {exc.read().decode(errors='replace')}") from None
        result: list[dict[str, object]] = body["data"]["result"]
        if body["data"]["resultType"] == "scalar":
            return [{"metric": {}, "value": result}]
        return result

    def pid(self) -> int | None:
        """The pid of our server if it still runs, else None."""
        return running_pid(self.pid_file, marker=str(self.home))

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM our server, SIGKILL it if it lingers."""
        stop_pid(self.pid_file, marker=str(self.home), timeout=timeout)


def main(argv: list[str] | None = None) -> int:
    """`prometheus.py up|down`: a Prometheus in `--home` scraping `--target`s."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("up", "down"))
    parser.add_argument("--home", type=Path, default=Path(".local/prometheus"))
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--target", action="append", default=[], help="host:port of /metrics")
    args = parser.parse_args(argv)
    server = PrometheusServer(args.home.resolve(), args.port or free_port())
    if args.action == "up":
        if args.target:
            server.set_targets(args.target)
        server.start()
        print(server.url)
    else:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
