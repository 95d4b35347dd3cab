"""Keeps the LEDs showing the box's state: the loop the devices role runs.

`tick()` reads the status report every `status_seconds`, assesses it (`policy.assess`),
sends only the LEDs whose pattern changed, and lets the driver blink (`refresh`; the
gpio driver blinks in software, so ticks come every 50 ms or so). A driver error never
stops the role: it becomes one operator sentence (`problem`, logged once) and the LEDs are
tried again, all of them, after `retry_seconds`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING

from appliance.leds.policy import (
    DARK,
    LAMP_TEST,
    AggregateState,
    Assessment,
    Led,
    Report,
    Thresholds,
    assess,
    patterns,
)
from drivers.leds.errors import LedError
from drivers.leds.pattern import LedDriver, Pattern

if TYPE_CHECKING:
    from appliance.config.schema import KilnConfig

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class LedService:
    def __init__(
        self,
        driver: LedDriver,
        status: Callable[[], Report],
        limits: Thresholds,
        *,
        clock: Clock,
        status_seconds: float = 1.0,
        retry_seconds: float = 10.0,
        startup_grace_seconds: float = 0.0,
    ) -> None:
        self._driver = driver
        self._status = status
        self._limits = limits
        self._clock = clock
        self._status_seconds = status_seconds
        self._retry_seconds = retry_seconds
        self._starting_until = clock() + startup_grace_seconds
        self.assessment = Assessment(AggregateState.READY, ())
        self.problem = ""  # the operator's sentence while the LEDs cannot be set
        self._shown: dict[Led, Pattern] = {}
        self._next_status = 0.0
        self._retry_at = 0.0
        self._lamp_until = 0.0

    @property
    def state(self) -> AggregateState:
        return self.assessment.state

    @property
    def leds(self) -> tuple[str, ...]:
        return self._driver.leds

    def tick(self) -> None:
        now = self._clock()
        if now >= self._next_status:
            self._next_status = now + self._status_seconds
            self._assess()
        wanted = LAMP_TEST if now < self._lamp_until else patterns(self.state)
        self._show(wanted, now)

    def lamp_test(self, seconds: float) -> None:
        """All LEDs on for `seconds`, then back to the state (safe from another thread)."""
        self._lamp_until = self._clock() + seconds

    def run(self, stop: threading.Event, tick_seconds: float) -> None:
        """Tick until `stop` is set, then turn the LEDs off (the driver stays open)."""
        try:
            while not stop.is_set():
                self.tick()
                stop.wait(tick_seconds)
        finally:
            self.close()

    def close(self) -> None:
        """Dark LEDs say the devices role is not running (docs/leds.md)."""
        self._retry_at = 0.0
        self._show(DARK, self._clock())

    def _assess(self) -> None:
        try:
            report = self._status()
        except (sqlite3.Error, OSError) as error:
            # A busy database must not flash the error LED: keep showing the last state.
            log.warning("LEDs: the status could not be read (%s); showing the last state", error)
            return
        limits = self._limits
        if self._clock() < self._starting_until:
            limits = replace(limits, starting=True)
        assessment = assess(report, limits)
        if assessment.state is not self.state:
            log.info(
                "LEDs: %s -> %s (%s)",
                self.state.value,
                assessment.state.value,
                "; ".join(assessment.reasons) or "all well",
            )
        self.assessment = assessment

    def _show(self, wanted: Mapping[Led, Pattern], now: float) -> None:
        if now < self._retry_at:
            return
        try:
            for led, pattern in wanted.items():
                if self._shown.get(led) is not pattern:
                    self._driver.set(led.value, pattern)
                    self._shown[led] = pattern
            self._driver.refresh(now)
        except LedError as error:
            problem = operator_sentence(error, self._retry_seconds)
            if problem != self.problem:
                log.error("%s", problem)
            self.problem = problem
            self._shown.clear()  # after a failure nothing is known about the LEDs
            self._retry_at = now + self._retry_seconds
            return
        if self.problem:
            log.info("LEDs: working again")
            self.problem = ""


def operator_sentence(error: LedError, retry_seconds: float) -> str:
    return (
        f"The front-panel LEDs cannot be set ({error}); the box works on without them and "
        f"tries again every {retry_seconds:g} s — check the LED board's cable or the LED "
        "device's permissions (docs/leds.md)."
    )


def lamp_test(driver: LedDriver, seconds: float, sleep: Callable[[float], None]) -> None:
    """Every LED on for `seconds`, then off: for `appliance device test leds` when no
    devices role holds the LEDs (while one runs, ask its `LedService.lamp_test`)."""
    for led in driver.leds:
        driver.set(led, Pattern.ON)
    sleep(seconds)
    for led in driver.leds:
        driver.set(led, Pattern.OFF)


class DatabaseStatus:
    """`appliance.status.collect` as a status source, on its own connection (opened by the
    first call, so in the thread that ticks; `close` it when that thread has stopped)."""

    def __init__(self, open_connection: Callable[[], sqlite3.Connection], config: KilnConfig):
        self._open = open_connection
        self._config = config
        self._conn: sqlite3.Connection | None = None

    def __call__(self) -> Report:
        from appliance.status import collect

        if self._conn is None:
            self._conn = self._open()
        return collect(self._conn, self._config)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
