"""Response and request models of the JSON API: they are its OpenAPI description."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

UID_PATTERN = r"^[0-9]+(\.[0-9]+)*$"
Uid = Annotated[str, Field(pattern=UID_PATTERN, min_length=1, max_length=64)]


class Problem(BaseModel):
    """Every 4xx answer: one sentence saying what was wrong and what to do."""

    detail: str


class Service(BaseModel):
    service: str
    listening: bool
    bind: str
    port: int
    ae_titles: list[str] = []
    open_associations: int | None = None


class Role(BaseModel):
    role: str
    up: bool
    pid: int
    since: float
    last_seen: float


class Station(BaseModel):
    """A disc station as the devices role last reported it (its heartbeat)."""

    station: str
    condition: str  # ready, paused, waiting-operator, retrying, out-of-service
    sentence: str  # what happened, what the box did, what to do; "" when all is well
    retry_at: float | None = None
    disc: int | None = None
    step: str = ""
    fraction: float = 0.0
    device: dict[str, Any] = {}  # the station's own view: state-machine states, alarm


class Alarm(BaseModel):
    id: str
    source: str
    sentence: str
    since: float | None = None
    acknowledged: bool = False
    can_acknowledge: bool = False  # only alarms from the alarms store can be


class Disc(BaseModel):
    id: int
    slot: int
    volume: int
    volumes: int
    copy_type: str
    copy_number: int
    medium: str
    attempt: int
    state: str
    station: str
    step: str
    error: str
    progress: float | None = None  # 0..1 of the current step while a station has it


class Job(BaseModel):
    id: int
    state: str
    priority: int
    profile: str
    origin: str
    studies: list[str]
    message: str
    created_at: float
    updated_at: float
    discs: list[Disc]  # the newest attempt of each disc
    discs_done: int
    can_retry: bool
    can_cancel: bool


class JobEvent(BaseModel):
    id: int
    at: float
    disc_id: int | None
    event: str
    detail: dict[str, Any]


class JobDetail(Job):
    attempts: list[Disc]  # every attempt of every disc
    events: list[JobEvent]


class Study(BaseModel):
    study_uid: str
    patient_name: str
    patient_id: str
    study_date: str
    study_description: str
    accession_number: str
    modalities: str
    series: int
    instances: int
    bytes: int
    state: str
    last_received: float


class Transition(BaseModel):
    at: float
    job_id: int
    disc_id: int | None
    event: str
    before: str
    after: str


class Device(BaseModel):
    station: Station
    transitions: list[Transition]  # its discs' recent state changes, newest first


class Counts(BaseModel):
    studies: int
    studies_complete: int
    series: int
    instances: int
    bytes: int
    associations_total: int


class Worklist(BaseModel):
    scheduled: int
    finished: int


class Disk(BaseModel):
    total: int
    free: int
    reserve: int


class Printer(BaseModel):
    """A print output: what modalities are told (Printer N-GET) and its device's state."""

    output: str
    kind: str  # paper, film
    ae_title: str
    description: str
    status: str  # Printer Status: NORMAL, WARNING, FAILURE
    status_info: str  # Printer Status Info, e.g. NORMAL, PAPER OUT, PRINTER OFFLINE
    state: str  # the device state machine's state; "unknown" before the first report
    message: str  # what happened, what the box did, what to do; "" when all is well
    waiting: int  # print jobs queued or printing on it
    updated_at: float | None  # when the devices role last reported it
    film_sizes: list[str]
    medium_types: list[str]


class PrintJob(BaseModel):
    id: int
    job_uid: str  # the Print Job SOP Instance UID the modality was given
    output: str
    state: str  # queued, printing, done, failed, cancelled
    calling_ae: str
    called_ae: str
    films: int
    images: int
    copies: int
    priority: str
    medium: str
    film_size: str
    label: str
    attempts: int
    status_info: str  # Execution Status Info, e.g. NORMAL, PAPER OUT
    message: str
    scale: float | None  # below 1 when the film was printed smaller than true size
    created_at: float
    updated_at: float
    finished_at: float | None
    can_retry: bool
    can_cancel: bool


class PrintJobEvent(BaseModel):
    at: float
    state: str
    detail: str


class PrintJobDetail(PrintJob):
    external_id: str  # the output's own job id (e.g. the CUPS job)
    events: list[PrintJobEvent]


class PrintTestRequest(BaseModel):
    """A test film (gray wedge, grid, gradient, circle) for one output."""

    film_size: str | None = Field(
        None, max_length=16, description="one of the output's film sizes; default its first"
    )


class PrintActionDone(BaseModel):
    """A print control that was carried out."""

    message: str
    print_job_id: int


