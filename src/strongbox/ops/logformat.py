"""Log lines as JSON objects, one a line (STRONGBOX_LOG_FORMAT=json), for every process of a server: Django's
(settings.LOGGING), granian's own and `serve`'s. It imports no Django, so the processes that only supervise can
use it too."""

import logging
from datetime import UTC, datetime

from pythonjsonlogger.json import JsonFormatter

ACCESS_LOGGER = "strongbox.access"


class JsonLines(JsonFormatter):
    """time, level, logger, message, and what the record adds: request_id, user_id and route inside a request
    (ops/requestid.py); an access line's method, path, status, duration_ms, client and pid, its message then
    reading "GET /path 200"."""

    def __init__(self, *args, **kwargs):
        super().__init__("{asctime}{levelname}{name}{message}", style="{", json_ensure_ascii=True,
                         rename_fields={"asctime": "time", "levelname": "level", "name": "logger"})

    def formatTime(self, record, datefmt=None):  # noqa: N802 - logging's name
        return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")

    def process_log_record(self, log_data):
        if log_data.get("logger") == ACCESS_LOGGER:
            log_data["message"] = f"{log_data['method']} {log_data['path']} {log_data['status']}"
        return log_data


def json_line(logger: str, message: str, level: str = "INFO") -> str:
    """Return one line as JsonLines writes it, for a process that has no logging set up (`serve`)."""
    return JsonLines().format(logging.LogRecord(logger, logging.getLevelName(level), __file__, 0, message, None,
                                                None))


def granian_log_config() -> dict:
    """The part of granian's logging configuration (`--log-config`) that makes its own lines JSON too."""
    formatter = {"()": f"{__name__}.JsonLines"}
    return {"formatters": {"generic": formatter, "access": formatter}}
