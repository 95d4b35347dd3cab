"""What every job change publishes: one record, to the history table and to listeners
(the log, the status API, the LEDs), after the change is committed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobNews:
    at: float
    job_id: int
    disc_id: int | None
    event: str  # a JobEvent or DiscEvent value, "created", "step", "station-fault"...
    detail: dict[str, Any] = field(default_factory=dict)


Publish = Callable[[JobNews], None]


def log_news(news: JobNews) -> None:
    """The default listener: one log line per event."""
    disc = f" disc {news.disc_id}" if news.disc_id is not None else ""
    # Progress comes many times a second while a disc burns: on show at DEBUG only.
    level = logging.DEBUG if news.event == "progress" else logging.INFO
    log.log(level, "job %d%s: %s %s", news.job_id, disc, news.event, news.detail or "")


def publish_all(listener: Publish, items: list[JobNews]) -> None:
    for news in items:
        try:
            listener(news)
        except Exception:  # a broken status page must not stop a burn
            log.exception("a job event listener failed")
