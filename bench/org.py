"""The emulated org as the benchmark sees it: its counters, its jobs, its own speed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from measure import PeakRss
from workload import EXTERNAL_ID, SOBJECT

from connector.salesforce import BulkClient, BulkJob, ClientCredentials, ClientSettings
from tests.support.emulator import EmulatorAdmin


@dataclass(frozen=True)
class Spend:
    """What a run cost the org: API calls (sign-in included), Bulk batches, ingest jobs."""

    calls: int
    bulk_batches: int
    jobs: tuple[BulkJob, ...]


@dataclass(frozen=True)
class Org:
    """A running emulator: where it is, how to sign in, and its pid when we started it."""

    url: str
    ca: Path
    client_id: str
    client_secret: str
    pid: int | None = None

    @property
    def admin(self) -> EmulatorAdmin:
        """The /__emulator/ admin API."""
        return EmulatorAdmin(self.url, self.ca)

    def salesforce_settings(self) -> dict[str, Any]:
        """The `salesforce` section of an sfsink config for this org."""
        return {
            "login_url": self.url,
            "ca_bundle": str(self.ca),
            "auth": {
                "flow": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
            },
        }

    def client(self) -> BulkClient:
        """A BulkClient (sfsink's) on this org."""
        auth = ClientCredentials(self.client_id, self.client_secret)
        return BulkClient(ClientSettings(login_url=self.url, auth=auth, ca_bundle=str(self.ca)))

    def spend(self) -> Spend:
        """Calls and batches since the last reset, then the ingest jobs.

        The calls are read first, so listing the jobs does not count.
        """
        calls = self.admin.calls()
        with self.client() as client:
            jobs = tuple(client.jobs("ingest"))
        return Spend(sum(calls["calls"].values()), int(calls["bulk_batches"]), jobs)

    def processing_rate(self, rows: int) -> tuple[float, int | None]:
        """Rows/s the emulator processes in one `rows`-row upsert job; its peak RSS meanwhile.

        The rate is timed by the job's own totalProcessingTime, so no client polling is
        counted; the RSS is known only when we started the emulator (and so know its pid).
        """
        self.admin.reset()
        records = [
            {"ExternalKey__c": f"K-{i}", "Name": f"Account {i}", "NumberOfEmployees": i % 5000,
             "AnnualRevenue": i * 10.5, "Active__c": i % 2 == 0, "Phone": f"555-{i % 10000:04d}"}
            for i in range(rows)
        ]  # fmt: skip
        sampler = PeakRss(self.pid) if self.pid else None
        with self.client() as client:
            job = client.upsert(SOBJECT, records, EXTERNAL_ID, fetch_successes=False).job
        peak = sampler.stop() if sampler else None
        return rows / max(job.total_processing_ms / 1000, 0.001), peak
