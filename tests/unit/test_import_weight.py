"""What `sfsink run` loads: every megabyte it imports is held for the process's life."""

from __future__ import annotations

import subprocess
import sys


def test_the_service_loads_pyjwt_only_for_the_jwt_flow() -> None:
    """PyJWT and cryptography (9 MB) wait for the one flow that signs assertions."""
    probe = (
        "import sys, connector.run_cli, connector.service; "
        "print(sorted({'jwt', 'cryptography'} & set(sys.modules)))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
