"""`make bench` at a tiny size, on the session's broker, registry and emulator, so it cannot rot."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_benchmark_measures_every_contestant_and_reports_the_targets(
    kafka_bootstrap, schema_registry, tmp_path
) -> None:
    """Every run commits all 2,000 records and gets its figures; each target is judged.

    The benchmark starts its own emulator, so it also counts the emulator's CPU during
    each run and what the cores allow sfsink's drain.
    """
    report = tmp_path / "benchmarks.md"
    report.write_text("# Benchmarks\n\nprose before\n\n<!-- make bench: begin -->"
                      "<!-- make bench: end -->\n\nprose after\n")  # fmt: skip
    command = [
        sys.executable, str(ROOT / "bench" / "run.py"),
        "--records", "2000", "--pace-rate", "400", "--pace-seconds", "2", "--max-age", "1",
        "--emulator-rows", "1000", "--bootstrap", kafka_bootstrap, "--registry", schema_registry,
        "--report", str(report),
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=280, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {
        m["name"]: m.groupdict()
        for m in re.finditer(
            r"^\| (?P<name>[\w-]+) \| (?P<records>[\d,]+) \| [\d.,]+ \| (?P<rate>[\d,]+) "
            r"\| [\d.,]+ \| (?P<stack>[\d.,]+) \| (?P<rss>[\d,]+) \| (?P<calls>[\d,-]+) \|",
            done.stdout,
            re.MULTILINE,
        )
    }
    assert set(rows) == {"floor", "sfsink", "alternative", "sfsink-backlog"}
    assert {row["records"] for row in rows.values()} == {"2,000"}
    assert all(int(row["rss"].replace(",", "")) > 0 for row in rows.values())
    assert rows["floor"]["calls"] == "-"
    assert int(rows["sfsink"]["calls"].replace(",", "")) > 0
    assert float(rows["sfsink"]["stack"].replace(",", "")) > 0  # the emulator ran its jobs
    share = re.search(
        r"spread perfectly over this machine's (\d+) cores, that work allows at most "
        r"([\d,]+) records/s: ([\d.]+) of the floor",
        done.stdout,
    )
    assert share is not None, done.stdout
    assert int(share[1]) >= 1
    assert int(share[2].replace(",", "")) > 0
    verdicts = re.findall(r"\| (met|\*\*not met\*\*) \|$", done.stdout, re.MULTILINE)
    assert len(verdicts) == 6
    assert re.search(r"p50 [\d.]+ s, p99 [\d.]+ s over 800 records", done.stdout)
    written = report.read_text()
    assert written.startswith("# Benchmarks\n\nprose before\n\n<!-- make bench: begin -->")
    assert written.endswith("<!-- make bench: end -->\n\nprose after\n")
    assert "| sfsink | 2,000 |" in written
