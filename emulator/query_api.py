"""Placeholder routes while the module is written."""

from __future__ import annotations

from starlette.routing import Route


def routes(prefix: str) -> list[Route]:
    """No routes yet."""
    del prefix
    return []
