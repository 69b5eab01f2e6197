"""/metrics, /healthz and /readyz over real HTTP on 127.0.0.1."""

from __future__ import annotations

import threading

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


def test_metrics_wait_for_the_scrape_lock() -> None:
    """While the loop holds the accounting lock, /metrics waits: a scrape never sees half."""
    registry = CollectorRegistry()
    metrics = Metrics.create(registry)
    server = HealthServer(
        registry, "127.0.0.1", 0, lambda: None, lambda: None, scrape_lock=metrics.accounting
    )
    server.start()
    answers: list[str] = []
    scrape = threading.Thread(
        target=lambda: answers.append(
            requests.get(f"http://127.0.0.1:{server.port}/metrics", timeout=30).text
        )
    )
    try:
        with metrics.accounting:
            scrape.start()
            metrics.records_consumed.labels("t").inc(2)
            scrape.join(0.5)
            assert scrape.is_alive(), "the scrape went ahead while the lock was held"
            metrics.records_applied.labels("A", "upsert").inc(2)
        scrape.join(30)
        assert 'sfsink_records_consumed_total{topic="t"} 2.0' in answers[0]
        assert 'sfsink_records_applied_total{object="A",operation="upsert"} 2.0' in answers[0]
    finally:
        server.stop()
