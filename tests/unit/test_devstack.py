"""The local stack's process discipline: stop only what we started, by recorded pid."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from devstack import new_cluster_id, running_pid, server_properties, stop_pid


def test_cluster_ids_never_look_like_options() -> None:
    """Cluster ids are 22 base64url characters and never start with '-'."""
    ids = [new_cluster_id() for _ in range(2000)]
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)
    assert len(set(ids)) == 2000


def test_a_pid_is_ours_only_if_its_command_line_names_our_state(tmp_path: Path) -> None:
    """A recorded pid whose process does not mention our directory is left alone."""
    marker = str(tmp_path / "home")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", marker])
    try:
        pid_file = tmp_path / "x.pid"
        pid_file.write_text(f"{proc.pid}\n")
        # Between fork and exec the child still shows our command line: wait for its own.
        for _ in range(100):
            if running_pid(pid_file, marker) is not None:
                break
            time.sleep(0.05)
        assert running_pid(pid_file, marker="/somewhere/else") is None
        stop_pid(pid_file, marker="/somewhere/else", timeout=5)
        assert proc.poll() is None, "a process that is not ours was signalled"
        assert running_pid(pid_file.with_name("absent.pid"), marker) is None

        pid_file.write_text(f"{proc.pid}\n")
        assert running_pid(pid_file, marker) == proc.pid
        stop_pid(pid_file, marker, timeout=5)
        assert proc.wait(timeout=5) is not None
        assert not pid_file.exists()
    finally:
        proc.kill()
        proc.wait()


def test_broker_binds_loopback_only(tmp_path: Path) -> None:
    """Every listener of the generated broker config is on 127.0.0.1."""
    props = server_properties(tmp_path, 1234, 1235)
    listeners = next(line for line in props.splitlines() if line.startswith("listeners="))
    assert listeners == "listeners=PLAINTEXT://127.0.0.1:1234,CONTROLLER://127.0.0.1:1235"
