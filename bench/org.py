"""The emulated org as the benchmark sees it: its counters, its jobs, its own speed."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from connector.salesforce import BulkClient, BulkJob, ClientCredentials, ClientSettings
from tests.support.emulator import EmulatorAdmin, trusting_session

API = "services/data/v62.0"


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
        lines = ["ExternalKey__c,Name,NumberOfEmployees,AnnualRevenue,Active__c,Founded__c,Phone"]
        lines += [
            f"K-{i},Account {i},{i % 5000},{i * 10}.5,{'true' if i % 2 else 'false'},"
            f"2020-01-{1 + i % 28:02d},555-{i % 10000:04d}"
            for i in range(rows)
        ]
        with trusting_session(self.ca) as session:
            token = session.post(
                f"{self.url}/services/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.client_secret),
            ).json()["access_token"]
            session.headers["Authorization"] = f"Bearer {token}"
            jobs = f"{self.url}/{API}/jobs/ingest"
            job = session.post(
                jobs,
                json={
                    "object": "Account",
                    "operation": "upsert",
                    "externalIdFieldName": "ExternalKey__c",
                },
            ).json()
            session.put(
                f"{jobs}/{job['id']}/batches",
                data=("\n".join(lines) + "\n").encode(),
                headers={"Content-Type": "text/csv"},
            ).raise_for_status()
            session.patch(
                f"{jobs}/{job['id']}", json={"state": "UploadComplete"}
            ).raise_for_status()
            process = psutil.Process(self.pid) if self.pid else None
            peak = 0
            while (info := session.get(f"{jobs}/{job['id']}").json())["state"] != "JobComplete":
                if info["state"] in {"Failed", "Aborted"}:
                    raise RuntimeError(f"the emulator's job ended {info['state']}")
                if process is not None:
                    peak = max(peak, process.memory_info().rss)
                time.sleep(0.05)
        rate = rows / max(int(info["totalProcessingTime"]) / 1000, 0.001)
        return rate, peak or None
