"""A real Prometheus (Debian's) scrapes a real `sfsink run` against Kafka and the emulator.

One Prometheus serves the session: it scrapes every second and loads
deploy/prometheus/alerts.yml. The run checks what operators rely on: the accounting
identity at every scrape, a clean `promtool check metrics`, every dashboard query
answering, each alert's expression false before its fault and true after, and JSON logs.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from prometheus import ALERTS, PrometheusServer, promtool
from prometheus_client.parser import text_string_to_metric_families

from devstack import ROOT, free_port
from tests.integration.pipeline.conftest import Sink, wait_until
from tests.integration.pipeline.test_process import SFSINK

DASHBOARD = ROOT / "grafana" / "sfsink.json"
TERMS = {
    "sfsink_records_consumed_total": 1,
    "sfsink_records_applied_total": -1,
    "sfsink_records_superseded_total": -1,
    "sfsink_records_dead_lettered_total": -1,
    "sfsink_records_released_total": -1,
    "sfsink_records_pending": -1,
}
IDENTITY = " ".join(
    f"{'+' if sign > 0 else '-'} (sum({name}) or vector(0))" for name, sign in TERMS.items()
)
MARKER = "obs-payload-"


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """Debian's prometheus on a free port, 1 s scrapes, the project's alert rules loaded."""
    server = PrometheusServer(home=tmp_path_factory.mktemp("prometheus"), port=free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def alert_exprs() -> dict[str, str]:
    """Each alert's name and expression, from deploy/prometheus/alerts.yml."""
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def dashboard_exprs() -> list[str]:
    """Every PromQL expression of the dashboard, its variables given test values."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = [target["expr"] for panel in panels for target in panel["targets"]]
    return [e.replace("$instance", ".*").replace("$__rate_interval", "30s") for e in exprs]


def scrape_values(text: str) -> dict[str, float]:
    """Each sample name's values summed over labels; a phase's also as `name{phase}`."""
    sums: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            names = [sample.name]
            if "phase" in sample.labels:
                names.append(f"{sample.name}{{{sample.labels['phase']}}}")
            for name in names:
                sums[name] = sums.get(name, 0.0) + sample.value
    return sums


class Scraper(threading.Thread):
    """Scrapes /metrics back to back and keeps every scrape where the identity fails."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{port}/metrics"
        self.stop = threading.Event()
        self.scrapes = 0
        self.mid_flow = 0
        self.broken: list[dict[str, float]] = []

    def run(self) -> None:
        """Until stopped: scrape, check consumed = applied + ... + pending."""
        while not self.stop.is_set():
            try:
                values = scrape_values(requests.get(self.url, timeout=5).text)
            except requests.ConnectionError:
                continue  # not listening yet
            terms = {name: values.get(name, 0.0) for name in TERMS}
            if sum(sign * terms[name] for name, sign in TERMS.items()) != 0:
                self.broken.append(terms)
            self.scrapes += 1
            self.mid_flow += terms["sfsink_records_pending"] > 0


