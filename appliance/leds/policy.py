"""The box's aggregate state from its status report, and what each LED shows for it.

Pure functions over the report of `appliance.status.collect`. Each rule finds one kind of
condition and says which state it calls for, with a reason in plain words; the state
shown is the most serious found (`PRECEDENCE`), the reasons are all of them. The table is
docs/leds.md; tests/unit/test_led_policy.py checks every rule and row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from appliance.activities import IDLE_PHASES, USB_EXPORT
from drivers.leds.pattern import Pattern

Report = Mapping[str, Any]


class AggregateState(Enum):
    READY = "ready"  # every role up, nothing to do
    STARTING = "starting"  # just started: a role has not sent its first heartbeat yet
    ACTIVITY = "activity"  # receiving, making a disc, sending a message
    ATTENTION = "attention"  # someone must act; the box goes on meanwhile
    ERROR = "error"  # part of the box is not working


# Most serious first: the first one found is shown.
PRECEDENCE = (
    AggregateState.ERROR,
    AggregateState.ATTENTION,
    AggregateState.STARTING,
    AggregateState.ACTIVITY,
    AggregateState.READY,
)


class Led(Enum):
    POWER = "power"  # green
    ACTIVITY = "activity"  # blue
    ATTENTION = "attention"  # amber
    ERROR = "error"  # red


P = Pattern
COLUMNS = (Led.POWER, Led.ACTIVITY, Led.ATTENTION, Led.ERROR)
# One row per state, in the order of COLUMNS (the table in docs/leds.md).
PATTERNS: dict[AggregateState, dict[Led, Pattern]] = {
    state: dict(zip(COLUMNS, row, strict=True))
    for state, row in {
        AggregateState.READY: (P.ON, P.OFF, P.OFF, P.OFF),
        AggregateState.STARTING: (P.SLOW, P.OFF, P.OFF, P.OFF),
        AggregateState.ACTIVITY: (P.ON, P.FAST, P.OFF, P.OFF),
        AggregateState.ATTENTION: (P.ON, P.OFF, P.SLOW, P.OFF),
        AggregateState.ERROR: (P.ON, P.OFF, P.OFF, P.FAST),
    }.items()
}
LAMP_TEST: dict[Led, Pattern] = dict.fromkeys(Led, P.ON)
DARK: dict[Led, Pattern] = dict.fromkeys(Led, P.OFF)  # the devices role has stopped


@dataclass(frozen=True)
class Thresholds:
    roles: tuple[str, ...] = ("dicom", "devices", "web")  # must all be up
    disk_attention_percent: float = 10.0  # free space above the reserve, of the disk
    # Within [leds] startup_grace_seconds of the LEDs' start: a role without a heartbeat
    # is starting, not down (the LED service sets it; the policy stays a pure function).
    starting: bool = False


@dataclass(frozen=True)
class Finding:
    state: AggregateState
    reason: str


@dataclass(frozen=True)
class Assessment:
    state: AggregateState
    reasons: tuple[str, ...]  # every finding, most serious first; empty when READY


Rule = Callable[[Report, Thresholds], Iterator[Finding]]
A = AggregateState


def roles_down(report: Report, limits: Thresholds) -> Iterator[Finding]:
    roles = report.get("roles", {})
    for role in limits.roles:
        if not roles.get(role, {}).get("up"):
            if limits.starting:
                yield Finding(A.STARTING, f"the {role} role is starting")
            else:
                yield Finding(A.ERROR, f"the {role} role is not running")


def _devices(report: Report) -> Mapping[str, Any]:
    devices: Mapping[str, Any] = report.get("roles", {}).get("devices", {})
    return devices


def stations(report: Report, limits: Thresholds) -> Iterator[Finding]:
    """A station's condition says who acts (the job runner sets it from the fault's kind)."""
    devices = _devices(report)
    for name, sentence in devices.get("problems", {}).items():
        yield Finding(A.ERROR, f"station {name} could not be opened: {sentence}")
    for station in devices.get("devices", []):
        name, condition = station.get("station", "?"), station.get("condition")
        if condition == "out-of-service":
            yield Finding(A.ERROR, f"station {name} is out of service")
        elif condition == "waiting-operator":
            yield Finding(A.ATTENTION, f"station {name} is waiting for the operator")
        if station.get("disc") is not None:
            yield Finding(A.ACTIVITY, f"station {name} is making a disc")


def disk(report: Report, limits: Thresholds) -> Iterator[Finding]:
    space = report.get("disk")
    if not space:
        return
    free, reserve, total = space["free"], space["reserve"], space["total"]
    if free <= reserve:
        yield Finding(A.ERROR, "the disk is full: new images are refused")
    elif free - reserve < total * limits.disk_attention_percent / 100:
        yield Finding(A.ATTENTION, "the disk is nearly full")


def jobs(report: Report, limits: Thresholds) -> Iterator[Finding]:
    counts = report.get("jobs", {})
    if counts.get("waiting-operator"):
        yield Finding(
            A.ATTENTION, f"{counts['waiting-operator']} disc job(s) wait for the operator"
        )
    if counts.get("parked"):
        yield Finding(A.ATTENTION, f"{counts['parked']} disc job(s) are parked")
    busy = counts.get("preparing", 0) + counts.get("publishing", 0)
    if busy:
        yield Finding(A.ACTIVITY, f"{busy} disc job(s) are being made")


def outbox(report: Report, limits: Thresholds) -> Iterator[Finding]:
    counts = report.get("outbox", {})
    if counts.get("failed"):
        yield Finding(A.ATTENTION, f"{counts['failed']} outgoing message(s) failed")
    if counts.get("sending"):
        yield Finding(A.ACTIVITY, "messages are being sent")


def receiving(report: Report, limits: Thresholds) -> Iterator[Finding]:
    for service in report.get("services", []):
        if service.get("service") == "dicom" and service.get("open_associations"):
            yield Finding(A.ACTIVITY, f"{service['open_associations']} association(s) open")


def activities(report: Report, limits: Thresholds) -> Iterator[Finding]:
    """Work done outside the roles (appliance/activities.py): a USB export in the CLI."""
    for activity in report.get("activities", []):
        if activity.get("kind") == USB_EXPORT and activity.get("phase") not in IDLE_PHASES:
            yield Finding(A.ACTIVITY, f"a USB export is {activity.get('phase') or 'running'}")


RULES: tuple[Rule, ...] = (roles_down, stations, disk, jobs, outbox, receiving, activities)


def findings(report: Report, limits: Thresholds) -> list[Finding]:
    return [found for rule in RULES for found in rule(report, limits)]


def aggregate(found: list[Finding]) -> AggregateState:
    states = {f.state for f in found}
    return next((s for s in PRECEDENCE if s in states), A.READY)


def assess(report: Report, limits: Thresholds) -> Assessment:
    found = sorted(findings(report, limits), key=lambda f: PRECEDENCE.index(f.state))
    return Assessment(aggregate(found), tuple(f.reason for f in found))


def patterns(state: AggregateState) -> dict[Led, Pattern]:
    return PATTERNS[state]
