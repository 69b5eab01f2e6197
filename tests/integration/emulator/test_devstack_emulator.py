"""The emulator part of `make up`: started in the background, stopped by its recorded pid."""

from __future__ import annotations

from devstack import Emulator, free_port


def test_stack_emulator_starts_answers_and_stops_by_pid(tmp_path):
    """The stack's emulator answers over HTTPS with its CA, binds 127.0.0.1, and stops by pid."""
    emulator = Emulator(home=tmp_path / "emulator", port=free_port())
    emulator.start()
    try:
        assert emulator.answers()
        assert emulator.pid() is not None
        env = dict(line.split("=", 1) for line in emulator.env().splitlines())
        assert env["SF_LOGIN_URL"] == f"https://127.0.0.1:{emulator.port}"
        assert env["SF_CA_BUNDLE"] == str(emulator.ca_file)
        assert {"SF_CLIENT_ID", "SF_CLIENT_SECRET"} <= set(env)
    finally:
        emulator.stop()
    assert emulator.pid() is None
    assert not emulator.pid_file.exists()
