"""Placeholder."""

from __future__ import annotations

from starlette.responses import Response

from emulator.http import Call, not_found


def collections(call: Call) -> Response:
    """Not yet."""
    del call
    return not_found()
