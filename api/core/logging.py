"""Structured logs (structlog) with personal data redacted before anything is written."""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

import structlog

# Keys whose values identify or describe a person: never written in clear.
PERSONAL_KEYS = frozenset(
    {
        "text",
        "message",
        "debtor_name",
        "phone",
        "email",
        "date_of_birth",
        "postcode",
        "from",
        "to",
        "body",
        "address",
        "channel_address",
    }
)


def redact_personal_data(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in PERSONAL_KEYS & event_dict.keys():
        if key == "event":
            continue
        value = event_dict[key]
        event_dict[key] = f"<redacted {len(value)} chars>" if isinstance(value, str) else "<redacted>"
    return event_dict


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            redact_personal_data,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(),
    )


log = structlog.get_logger()
