"""What every device's state machine does with its table: hold the current state, move it
only as the table says, refuse any other event, and publish every transition (the log,
and listeners such as the status page and the LEDs).

Each device module keeps its own Enums, its table and its refusal exception; this is the
one place that runs them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

S = TypeVar("S", bound=Enum)
E = TypeVar("E", bound=Enum)


@dataclass(frozen=True)
class Transition(Generic[S, E]):
    before: S
    event: E
    after: S


class TableMachine(Generic[S, E]):
    """The current state, moved only through `table`; every transition is published."""

    def __init__(
        self,
        table: Mapping[tuple[S, E], S],
        state: S,
        *,
        name: str,
        refuse: Callable[[S, E], Exception],
        log: logging.Logger,
    ) -> None:
        self.name = name
        self._table = table
        self._state = state
        self._refuse = refuse
        self._log = log
        self._listeners: list[Callable[[Transition[S, E]], None]] = []

    @property
    def state(self) -> S:
        return self._state

    def subscribe(self, listener: Callable[[Transition[S, E]], None]) -> None:
        self._listeners.append(listener)

    def fire(self, event: E) -> S:
        after = self._table.get((self._state, event))
        if after is None:
            raise self._refuse(self._state, event)
        transition = Transition(self._state, event, after)
        self._state = after
        self._log.info(
            "%s: %s --%s--> %s", self.name, transition.before.value, event.value, after.value
        )
        for listener in self._listeners:
            try:
                listener(transition)
            except Exception:  # a broken status publisher must not stop the device
                self._log.exception("%s: a transition listener failed", self.name)
        return after

    def observe(self, event: E) -> S:
        """Fire `event` unless it leaves the state as it is: a poll that found nothing new
        is not published (nor logged). An event the table refuses raises all the same."""
        after = self._table.get((self._state, event))
        if after is None:
            raise self._refuse(self._state, event)
        if after is self._state:
            return after
        return self.fire(event)
