"""A handle on a running emulator for tests: where it is, how to trust it, how to drive it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests


def trusting_session(ca_path: Path) -> requests.Session:
    """A requests session that trusts the emulator's CA.

    trust_env is off because REQUESTS_CA_BUNDLE, when set, silently overrides
    Session.verify and the emulator's certificate would be refused.
    """
    session = requests.Session()
    session.verify = str(ca_path)
    session.trust_env = False
    return session


@dataclass(frozen=True)
class EmulatorAdmin:
    """The /__emulator/ admin API."""

    base_url: str
    ca_path: Path

    def _call(self, method: str, path: str, body: object = None) -> Any:
        with trusting_session(self.ca_path) as session:
            response = session.request(method, f"{self.base_url}/__emulator/{path}", json=body)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """Empty the org: records, jobs, sessions, usage and faults."""
        self._call("POST", "reset")

    def records(self, sobject: str) -> list[dict[str, Any]]:
        """Every record of an object, deleted ones included (IsDeleted tells)."""
        return self._call("GET", f"records/{sobject}")["records"]

    def live(self, sobject: str) -> list[dict[str, Any]]:
        """The records of an object that are not deleted."""
        return [r for r in self.records(sobject) if not r["IsDeleted"]]

    def faults(self, **settings: Any) -> dict[str, Any]:
        """Change faults (see emulator/faults.py); returns the faults in force."""
        return self._call("PUT", "faults", settings)

    def expire_sessions(self) -> int:
        """End every session now."""
        return self._call("POST", "sessions/expire")["expired"]

    def refresh_token(self) -> str:
        """A refresh token for the refresh_token grant."""
        return self._call("POST", "refresh-tokens")["refresh_token"]

    def limits(self, **settings: int) -> dict[str, int]:
        """Set daily_api_cap and/or api_requests."""
        return self._call("PUT", "limits", settings)

    def calls(self) -> dict[str, Any]:
        """Calls per endpoint class and allocations used."""
        return self._call("GET", "calls")


@dataclass(frozen=True)
class EmulatorHandle:
    """A running emulator: base URL, client credentials, CA file, admin API."""

    base_url: str
    client_id: str
    client_secret: str
    ca_path: Path
    admin: EmulatorAdmin

    def session(self) -> requests.Session:
        """A requests session that trusts the emulator."""
        return trusting_session(self.ca_path)

    def token(self) -> str:
        """A fresh access token from the client credentials grant."""
        with self.session() as session:
            response = session.post(
                f"{self.base_url}/services/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(self.client_id, self.client_secret),
            )
        response.raise_for_status()
        return response.json()["access_token"]