class Dashboard(BaseModel):
    """Everything the status page shows, as one snapshot (also what /api/events sends)."""

    box: str
    time: float
    services: list[Service]
    roles: list[Role]
    stations: list[Station]
    device_problems: dict[str, str]  # stations that could not be opened, and why
    alarms: list[Alarm]
    jobs: list[Job]
    jobs_by_state: dict[str, int]
    studies: list[Study]
    counts: Counts
    worklist: Worklist
    mpps: dict[str, int]
    outbox: dict[str, int]
    disk: Disk
    print_enabled: bool
    printers: list[Printer]
    print_jobs: list[PrintJob]
    print_jobs_by_state: dict[str, int]


# --- /api/status: the status report (appliance.status.collect) -----------------------------


class UpstreamWorklist(BaseModel):
    """The upstream worklist the dicom role mirrors, when one is configured."""

    ae_title: str
    last_success: float  # 0 before the first successful query
    last_error: str  # "" when the last query worked
    items: int


class PrintOutputRuntime(BaseModel):
    """A print output as the print runner saw it at its last look."""

    status: str
    status_info: str
    state: str
    message: str
    job: int | None  # the print job it is printing now


class PrintingRuntime(BaseModel):
    outputs: dict[str, PrintOutputRuntime] = {}
    problems: dict[str, str] = {}  # outputs that could not be opened, and why


class LedsRuntime(BaseModel):
    """The front-panel LEDs: the aggregate state they show and why (docs/leds.md)."""

    state: str  # ready, starting, activity, attention, error
    reasons: list[str]
    problem: str  # "" while the LEDs can be set


class RoleStatus(BaseModel):
    """A role's heartbeat and what it reports about itself; each role fills its fields."""

    pid: int
    up: bool  # a heartbeat in the last 10 s
    since: float
    last_seen: float
    # dicom and web
    port: int | None = None
    bind: str | None = None
    # dicom
    ae_titles: list[str] | None = None
    workers: int | None = None
    open_associations: int | None = None
    upstream_worklist: UpstreamWorklist | None = None
    # devices
    devices: list[Station] | None = None
    problems: dict[str, str] | None = None  # stations that could not be opened
    printers: PrintingRuntime | None = None
    leds: LedsRuntime | None = None


class WorklistStatus(Worklist):
    upstream: UpstreamWorklist | None = None


class PrintOutputStatus(BaseModel):
    output: str
    kind: str
    ae_title: str
    status: str
    status_info: str
    state: str
    message: str
    waiting: int


class PrintStatus(BaseModel):
    enabled: bool
    jobs: dict[str, int]  # print jobs by state
    outputs: list[PrintOutputStatus]


class StoredAlarm(BaseModel):
    """An alarm of the alarms store (docs/alarms.md)."""

    id: int
    source: str
    key: str
    severity: str  # attention, error
    sentence: str
    active: bool
    raised_at: float
    updated_at: float
    cleared_at: float | None
    acknowledged_at: float | None
    acknowledged_by: str


class ActivityStatus(BaseModel):
    """Work a CLI process is doing (a USB export), refreshed while it runs."""

    kind: str  # usb-export
    pid: int
    phase: str
    done: int
    total: int
    detail: str
    started_at: float
    updated_at: float


class StatusReport(BaseModel):
    """The box at a glance: what `appliance status --json` prints and the LEDs decide from."""

    box: str
    time: float
    roles: dict[str, RoleStatus]
    services: list[Service]
    counts: Counts
    worklist: WorklistStatus
    mpps: dict[str, int]  # MPPS instances by state
    outbox: dict[str, int]  # outbox messages by state
    jobs: dict[str, int]  # disc jobs by state
    print: PrintStatus
    disk: Disk
    alarms: list[StoredAlarm]
    activities: list[ActivityStatus] = []


class StudyListing(Study):
    """A study in /api/studies: the summary the page shows and the rest of its row."""

    patient_birth_date: str
    patient_sex: str
    study_time: str
    study_id: str
    referring_physician: str
    institution_name: str
    character_set: str
    first_received: float
    completed_at: float | None


class BurnRequest(BaseModel):
    studies: list[Uid] = Field(min_length=1, max_length=100)
    profile: str | None = Field(None, max_length=64)
    copies: int | None = Field(None, ge=0, le=20)
    priority: int | None = Field(None, ge=1, le=9)


class PauseRequest(BaseModel):
    """Why a station is paused (optional), shown with its condition."""

    reason: str = Field(default="", max_length=500)


class StationHold(BaseModel):
    """A station paused or resumed: what came of it and whether it is paused now."""

    message: str
    station: str
    paused: bool


class ActionDone(BaseModel):
    """A control action that was carried out."""

    message: str
    job_id: int | None = None


class AuditRow(BaseModel):
    id: int
    at: float
    who: str
    action: str
    target: str
    result: str
    detail: str
