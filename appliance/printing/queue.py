"""Print jobs, their events and the outputs' live state in the database (migration 0009).

Every state change is checked against `job_states` inside the transaction that writes
it, together with its `print_job_events` row.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from appliance.db.database import transaction
from appliance.printing.backend import OutputKind, PrinterReport, PrinterStatus
from appliance.printing.film import PrintRequest
from appliance.printing.job_states import ACTIVE, PrintJobEvent, PrintJobState, next_state

Clock = Callable[[], float]
PRIORITY_ORDER = "CASE priority WHEN 'HIGH' THEN 0 WHEN 'MED' THEN 1 ELSE 2 END"


class UnknownPrintJob(Exception):
    def __init__(self, key: int | str) -> None:
        super().__init__(f"there is no print job {key}")
        self.key = key


@dataclass(frozen=True)
class PrintJob:
    id: int
    job_uid: str
    output: str
    state: PrintJobState
    calling_ae: str
    called_ae: str
    films: int
    images: int
    copies: int
    priority: str
    medium: str
    film_size: str
    label: str
    folder: str
    attempts: int
    next_attempt: float
    status_info: str
    message: str
    external_id: str
    scale: float | None
    created_at: float
    updated_at: float
    finished_at: float | None


@dataclass(frozen=True)
class PrintJobEventRow:
    at: float
    state: PrintJobState
    detail: str


@dataclass(frozen=True)
class OutputState:
    output: str
    kind: OutputKind
    report: PrinterReport
    state: str  # the device state machine's state
    message: str
    updated_at: float


_COLUMNS = (
    "id, job_uid, output, state, calling_ae, called_ae, films, images, copies, priority, "
    "medium, film_size, label, folder, attempts, next_attempt, status_info, message, "
    "external_id, scale, created_at, updated_at, finished_at"
)


def _job(row: sqlite3.Row | tuple[object, ...]) -> PrintJob:
    values = list(row)
    values[3] = PrintJobState(values[3])
    return PrintJob(*values)


class PrintQueue:
    def __init__(self, conn: sqlite3.Connection, clock: Clock = time.time) -> None:
        self.conn = conn
        self.clock = clock

    # -- adding -----------------------------------------------------------------------
    def add(self, request: PrintRequest, output: str, folder: str, copies: int) -> int:
        now = self.clock()
        first = request.films[0] if request.films else None
        with transaction(self.conn):
            cursor = self.conn.execute(
                "INSERT INTO print_jobs (job_uid, output, state, calling_ae, called_ae, films,"
                " images, copies, priority, medium, film_size, label, folder, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    request.job_uid,
                    output,
                    PrintJobState.QUEUED.value,
                    request.calling_ae,
                    request.called_ae,
                    len(request.films),
                    sum(len(film.image_boxes) for film in request.films),
                    copies,
                    request.session.print_priority or "MED",
                    request.session.medium_type,
                    first.film_size_id if first else "",
                    request.session.film_session_label,
                    folder,
                    now,
                    now,
                ),
            )
            job_id = int(cursor.lastrowid or 0)
            self._event(job_id, PrintJobState.QUEUED, f"from {request.calling_ae}", now)
        return job_id

    def waiting(self, output: str) -> int:
        row = self.conn.execute(
            "SELECT count(*) FROM print_jobs WHERE output = ? AND state IN (?, ?)",
            (output, *(state.value for state in ACTIVE)),
        ).fetchone()
        return int(row[0])

    # -- reading ----------------------------------------------------------------------
    def get(self, key: int | str) -> PrintJob:
        column = "id" if isinstance(key, int) else "job_uid"
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM print_jobs WHERE {column} = ?",  # noqa: S608 - fixed names
            (key,),
        ).fetchone()
        if row is None:
            raise UnknownPrintJob(key)
        return _job(row)

    def find(self, key: int | str) -> PrintJob | None:
        try:
            return self.get(key)
        except UnknownPrintJob:
            return None

    def recent(self, limit: int = 50, states: tuple[PrintJobState, ...] = ()) -> list[PrintJob]:
        where = ""
        params: list[object] = []
        if states:
            where = f"WHERE state IN ({', '.join('?' for _ in states)})"
            params = [state.value for state in states]
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM print_jobs {where} ORDER BY id DESC LIMIT ?",  # noqa: S608
            (*params, limit),
        ).fetchall()
        return [_job(row) for row in rows]

    def queued_before(self, output: str, created_before: float) -> list[PrintJob]:
        rows = self.conn.execute(
            f"SELECT {_COLUMNS} FROM print_jobs WHERE output = ? AND state = ? "  # noqa: S608
            "AND created_at < ? ORDER BY id",
            (output, PrintJobState.QUEUED.value, created_before),
        ).fetchall()
        return [_job(row) for row in rows]

    def events(self, job_id: int) -> list[PrintJobEventRow]:
        rows = self.conn.execute(
            "SELECT at, state, detail FROM print_job_events WHERE job_id = ? ORDER BY id",
            (job_id,),
        ).fetchall()
        return [PrintJobEventRow(at, PrintJobState(state), detail) for at, state, detail in rows]

    def counts(self) -> dict[str, int]:
        rows = self.conn.execute("SELECT state, count(*) FROM print_jobs GROUP BY state")
        return {state: int(count) for state, count in rows}

    def next_for(self, output: str) -> PrintJob | None:
        """The queued job this output should print now: highest priority, then oldest."""
        row = self.conn.execute(
            f"SELECT {_COLUMNS} FROM print_jobs WHERE output = ? AND state = ? "  # noqa: S608
            f"AND next_attempt <= ? ORDER BY {PRIORITY_ORDER}, id LIMIT 1",
            (output, PrintJobState.QUEUED.value, self.clock()),
        ).fetchone()
        return _job(row) if row else None

    # -- changing ---------------------------------------------------------------------
    def change(
        self,
        job_id: int,
        event: PrintJobEvent,
        *,
        detail: str = "",
        status_info: str | None = None,
        message: str | None = None,
        retry_in: float = 0.0,
        external_id: str | None = None,
        scale: float | None = None,
    ) -> PrintJob:
        now = self.clock()
        with transaction(self.conn):
            job = self.get(job_id)
            after = next_state(job.state, event)
            sets = ["state = ?", "updated_at = ?"]
            params: list[object] = [after.value, now]
            if event is PrintJobEvent.START:
                sets.append("attempts = attempts + 1")
            if event in (PrintJobEvent.OUTPUT_DOWN, PrintJobEvent.RESTARTED):
                sets.append("next_attempt = ?")
                params.append(now + retry_in)
            if event is PrintJobEvent.RETRY:
                sets += ["attempts = 0", "next_attempt = 0", "external_id = ''"]
            if after in (PrintJobState.DONE, PrintJobState.FAILED, PrintJobState.CANCELLED):
                sets.append("finished_at = ?")
                params.append(now)
            elif event is PrintJobEvent.RETRY:
                sets.append("finished_at = NULL")
            for column, value in (
                ("status_info", status_info),
                ("message", message),
                ("external_id", external_id),
                ("scale", scale),
            ):
                if value is not None:
                    sets.append(f"{column} = ?")
                    params.append(value)
            self.conn.execute(
                f"UPDATE print_jobs SET {', '.join(sets)} WHERE id = ?",  # noqa: S608
                (*params, job_id),
            )
            self._event(job_id, after, detail or event.value, now)
        return self.get(job_id)

    def note(self, job_id: int, *, status_info: str, message: str, external_id: str = "") -> None:
        """Record progress without a state change (e.g. the CUPS job id, paper out)."""
        sets = "status_info = ?, message = ?, updated_at = ?"
        params: list[object] = [status_info, message, self.clock()]
        if external_id:
            sets += ", external_id = ?"
            params.append(external_id)
        self.conn.execute(
            f"UPDATE print_jobs SET {sets} WHERE id = ?",  # noqa: S608 - fixed names
            (*params, job_id),
        )

    def restart_printing(self, output: str) -> list[int]:
        """Jobs left printing by a stopped role go back to the queue (their CUPS job id kept)."""
        rows = self.conn.execute(
            "SELECT id FROM print_jobs WHERE output = ? AND state = ?",
            (output, PrintJobState.PRINTING.value),
        ).fetchall()
        for (job_id,) in rows:
            self.change(job_id, PrintJobEvent.RESTARTED, detail="the devices role restarted")
        return [int(row[0]) for row in rows]

    def _event(self, job_id: int, state: PrintJobState, detail: str, at: float) -> None:
        self.conn.execute(
            "INSERT INTO print_job_events (job_id, at, state, detail) VALUES (?, ?, ?, ?)",
            (job_id, at, state.value, detail),
        )

    # -- outputs' state ---------------------------------------------------------------
    def set_output(self, state: OutputState) -> None:
        report = state.report
        self.conn.execute(
            "INSERT INTO printer_status (output, kind, status, status_info, state, message,"
            " printer_name, model, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (output) DO UPDATE SET kind = excluded.kind, status = excluded.status,"
            " status_info = excluded.status_info, state = excluded.state,"
            " message = excluded.message, printer_name = excluded.printer_name,"
            " model = excluded.model, updated_at = excluded.updated_at",
            (
                state.output,
                state.kind.value,
                report.status.value,
                report.status_info,
                state.state,
                state.message,
                report.printer_name,
                report.model_name,
                state.updated_at,
            ),
        )

    def outputs(self) -> dict[str, OutputState]:
        rows = self.conn.execute(
            "SELECT output, kind, status, status_info, state, message, printer_name, model,"
            " updated_at FROM printer_status ORDER BY output"
        ).fetchall()
        found = {}
        for output, kind, status, info, state, message, name, model, updated in rows:
            report = PrinterReport(PrinterStatus(status), info, name, model_name=model)
            found[output] = OutputState(output, OutputKind(kind), report, state, message, updated)
        return found
