"""The local stack: a Kafka broker from Maven Central jars, the Salesforce emulator, a registry.

The broker is a real Apache Kafka (KRaft, one node); the emulator is `sfsink-emulator`,
serving HTTPS on 127.0.0.1 with a CA it creates on first start; the schema registry is
Apicurio's Confluent-compatible API (registry.py).

Used two ways: `make up|down|status` calls the command line at the bottom, and the test
suite imports `KafkaBroker` to start a private broker once per session. Every process is
started by us, recorded in a pid file, and stopped by that pid alone, never by name.
"""

from __future__ import annotations

import argparse
import base64
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from registry import SchemaRegistryServer

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
LOCAL = ROOT / ".local"
KAFKA_POM = HERE / "kafka" / "pom.xml"
LOG4J_CONFIG = HERE / "kafka" / "log4j2.properties"
KAFKA_VERSION = "4.3.1"
DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
# SerialGC suits two cores; the heap stays small once the cleaner's dedupe buffer is shrunk.
JVM_OPTS = (
    "-Xms128m",
    "-Xmx512m",
    "-XX:+UseSerialGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)


class StackError(RuntimeError):
    """A part of the local stack could not be installed, started or stopped."""


def cache_dir() -> Path:
    """Where downloads live across clones, so a second run needs no network."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(os.environ.get("SFSINK_CACHE", Path(base) / "sfsink"))


def kafka_lib() -> Path:
    """The broker's jars, fetched with Maven on first use and reused after."""
    lib = cache_dir() / f"kafka-{KAFKA_VERSION}" / "lib"
    done = lib / ".complete"
    if done.exists():
        return lib
    if shutil.which("mvn") is None or shutil.which("java") is None:
        raise StackError("java and mvn are needed: run deploy/local/install-system-deps.sh")
    partial = lib.with_name("lib.partial")
    shutil.rmtree(partial, ignore_errors=True)
    # The fully qualified plugin: Maven 3.8.7's default (2.8) pulls Maven 2 artifacts.
    cmd = [
        "mvn",
        "-B",
        "-q",
        "-f",
        str(KAFKA_POM),
        f"{DEPENDENCY_PLUGIN}:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={partial}",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise StackError(f"fetching the Kafka jars failed:\n{result.stdout}{result.stderr}")
    shutil.rmtree(lib, ignore_errors=True)
    partial.rename(lib)
    done.touch()
    return lib


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int) -> bool:
    """Whether something already accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def new_cluster_id() -> str:
    """A 22-character base64url UUID, the form StorageTool's random-uuid prints.

    Like Kafka's own Uuid.randomUuid, it never starts with "-", which the storage
    tool's argument parser would take for an option.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def server_properties(data_dir: Path, port: int, controller_port: int) -> str:
    """A combined broker+controller on 127.0.0.1, tuned to start fast and stay small."""
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller_port}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            f"log.dirs={data_dir / 'kraft'}",
            "num.partitions=1",
            "auto.create.topics.enable=true",
            # One partition for each internal topic: the first group join takes
            # milliseconds instead of seconds.
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            # The default 128 MiB is allocated up front and would dominate a small heap.
            "log.cleaner.dedupe.buffer.size=2097152",
            "num.network.threads=2",
            "num.io.threads=2",
            "num.recovery.threads.per.data.dir=1",
            "",
        ]
    )


