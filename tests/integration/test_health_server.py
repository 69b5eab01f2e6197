"""/metrics, /healthz and /readyz over real HTTP on 127.0.0.1."""

from __future__ import annotations

import requests
from prometheus_client import CollectorRegistry

from connector.metrics import HealthServer, Metrics


def test_health_endpoints_report_the_checks_and_metrics_are_served() -> None:
    """Each probe answers 200 'ok' or 503 with the reason; /metrics has sfsink_ series."""
    registry = CollectorRegistry()
    Metrics.create(registry).records_consumed.labels("t").inc(3)
    problems: dict[str, str | None] = {"live": None, "ready": "no Kafka partitions assigned"}
    server = HealthServer(
        registry, "127.0.0.1", 0, lambda: problems["live"], lambda: problems["ready"]
    )
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        live = requests.get(f"{base}/healthz", timeout=5)
        ready = requests.get(f"{base}/readyz", timeout=5)
        assert (live.status_code, live.text) == (200, "ok\n")
        assert (ready.status_code, ready.text) == (503, "no Kafka partitions assigned\n")
        problems["ready"] = None
        assert requests.get(f"{base}/readyz", timeout=5).status_code == 200
        scrape = requests.get(f"{base}/metrics", timeout=5).text
        assert 'sfsink_records_consumed_total{topic="t"} 3.0' in scrape
    finally:
        server.stop()
