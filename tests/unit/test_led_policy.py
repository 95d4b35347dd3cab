"""The LED policy: each rule on its own, the precedence, and the pattern table."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from appliance.leds.policy import (
    LAMP_TEST,
    PATTERNS,
    PRECEDENCE,
    AggregateState,
    Finding,
    Led,
    Thresholds,
    activities,
    aggregate,
    assess,
    disk,
    jobs,
    outbox,
    patterns,
    receiving,
    roles_down,
    stations,
)
from drivers.leds.pattern import Pattern

A = AggregateState
LIMITS = Thresholds(roles=("dicom", "devices", "web"), disk_attention_percent=10.0)
GB = 1024**3


def healthy() -> dict[str, Any]:
    """What `appliance.status.collect` reports for an idle, healthy box."""
    return {
        "roles": {
            "dicom": {"up": True},
            "web": {"up": True},
            "devices": {
                "up": True,
                "problems": {},
                "devices": [{"station": "robot-d0", "condition": "ready", "disc": None}],
            },
        },
        "services": [{"service": "dicom", "open_associations": 0}, {"service": "web"}],
        "outbox": {"pending": 0, "sending": 0, "sent": 12, "failed": 0},
        "jobs": {"done": 3, "cancelled": 1, "failed": 1},
        "disk": {"total": 100 * GB, "free": 50 * GB, "reserve": 1 * GB},
    }


def with_(change: Any) -> dict[str, Any]:
    report = copy.deepcopy(healthy())
    change(report)
    return report


def station(report: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = report["roles"]["devices"]["devices"][0]
    return result


def states(found: list[Finding]) -> list[AggregateState]:
    return [f.state for f in found]


def test_a_healthy_idle_box_is_ready_with_no_reasons() -> None:
    result = assess(healthy(), LIMITS)
    assert result.state is A.READY
    assert result.reasons == ()


# --- roles -----------------------------------------------------------------------------


def test_a_role_whose_heartbeat_is_stale_is_an_error() -> None:
    report = with_(lambda r: r["roles"]["web"].update(up=False))
    assert list(roles_down(report, LIMITS)) == [Finding(A.ERROR, "the web role is not running")]


def test_a_role_with_no_heartbeat_at_all_is_an_error() -> None:
    report = with_(lambda r: r["roles"].pop("dicom"))
    assert states(list(roles_down(report, LIMITS))) == [A.ERROR]


STARTING = Thresholds(roles=LIMITS.roles, starting=True)  # within startup_grace_seconds


def test_a_role_with_no_heartbeat_yet_is_starting_within_the_grace() -> None:
    report = with_(lambda r: r["roles"].pop("dicom"))
    assert list(roles_down(report, STARTING)) == [Finding(A.STARTING, "the dicom role is starting")]
    assert assess(report, STARTING).state is A.STARTING


def test_a_stale_heartbeat_within_the_grace_is_starting_too() -> None:
    # A box that lost power leaves its last heartbeats behind, stale.
    report = with_(lambda r: r["roles"]["web"].update(up=False))
    assert states(list(roles_down(report, STARTING))) == [A.STARTING]


def test_within_the_grace_every_other_error_is_still_an_error() -> None:
    def starting_with_a_full_disk(r: dict[str, Any]) -> None:
        r["roles"].pop("web")
        r["disk"]["free"] = 1 * GB

    result = assess(with_(starting_with_a_full_disk), STARTING)
    assert result.state is A.ERROR
    assert result.reasons == (
        "the disk is full: new images are refused",
        "the web role is starting",
    )


def test_within_the_grace_attention_wins_over_starting_and_starting_over_activity() -> None:
    def starting_busy(r: dict[str, Any]) -> None:
        r["roles"].pop("web")
        r["services"][0]["open_associations"] = 1

    def starting_busy_parked(r: dict[str, Any]) -> None:
        starting_busy(r)
        r["jobs"]["parked"] = 1

    assert assess(with_(starting_busy), STARTING).state is A.STARTING
    assert assess(with_(starting_busy_parked), STARTING).state is A.ATTENTION


def test_with_every_heartbeat_there_the_grace_changes_nothing() -> None:
    assert assess(healthy(), STARTING).state is A.READY


def test_only_the_expected_roles_count() -> None:
    report = with_(lambda r: r["roles"].pop("web"))
    assert list(roles_down(report, Thresholds(roles=("dicom", "devices")))) == []


# --- stations --------------------------------------------------------------------------


def test_a_station_out_of_service_is_an_error() -> None:
    report = with_(lambda r: station(r).update(condition="out-of-service"))
    assert list(stations(report, LIMITS)) == [
        Finding(A.ERROR, "station robot-d0 is out of service")
    ]


def test_a_station_waiting_for_the_operator_needs_attention() -> None:
    report = with_(lambda r: station(r).update(condition="waiting-operator"))
    assert states(list(stations(report, LIMITS))) == [A.ATTENTION]


def test_a_station_retrying_by_itself_needs_nobody() -> None:
    report = with_(lambda r: station(r).update(condition="retrying"))
    assert list(stations(report, LIMITS)) == []


def test_a_station_making_a_disc_is_activity() -> None:
    report = with_(lambda r: station(r).update(disc=7))
    assert list(stations(report, LIMITS)) == [
        Finding(A.ACTIVITY, "station robot-d0 is making a disc")
    ]


def test_a_station_that_could_not_be_opened_is_an_error() -> None:
    report = with_(lambda r: r["roles"]["devices"]["problems"].update(left="no robot on COM"))
    assert list(stations(report, LIMITS)) == [
        Finding(A.ERROR, "station left could not be opened: no robot on COM")
    ]


# --- disk ------------------------------------------------------------------------------


def test_free_space_at_the_reserve_is_a_full_disk() -> None:
    report = with_(lambda r: r["disk"].update(free=1 * GB))
    assert states(list(disk(report, LIMITS))) == [A.ERROR]


def test_free_space_within_the_attention_margin_is_nearly_full() -> None:
    report = with_(lambda r: r["disk"].update(free=10 * GB))  # 9 GB above reserve < 10 %
    assert list(disk(report, LIMITS)) == [Finding(A.ATTENTION, "the disk is nearly full")]


def test_free_space_just_above_the_margin_is_fine() -> None:
    report = with_(lambda r: r["disk"].update(free=11 * GB + 1))
    assert list(disk(report, LIMITS)) == []


# --- jobs ------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ["waiting-operator", "parked"])
def test_a_job_someone_must_act_on_needs_attention(state: str) -> None:
    report = with_(lambda r: r["jobs"].update({state: 2}))
    assert states(list(jobs(report, LIMITS))) == [A.ATTENTION]


@pytest.mark.parametrize("state", ["preparing", "publishing"])
def test_a_job_being_made_is_activity(state: str) -> None:
    report = with_(lambda r: r["jobs"].update({state: 1}))
    assert list(jobs(report, LIMITS)) == [Finding(A.ACTIVITY, "1 disc job(s) are being made")]


def test_finished_and_queued_jobs_show_nothing() -> None:
    report = with_(lambda r: r["jobs"].update(queued=4))
    assert list(jobs(report, LIMITS)) == []


# --- outbox and receiving --------------------------------------------------------------


def test_a_failed_outbox_message_needs_attention() -> None:
    report = with_(lambda r: r["outbox"].update(failed=1))
    assert list(outbox(report, LIMITS)) == [Finding(A.ATTENTION, "1 outgoing message(s) failed")]


def test_a_message_being_sent_is_activity() -> None:
    report = with_(lambda r: r["outbox"].update(sending=1))
    assert states(list(outbox(report, LIMITS))) == [A.ACTIVITY]


def test_an_open_association_is_activity() -> None:
    report = with_(lambda r: r["services"][0].update(open_associations=2))
    assert list(receiving(report, LIMITS)) == [Finding(A.ACTIVITY, "2 association(s) open")]


# --- activities outside the roles (a USB export in the CLI) ------------------------------


def usb_export(phase: str) -> Any:
    def add(report: dict[str, Any]) -> None:
        report["activities"] = [{"kind": "usb-export", "phase": phase, "done": 3, "total": 9}]

    return add


@pytest.mark.parametrize("phase", ["preparing", "detected", "ready", "writing", "verifying"])
def test_a_usb_export_at_work_is_activity(phase: str) -> None:
    report = with_(usb_export(phase))
    assert list(activities(report, LIMITS)) == [Finding(A.ACTIVITY, f"a USB export is {phase}")]
    assert assess(report, LIMITS).state is A.ACTIVITY


@pytest.mark.parametrize("phase", ["absent", "safe to remove"])
def test_a_usb_export_waiting_for_a_stick_or_finished_shows_nothing(phase: str) -> None:
    assert list(activities(with_(usb_export(phase)), LIMITS)) == []


# --- precedence ------------------------------------------------------------------------


def test_precedence_is_error_attention_starting_activity_ready() -> None:
    assert PRECEDENCE == (A.ERROR, A.ATTENTION, A.STARTING, A.ACTIVITY, A.READY)


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        ([], A.READY),
        ([A.ACTIVITY], A.ACTIVITY),
        ([A.ACTIVITY, A.ATTENTION], A.ATTENTION),
        ([A.ATTENTION, A.ERROR, A.ACTIVITY], A.ERROR),
    ],
)
def test_the_most_serious_finding_wins(
    found: list[AggregateState], expected: AggregateState
) -> None:
    assert aggregate([Finding(s, "x") for s in found]) is expected


def test_assess_keeps_every_reason_most_serious_first() -> None:
    def busy_and_broken(r: dict[str, Any]) -> None:
        r["services"][0]["open_associations"] = 1
        r["outbox"]["failed"] = 1
        r["roles"]["web"]["up"] = False

    result = assess(with_(busy_and_broken), LIMITS)
    assert result.state is A.ERROR
    assert result.reasons == (
        "the web role is not running",
        "1 outgoing message(s) failed",
        "1 association(s) open",
    )


def test_a_report_missing_sections_does_not_crash() -> None:
    result = assess({"roles": {r: {"up": True} for r in LIMITS.roles}}, LIMITS)
    assert result.state is A.READY


# --- patterns --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "row"),
    [
        (A.READY, (Pattern.ON, Pattern.OFF, Pattern.OFF, Pattern.OFF)),
        (A.STARTING, (Pattern.SLOW, Pattern.OFF, Pattern.OFF, Pattern.OFF)),
        (A.ACTIVITY, (Pattern.ON, Pattern.FAST, Pattern.OFF, Pattern.OFF)),
        (A.ATTENTION, (Pattern.ON, Pattern.OFF, Pattern.SLOW, Pattern.OFF)),
        (A.ERROR, (Pattern.ON, Pattern.OFF, Pattern.OFF, Pattern.FAST)),
    ],
)
def test_each_state_has_its_row(state: AggregateState, row: tuple[Pattern, ...]) -> None:
    leds = (Led.POWER, Led.ACTIVITY, Led.ATTENTION, Led.ERROR)
    assert patterns(state) == dict(zip(leds, row, strict=True))


def test_every_state_sets_every_led_and_the_lamp_test_lights_all() -> None:
    assert all(set(row) == set(Led) for row in PATTERNS.values())
    assert set(PATTERNS) == set(AggregateState)
    assert set(LAMP_TEST.values()) == {Pattern.ON}


def test_blink_rates_are_one_and_four_hertz() -> None:
    assert Pattern.SLOW.blink is not None and Pattern.SLOW.blink.period == 1.0
    assert Pattern.FAST.blink is not None and Pattern.FAST.blink.period == 0.25
    assert Pattern.ON.blink is None and Pattern.OFF.blink is None
