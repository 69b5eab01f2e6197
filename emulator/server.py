"""Runs the emulator under uvicorn, in the foreground (CLI) or in a thread (tests)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from emulator.app import build
from emulator.org import Org, Settings
from emulator.tls import TlsFiles, ensure


@dataclass(frozen=True, slots=True)
class Listen:
    """Where and how to serve."""

    host: str = "127.0.0.1"
    port: int = 0
    plain_http: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None


class EmulatorServer:
    """One emulator: its org and the uvicorn server in front of it."""

    def __init__(self, settings: Settings, listen: Listen) -> None:
        self.org = Org(settings)
        self.listen = listen
        self.tls: TlsFiles | None = None
        ssl: dict[str, str] = {}
        if not listen.plain_http:
            if listen.tls_cert and listen.tls_key:
                self.tls = TlsFiles(listen.tls_cert, listen.tls_cert, listen.tls_key)
            else:
                self.tls = ensure(settings.db.parent / "tls")
            ssl = {"ssl_certfile": str(self.tls.cert), "ssl_keyfile": str(self.tls.key)}
        config = uvicorn.Config(
            build(self.org),
            host=listen.host,
            port=listen.port,
            log_level="warning",
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=1,
            # Clients poll every few seconds on one pooled connection (simple-salesforce
            # sleeps 5 s); uvicorn's 5 s default closes it just as they reuse it.
            timeout_keep_alive=120,
            **ssl,  # type: ignore[arg-type]
        )
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (useful when asked for port 0)."""
        servers = getattr(self.server, "servers", [])  # set once uvicorn has bound
        sockets = [s for server in servers for s in server.sockets]
        return int(sockets[0].getsockname()[1]) if sockets else self.listen.port

    @property
    def base_url(self) -> str:
        """The instance URL clients use."""
        scheme = "http" if self.listen.plain_http else "https"
        return f"{scheme}://{self.listen.host}:{self.port}"

    def run(self) -> None:
        """Serve in the foreground until interrupted."""
        try:
            self.server.run()
        finally:
            self.org.close()

    def start(self, timeout: float = 30.0) -> None:
        """Serve in a daemon thread; return once it listens."""
        self._thread = threading.Thread(target=self.server.run, name="emulator", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        """Ask uvicorn to exit, wait for the thread, close the database."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=30)
        self.org.close()
