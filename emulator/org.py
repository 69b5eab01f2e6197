"""The org: settings, schema, records, jobs, sessions, limits and faults in one place.

Handlers and the worker receive the Org; nothing in the emulator is a module global, so
several emulators (one per test session, say) can run in one process.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from emulator import schema as schema_module
from emulator.auth import Sessions
from emulator.faults import FaultState
from emulator.jobs import Job, JobRegistry
from emulator.limits import Limits
from emulator.store import Store

API_VERSIONS = tuple(f"{v}.0" for v in range(41, 67))
LATEST_VERSION = API_VERSIONS[-1]


@dataclass(frozen=True, slots=True)
class Settings:
    """How the emulator was started (the command line's options)."""

    db: Path
    objects: Path
    client_id: str = "sfsink-emulator"
    client_secret: str = "sfsink-emulator-secret"  # noqa: S105 - a well-known local default
    jwt_public_key: bytes | None = None
    token_ttl: float = 7200.0
    daily_api_cap: int = 100_000
    rate: float | None = None
    username: str = "integration@sfsink.emulator"


class JobQueue(Protocol):
    """Where closed jobs go to be run (the Worker)."""

    def submit(self, job: Job) -> None:
        """Queue a job that has reached UploadComplete."""


class _Unstarted:
    def submit(self, job: Job) -> None:
        raise RuntimeError(f"no worker runs jobs yet; {job.id} cannot start")


class Org:
    """Everything the server and the worker share."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.schema = schema_module.load(settings.objects)
        settings.db.parent.mkdir(parents=True, exist_ok=True)
        self.store = Store(settings.db, self.schema)
        self.jobs = JobRegistry(settings.db.with_name(settings.db.name + ".jobs"))
        self.sessions = Sessions(settings.token_ttl)
        self.limits = Limits(settings.daily_api_cap)
        self.faults = FaultState()
        self.worker: JobQueue = _Unstarted()
        # REST query cursors by id (see rest_query); values are rest_query.Cursor.
        self.cursors: dict[str, object] = {}
        self.cursor_lock = threading.Lock()

    def reset(self) -> None:
        """Back to an empty, healthy org: no records, jobs, sessions, usage or faults."""
        self.jobs.clear()
        self.store.reset()
        self.sessions.clear()
        with self.cursor_lock:
            self.cursors.clear()
        self.limits.reset()
        self.limits.daily_api_cap = self.settings.daily_api_cap
        self.faults.set(type(self.faults.current)())

    def close(self) -> None:
        """Release the database."""
        self.store.close()
