"""A handle on a running emulator for tests: where it is, how to trust it, how to drive it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def jwt_key_pair(directory: Path) -> tuple[Path, Path]:
    """An RSA private key and its self-signed certificate, as a connected app holds them."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sfsink test connected app")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = directory / "jwt-key.pem", directory / "jwt-cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


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
        """Set daily_api_cap, api_requests and/or bulk_batches (used so far)."""
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
    jwt_private_key: Path
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
