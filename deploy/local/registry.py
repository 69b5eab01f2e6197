"""A real Schema Registry with the Confluent API: Apicurio Registry from Maven Central.

Apicurio Registry 3.0.9 is the newest release that runs on Java 17 (3.3.x is built for
Java 21). Its `-all.zip` holds a runnable Quarkus jar and its `lib/`. Maven cannot
fetch it (its parent POM, io.apicurio:apicurio-registry:3.0.9, is not on Central, so
dependency:copy fails reading the descriptor), so the zip is downloaded from Central
directly and checked against Central's SHA-1. Storage is H2 in memory: a fresh, empty
registry per start, for tests and the local stack only.

The Confluent-compatible API is at /apis/ccompat/v7. Its ids are Apicurio content ids:
one schema text has one id across subjects, as with Confluent, so AvroSerializer's
frames resolve through GET /schemas/ids/{id}.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from devstack import (
    Launch,
    StackError,
    cache_dir,
    free_port,
    launch,
    port_in_use,
    running_pid,
    stop_pid,
)

APICURIO_VERSION = "3.0.9"
CENTRAL = "https://repo.maven.apache.org/maven2"
_ARTIFACT = f"io/apicurio/apicurio-registry-app/{APICURIO_VERSION}"
_ZIP = f"apicurio-registry-app-{APICURIO_VERSION}-all.zip"
RUNNER = f"apicurio-registry-app-{APICURIO_VERSION}-runner.jar"
CCOMPAT_PATH = "/apis/ccompat/v7"
# SerialGC and a small heap suit two shared cores; C1 alone starts Quarkus faster.
JVM_OPTS = ("-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")


def apicurio_home() -> Path:
    """The unpacked registry, downloaded from Maven Central on first use and reused after."""
    home = cache_dir() / f"apicurio-registry-{APICURIO_VERSION}"
    done = home / ".complete"
    if done.exists():
        return home
    if shutil.which("java") is None:
        raise StackError("java is needed: run deploy/local/install-system-deps.sh")
    partial = home.with_name(home.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    archive = partial / _ZIP
    _download(f"{CENTRAL}/{_ARTIFACT}/{_ZIP}", archive)
    with zipfile.ZipFile(archive) as bundle:
        bundle.extractall(partial)
    archive.unlink()
    shutil.rmtree(home, ignore_errors=True)
    partial.rename(home)
    done.touch()
    return home


def _download(url: str, target: Path) -> None:
    """Fetch `url` into `target`, refusing it unless its SHA-1 is the one Central lists."""
    try:
        with urllib.request.urlopen(f"{url}.sha1", timeout=60) as answer:  # noqa: S310 - https
            expected = answer.read().decode().split()[0].strip()
        with urllib.request.urlopen(url, timeout=600) as answer, target.open("wb") as out:  # noqa: S310 - https
            shutil.copyfileobj(answer, out, 1 << 20)
    except (urllib.error.URLError, OSError) as exc:
        raise StackError(f"downloading {url} failed: {exc}") from None
    digest = hashlib.sha1(target.read_bytes(), usedforsecurity=False).hexdigest()
    if digest != expected:
        raise StackError(f"{url}: SHA-1 {digest} is not Central's {expected}")


@dataclass
class SchemaRegistryServer:
    """One Apicurio Registry process on 127.0.0.1; its log and pid file live in `home`."""

    home: Path
    port: int

    @property
    def url(self) -> str:
        """The Confluent-compatible API's base URL (schema.registry.url)."""
        return f"http://127.0.0.1:{self.port}{CCOMPAT_PATH}"

    @property
    def pid_file(self) -> Path:
        """Where the running registry's pid is kept."""
        return self.home / "registry.pid"

    @property
    def log_file(self) -> Path:
        """The registry's stdout and stderr."""
        return self.home / "registry.log"

    def start(self, timeout: float = 120.0) -> None:
        """Start the registry and wait until its ccompat API answers."""
        if port_in_use(self.port):
            raise StackError(f"port {self.port} is taken; choose another")
        app = apicurio_home()
        self.home.mkdir(parents=True, exist_ok=True)
        command = [
            "java", *JVM_OPTS,
            f"-Dsfsink.home={self.home}",  # marks the process as ours for stop()
            "-Dquarkus.http.host=127.0.0.1", f"-Dquarkus.http.port={self.port}",
            "-Dquarkus.management.enabled=false",
            "-Dapicurio.storage.kind=sql", "-Dapicurio.storage.sql.kind=h2",
            "-jar", str(app / RUNNER),
        ]  # fmt: skip
        launch(
            Launch("the registry", command, app, self.log_file, self.pid_file),
            self.answers,
            timeout,
        )

    def answers(self) -> bool:
        """Whether GET /subjects on the ccompat API answers 200."""
        try:
            with urllib.request.urlopen(f"{self.url}/subjects", timeout=1) as answer:  # noqa: S310 - our own http URL
                return bool(answer.status == 200)  # noqa: PLR2004 - HTTP OK
        except (urllib.error.URLError, OSError):
            return False

    def pid(self) -> int | None:
        """The pid of our registry if it still runs, else None."""
        return running_pid(self.pid_file, marker=str(self.home))

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM our registry, SIGKILL it if it lingers."""
        stop_pid(self.pid_file, marker=str(self.home), timeout=timeout)


def main(argv: list[str] | None = None) -> int:
    """`registry.py fetch|up|down`: fetch the jars, or run a registry in `--home`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=("fetch", "up", "down"))
    parser.add_argument("--home", type=Path, default=Path(".local/registry"))
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    if args.action == "fetch":
        print(apicurio_home())
        return 0
    server = SchemaRegistryServer(args.home.resolve(), args.port or free_port())
    if args.action == "up":
        server.start()
        print(server.url)
    else:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