def start(sink: Sink, tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    """`sfsink run` with JSON logs and a /limits read every second, set by SFSINK_ variables."""
    config = sink.write_config(tmp_path / "obs.yaml", port)
    env = {
        **os.environ,
        "SFSINK_LOGGING__FORMAT": "json",
        "SFSINK_SALESFORCE__LIMITS_INTERVAL_SECONDS": "1",
    }
    log = (tmp_path / "obs.log").open("wb")
    return subprocess.Popen(
        [str(SFSINK), "run", "--config", str(config)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )


def waves(sink: Sink, start_at: int, count: int) -> int:
    """Produce `count` events: keys repeat (compaction), some deletes, some bad ones."""
    events: list[tuple[object, object]] = []
    for i in range(start_at, start_at + count):
        key = f"o{i % 40}"
        if i % 25 == 0:
            events.append((f"bad{i}", {"Name": MARKER + "x" * 300}))  # too long: rejected
        elif i % 33 == 0:
            events.append((key, b"{not json" + MARKER.encode()))  # undecodable
        elif i % 17 == 0:
            events.append((key, None))  # a delete
        else:
            events.append((key, {"Name": f"{MARKER}{i}"}))
    sink.produce(events)
    return start_at + count


def holds(prom: PrometheusServer, expr: str) -> bool:
    """Whether an expression returns at least one series now."""
    return bool(prom.query(expr))


def test_rules_pass_promtool() -> None:
    """Promtool check rules accepts deploy/prometheus/alerts.yml; each rule has a runbook."""
    checked = promtool("check", "rules", str(ALERTS))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    for rule in (rule for group in groups for rule in group["rules"]):
        assert rule["annotations"]["runbook"], rule["alert"]


def test_the_spool_alert_fires_after_ten_minutes_near_the_bound(tmp_path: Path) -> None:
    """The rule, run by promtool on a spool at half its bound, then at 95% for 15 minutes.

    No run is held that long near its bound; the real run below checks that both series
    exist and that the rule stays quiet on a healthy spool.
    """
    labels = 'job="sfsink", instance="127.0.0.1:9464"'
    case = {
        "rule_files": [str(ALERTS)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": f"sfsink_spool_bytes{{{labels}}}", "values": "500x5 950x15"},
                    {"series": f"sfsink_spool_bytes_limit{{{labels}}}", "values": "1000x20"},
                ],
                "alert_rule_test": [
                    {"eval_time": "5m", "alertname": "SfsinkSpoolNearBound", "exp_alerts": []},
                    {"eval_time": "15m", "alertname": "SfsinkSpoolNearBound", "exp_alerts": []},
                    {
                        "eval_time": "17m",
                        "alertname": "SfsinkSpoolNearBound",
                        "exp_alerts": [
                            {
                                "exp_labels": {
                                    "severity": "warn",
                                    "job": "sfsink",
                                    "instance": "127.0.0.1:9464",
                                },
                                "exp_annotations": _annotations("SfsinkSpoolNearBound", "95%"),
                            }
                        ],
                    },
                ],
            }
        ],
    }
    tests = tmp_path / "spool_alert_test.yml"
    tests.write_text(yaml.safe_dump(case))
    checked = promtool("test", "rules", str(tests))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _annotations(alert: str, value: str) -> dict[str, str]:
    """The rule's annotations as Prometheus renders them for an instance at `value`."""
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    rule = next(r for g in groups for r in g["rules"] if r.get("alert") == alert)
    rendered = dict(rule["annotations"])
    rendered["summary"] = (
        rendered["summary"]
        .replace("{{ $labels.instance }}", "127.0.0.1:9464")
        .replace("{{ $value | humanizePercentage }}", value)
    )
    return rendered