@dataclass
class KafkaBroker:
    """One broker process whose state (config, data, log, pid) lives in `home`."""

    home: Path
    port: int
    controller_port: int

    @property
    def bootstrap(self) -> str:
        """The address clients connect to."""
        return f"127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        """Where the running broker's pid is kept."""
        return self.home / "broker.pid"

    @property
    def log_file(self) -> Path:
        """The broker's own log (stdout and stderr)."""
        return self.home / "broker.log"

    def start(self, timeout: float = 60.0) -> None:
        """Format storage on first use, start the broker, and wait until it answers."""
        for port in (self.port, self.controller_port):
            if port_in_use(port):
                raise StackError(f"port {port} is taken; choose others (see README)")
        lib = kafka_lib()
        self.home.mkdir(parents=True, exist_ok=True)
        props = self.home / "server.properties"
        props.write_text(server_properties(self.home, self.port, self.controller_port))
        classpath = f"{lib}/*"
        log4j = f"-Dlog4j2.configurationFile={LOG4J_CONFIG}"
        if not (self.home / "kraft" / "meta.properties").exists():
            fmt = [
                "java",
                *JVM_OPTS,
                log4j,
                "-cp",
                classpath,
                "kafka.tools.StorageTool",
                "format",
                "-t",
                new_cluster_id(),
                "-c",
                str(props),
            ]
            result = subprocess.run(fmt, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise StackError(
                    f"formatting Kafka storage failed:\n{result.stdout}{result.stderr}"
                )
        command = ["java", *JVM_OPTS, log4j, "-cp", classpath, "kafka.Kafka", str(props)]
        spec = Launch("Kafka", command, self.home, self.log_file, self.pid_file)
        launch(spec, self._answers(), timeout)

    def _answers(self) -> Callable[[], bool]:
        from confluent_kafka.admin import AdminClient  # noqa: PLC0415 - only needed once a venv exists

        # log_level 0: refused connections are expected until the listener is up.
        admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0})

        def answers() -> bool:
            try:
                return bool(admin.list_topics(timeout=1).brokers)
            except Exception:  # noqa: BLE001 - not up yet; launch's deadline bounds the wait
                return False

        return answers

    def pid(self) -> int | None:
        """The pid of our broker if it still runs, else None."""
        return running_pid(self.pid_file, marker=str(self.home))

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM our broker (controlled shutdown), SIGKILL it if it lingers."""
        stop_pid(self.pid_file, marker=str(self.home), timeout=timeout)


@dataclass(frozen=True)
class Launch:
    """How to start one background process of the stack and know it is up."""

    name: str
    command: list[str]
    cwd: Path
    log_file: Path
    pid_file: Path


def launch(spec: Launch, answers: Callable[[], bool], timeout: float) -> None:
    """Start the process in its own session, record its pid, poll until it answers.

    A process that exits, or does not answer in time, is a StackError naming its log; in
    the second case it is stopped first, by its recorded pid.
    """
    with spec.log_file.open("ab") as log:
        proc = subprocess.Popen(
            spec.command,
            cwd=spec.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    spec.pid_file.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout
    while not answers():
        if proc.poll() is not None:
            raise StackError(f"{spec.name} exited with {proc.returncode}; see {spec.log_file}")
        if time.monotonic() > deadline:
            proc.terminate()
            proc.wait(30)
            spec.pid_file.unlink(missing_ok=True)
            raise StackError(
                f"{spec.name} did not answer within {timeout:.0f}s; see {spec.log_file}"
            )
        time.sleep(0.1)


def running_pid(pid_file: Path, marker: str) -> int | None:
    """The pid recorded in pid_file, if that process runs and is ours.

    A pid can be reused after a reboot; `marker` (our state directory) must appear in the
    process's command line before we call it ours.
    """
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if marker.encode() in cmdline else None


def stop_pid(pid_file: Path, marker: str, timeout: float) -> None:
    """Stop the process recorded in pid_file, if it is ours, and remove the file."""
    pid = running_pid(pid_file, marker)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while running_pid(pid_file, marker) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if running_pid(pid_file, marker) is not None:
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)


@dataclass
class Emulator:
    """The Salesforce emulator process; its database, TLS files, log and pid live in `home`."""

    home: Path
    port: int
    client_id: str = "sfsink-emulator"
    client_secret: str = "sfsink-emulator-secret"  # noqa: S105 - the emulator's local default

    @property
    def url(self) -> str:
        """The login and instance URL."""
        return f"https://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> Path:
        """The local CA the emulator creates on first start; clients trust it."""
        return self.home / "tls" / "ca.pem"

    @property
    def pid_file(self) -> Path:
        """Where the running emulator's pid is kept."""
        return self.home / "emulator.pid"

    @property
    def log_file(self) -> Path:
        """The emulator's stdout and stderr."""
        return self.home / "emulator.log"

    def start(self, timeout: float = 30.0) -> None:
        """Start the emulator in the background and wait until it answers over HTTPS."""
        if port_in_use(self.port):
            raise StackError(f"port {self.port} is taken; set SFSINK_EMULATOR_PORT")
        self.home.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "emulator.cli", "--host", "127.0.0.1", "--port", str(self.port),
            "--db", str(self.home / "org.db"),
            "--client-id", self.client_id, "--client-secret", self.client_secret,
        ]  # fmt: skip
        launch(
            Launch("the emulator", command, ROOT, self.log_file, self.pid_file),
            self.answers,
            timeout,
        )

    def answers(self) -> bool:
        """Whether GET /services/data succeeds over HTTPS, trusting our CA."""
        if not self.ca_file.exists():
            return False
        context = ssl.create_default_context(cafile=str(self.ca_file))
        try:
            with urllib.request.urlopen(  # noqa: S310 - our own https URL
                f"{self.url}/services/data", context=context, timeout=1
            ) as response:
                return bool(response.status == 200)  # noqa: PLR2004 - HTTP OK
        except (urllib.error.URLError, OSError):
            return False

    def pid(self) -> int | None:
        """The pid of our emulator if it still runs, else None."""
        return running_pid(self.pid_file, marker=str(self.home))

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM our emulator, SIGKILL it if it lingers."""
        stop_pid(self.pid_file, marker=str(self.home), timeout=timeout)

    def env(self) -> str:
        """The stack.env lines for a Salesforce client."""
        return (
            f"SF_LOGIN_URL={self.url}\nSF_CLIENT_ID={self.client_id}\n"
            f"SF_CLIENT_SECRET={self.client_secret}\nSF_CA_BUNDLE={self.ca_file}\n"
        )


def stack_emulator() -> Emulator:
    """The emulator of `make up`, on SFSINK_EMULATOR_PORT (default 18443)."""
    return Emulator(
        home=LOCAL / "emulator", port=int(os.environ.get("SFSINK_EMULATOR_PORT", "18443"))
    )


def stack_broker() -> KafkaBroker:
    """The broker of `make up`, with ports from the environment."""
    return KafkaBroker(
        home=LOCAL / "kafka",
        port=int(os.environ.get("SFSINK_KAFKA_PORT", "19092")),
        controller_port=int(os.environ.get("SFSINK_KAFKA_CONTROLLER_PORT", "19093")),
    )


def stack_registry() -> SchemaRegistryServer:
    """The schema registry of `make up`, on SFSINK_REGISTRY_PORT (default 18081)."""
    from registry import SchemaRegistryServer  # noqa: PLC0415 - registry.py imports this module

    return SchemaRegistryServer(
        home=LOCAL / "registry", port=int(os.environ.get("SFSINK_REGISTRY_PORT", "18081"))
    )


class Part(Protocol):
    """A background process of the stack."""

    log_file: Path

    def start(self) -> None:
        """Start it and wait until it answers."""

    def stop(self) -> None:
        """Stop it by its recorded pid."""

    def pid(self) -> int | None:
        """Its pid if it runs and is ours."""


def stack_parts() -> list[tuple[str, Part, str]]:
    """Each part of `make up` with its name and address, in start order."""
    broker, emulator, registry = stack_broker(), stack_emulator(), stack_registry()
    return [
        ("kafka", broker, broker.bootstrap),
        ("emulator", emulator, emulator.url),
        ("registry", registry, registry.url),
    ]


def up() -> None:
    """Start every part of the local stack that is not running, then write stack.env."""
    for name, part, where in stack_parts():
        if part.pid() is None:
            began = time.monotonic()
            part.start()
            print(f"{name:<8} started on {where} in {time.monotonic() - began:.1f}s")
        else:
            print(f"{name:<8} already running on {where}")
    env = LOCAL / "stack.env"
    env.write_text(
        f"KAFKA_BOOTSTRAP_SERVERS={stack_broker().bootstrap}\n{stack_emulator().env()}"
        f"SCHEMA_REGISTRY_URL={stack_registry().url}\n"
    )
    print(f"wrote {env}")


def down() -> None:
    """Stop exactly the processes `up` started, last started first."""
    for name, part, _ in reversed(stack_parts()):
        pid = part.pid()
        part.stop()
        print(f"{name:<8} stopped" if pid else f"{name:<8} was not running")
    (LOCAL / "stack.env").unlink(missing_ok=True)


def status() -> int:
    """Say what runs; exit 0 only if every part does."""
    code = 0
    for name, part, where in stack_parts():
        pid = part.pid()
        if pid is None:
            print(f"{name:<8} not running")
            code = 1
        else:
            print(f"{name:<8} running  pid {pid}  {where}  log {part.log_file}")
    return code


def ping() -> int:
    """Show the stack answering: Kafka round-trips a record, the emulator serves the API."""
    return ping_kafka() or ping_emulator()


def ping_emulator() -> int:
    """Sign in with the client-credentials flow and read the org's daily API budget."""
    import requests  # noqa: PLC0415 - needs the venv

    emulator = stack_emulator()
    session = requests.Session()
    session.verify = str(emulator.ca_file)
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify
    began = time.monotonic()
    token = session.post(
        f"{emulator.url}/services/oauth2/token",
        data={
            "grant_type": "client_credentials",
            "client_id": emulator.client_id,
            "client_secret": emulator.client_secret,
        },
        timeout=10,
    )
    if token.status_code != 200:  # noqa: PLR2004 - HTTP OK
        print(f"emulator refused the client-credentials sign-in: HTTP {token.status_code}")
        return 1
    body = token.json()
    limits = session.get(
        f"{body['instance_url']}/services/data/v62.0/limits",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=10,
    ).json()
    daily = limits["DailyApiRequests"]
    elapsed = (time.monotonic() - began) * 1000
    print(
        f"emulator answers: signed in and read /limits in {elapsed:.0f} ms "
        f"({daily['Remaining']} of {daily['Max']} daily API requests left)"
    )
    return 0


def ping_kafka() -> int:
    """Show Kafka answering: one record produced to and consumed from a topic."""
    from confluent_kafka import Consumer, Producer  # noqa: PLC0415 - needs the venv

    broker = stack_broker()
    topic = "sfsink-ping"
    marker = uuid.uuid4().hex.encode()
    began = time.monotonic()
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce(topic, value=marker)
    if producer.flush(30) != 0:
        print(f"kafka    did not acknowledge a record on {broker.bootstrap}")
        return 1
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "sfsink-ping",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None and msg.value() == marker:
                elapsed = (time.monotonic() - began) * 1000
                print(f"kafka    answers: a record went to {topic} and back in {elapsed:.0f} ms")
                return 0
    finally:
        consumer.close()
    print(f"kafka    did not return the record within 30s on {broker.bootstrap}")
    return 1


def main(argv: list[str] | None = None) -> int:
    """`devstack.py up|down|status|ping`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["up", "down", "status", "ping"])
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            up()
        elif args.command == "down":
            down()
        elif args.command == "ping":
            return ping()
        else:
            return status()
    except StackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
