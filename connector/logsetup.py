"""How the service's log lines look: readable text by default, JSON lines on request.

JSON lines carry `timestamp`, `level`, `logger` and `message`, plus `exc_info` on errors,
so a log shipper needs no parsing rules. Nothing here adds fields from records: what a
line says is what the code logged, and the code logs counts and ids, never payloads.
"""

from __future__ import annotations

import logging

from pythonjsonlogger.json import JsonFormatter

from connector.config import LogFormat, LoggingSettings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def configure_logging(settings: LoggingSettings) -> None:
    """Send every log line to stderr in the configured format and level."""
    handler = logging.StreamHandler()
    if settings.format is LogFormat.JSON:
        handler.setFormatter(
            JsonFormatter(
                "{levelname}{name}{message}",
                style="{",
                rename_fields={"levelname": "level", "name": "logger"},
                timestamp=True,
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=settings.level, handlers=[handler], force=True)