def test_prometheus_scrapes_a_real_run(sink_factory, emulator, prometheus, tmp_path) -> None:  # noqa: PLR0915 - one run, checked step by step
    """Identity at every scrape, clean metrics, every panel answers, faults raise alerts."""
    # Row locks make retries and error codes; delays give each job a queue and a processing time.
    emulator.admin.faults(seed=11, lock_rate=0.05, job_delay_seconds=0.3, chunk_delay_seconds=0.3)
    sink = sink_factory(partitions=2, batching={"max_records": 60, "max_in_flight": 2})
    produced = waves(sink, 0, 300)
    port = free_port()
    target = f"127.0.0.1:{port}"
    prometheus.set_targets([target])
    scraper = Scraper(port)
    scraper.start()
    proc = start(sink, tmp_path, port)
    up = f'up{{job="sfsink", instance="{target}"}} == 1'
    try:
        # Prometheus must see the flow, not only its end: a run finished before its first
        # scrape shows flat counters, and rates of zero (seen once on a loaded CI machine).
        wait_until(lambda: holds(prometheus, up), timeout=30, what="Prometheus scraping")
        for _ in range(3):  # records keep arriving while the scraper scrapes
            _progress(sink, produced // 2)
            produced = waves(sink, produced, 200)
        final = produced
        wait_until(lambda: sink.committed(partitions=2) == final, timeout=90, what="all final")
        wait_until(lambda: scraper.scrapes > 0 and not _busy(port), what="the loop idle")
        scraper.stop.set()
        scraper.join(10)
        assert scraper.broken == [], scraper.broken[:3]
        assert scraper.scrapes >= 20
        assert scraper.mid_flow > 0, "no scrape caught records in flight"

        text = requests.get(f"http://{target}/metrics", timeout=5).text
        checked = promtool("check", "metrics", stdin=text.encode())
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert checked.stdout + checked.stderr == ""
        values = scrape_values(text)
        assert values["sfsink_records_consumed_total"] == final
        assert values["sfsink_records_superseded_total"] > 0
        assert values["sfsink_records_dead_lettered_total"] > 0
        assert values["sfsink_bulk_batches_remaining"] > 0
        assert values["sfsink_spool_bytes_limit"] == 2**30  # batching.max_spool_bytes' default
        for phase in ("upload", "queue", "processing"):
            assert values[f"sfsink_job_duration_seconds_sum{{{phase}}}"] > 0, phase
        calls = "sfsink_salesforce_requests_total{{endpoint={!r},status={!r}}}"
        for endpoint, status in (
            ("oauth", "200"),
            ("ingest_create", "200"),
            ("ingest_poll", "200"),
            ("limits", "200"),
        ):
            assert calls.format(endpoint, status).replace("'", '"') in text
        # Jobs of 60 rows are created with their data: no upload, no close.
        assert 'endpoint="ingest_upload"' not in text

        exprs = dashboard_exprs()
        wait_until(lambda: all(holds(prometheus, e) for e in exprs), 45, "every panel's data")
        # The identity held at each of Prometheus' own scrapes too, at 1 s resolution.
        worst = prometheus.query(f"max_over_time(abs({IDENTITY})[5m:1s])")
        assert [float(s["value"][1]) for s in worst] == [0.0]  # type: ignore[index]

        alerts = alert_exprs()
        assert not holds(prometheus, alerts["SfsinkAccountingMismatch"])
        assert not holds(prometheus, alerts["SfsinkDown"])
        assert not holds(prometheus, alerts["SfsinkLoopStuck"])
        assert not holds(prometheus, alerts["SfsinkSpoolNearBound"])
        assert holds(prometheus, alerts["SfsinkDeadLetterRateHigh"])  # the bad records

        for name in ("SfsinkBulkJobsFailing", "SfsinkApiUsageNearCap", "SfsinkBulkBatchesNearCap"):
            assert not holds(prometheus, alerts[name]), name
        emulator.admin.faults(fail_jobs=1, fail_message="injected by the test")
        waves(sink, final, 20)
        _fires(prometheus, alerts["SfsinkBulkJobsFailing"])
        emulator.admin.limits(bulk_batches=14_000)
        _fires(prometheus, alerts["SfsinkBulkBatchesNearCap"])
        emulator.admin.limits(daily_api_cap=100_000, api_requests=95_000)
        _fires(prometheus, alerts["SfsinkApiUsageNearCap"])

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        emulator.admin.limits(daily_api_cap=100_000, api_requests=0, bulk_batches=0)
        prometheus.set_targets([])
        if proc.poll() is None:
            proc.kill()
            proc.wait(30)
    _check_log((tmp_path / "obs.log").read_text(), emulator.client_secret)


def _progress(sink: Sink, committed: int) -> None:
    wait_until(lambda: sink.committed(partitions=2) >= committed, timeout=60, what="progress")


def _busy(port: int) -> bool:
    values = scrape_values(requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
    return values["sfsink_records_pending"] > 0 or values["sfsink_jobs_in_flight"] > 0


def _fires(prom: PrometheusServer, expr: str) -> None:
    wait_until(lambda: holds(prom, expr), timeout=30, what=f"alert expression true: {expr}")


def _check_log(log: str, secret: str) -> None:
    """Every line is JSON; jobs are named with counts and durations; no payload, no secret."""
    lines = [json.loads(line) for line in log.splitlines()]
    messages = [line["message"] for line in lines]
    assert {line["level"] for line in lines} <= {"INFO", "WARNING"}
    job = re.compile(r"Bulk job 750\w+ \(upsert Account\) JobComplete: \d+ processed, \d+ failed; ")
    assert any(job.match(m) and "processing" in m for m in messages)
    assert any(re.match(r"upsert Account job 750\w+: \d+ applied", m) for m in messages)
    assert any("Failed" in m and "injected by the test" in m for m in messages)
    assert MARKER not in log
    assert secret not in log
