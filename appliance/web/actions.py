"""The controls: retry or cancel a disc job or a print job, start a burn or a test print,
acknowledge an alarm, pause or resume a station.

Each is audited (done or refused, with the sentence the user got) and raises `Refused`
with an HTTP status and a sentence when it cannot be done; pages and API both call these.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from appliance.cli.device_inventory import runtime_names
from appliance.config.schema import KilnConfig
from appliance.db.database import transaction
from appliance.printing.job_states import PrintJobEvent, PrintJobRefused
from appliance.printing.queue import PrintQueue, UnknownPrintJob
from appliance.printing.test_print import TestPrintRefused, queue_test_print
from appliance.publishing import holds
from appliance.publishing.burn_request import BurnRefused, request_burn
from appliance.publishing.job_states import TransitionRefused
from appliance.publishing.jobs_store import JobStore, UnknownJob
from appliance.publishing.settings import publishing_settings
from appliance.web.alarm_source import AlarmNotFound, AlarmsFactory
from appliance.web.audit import AuditLog, Result
from appliance.web.device_view import stations
from appliance.web.models import BurnRequest

Clock = Callable[[], float]


class Refused(Exception):
    def __init__(self, status: int, sentence: str) -> None:
        super().__init__(sentence)
        self.status = status
        self.sentence = sentence


class Actions:
    def __init__(self, conn: sqlite3.Connection, clock: Clock, who: str) -> None:
        self.conn = conn
        self.clock = clock
        self.who = who
        self.audit = AuditLog(conn, clock)
        self.audit_id = 0  # the row of the last action: pages show its sentence after a redirect

    def refuse(self, action: str, target: str, status: int, sentence: str) -> Refused:
        self.audit_id = self.audit.record(self.who, action, target, Result.REFUSED, sentence)
        return Refused(status, sentence)

    def _done(self, action: str, target: str, sentence: str) -> str:
        self.audit_id = self.audit.record(self.who, action, target, Result.DONE, sentence)
        return sentence

    def _job_change(self, job_id: int, action: str, verb: str, done: str) -> str:
        store = JobStore(self.conn, self.clock)
        target = f"job {job_id}"
        try:
            if action == "job-retry":
                store.retry(job_id)
            else:
                store.cancel(job_id)
        except UnknownJob:
            raise self.refuse(action, target, 404, f"There is no job {job_id}.") from None
        except TransitionRefused as exc:
            raise self.refuse(
                action,
                target,
                409,
                f"Job {job_id} is {exc.state.value}, so it cannot be {verb}; nothing was changed.",
            ) from None
        return self._done(action, target, done)

    def retry_job(self, job_id: int) -> str:
        return self._job_change(
            job_id,
            "job-retry",
            "retried",
            f"Job {job_id} is queued again; discs already made are not made again.",
        )

    def cancel_job(self, job_id: int) -> str:
        return self._job_change(
            job_id,
            "job-cancel",
            "cancelled",
            f"Job {job_id} is cancelled; a disc already in a station is finished.",
        )

    def burn(self, config: KilnConfig, request: BurnRequest) -> tuple[int, str]:
        target = " ".join(request.studies)
        try:
            job_id = request_burn(
                JobStore(self.conn, self.clock),
                publishing_settings(config),
                request.studies,
                profile=request.profile or None,
                copies=request.copies,
                priority=request.priority,
            )
        except BurnRefused as exc:
            raise self.refuse("burn", target, 422, exc.sentence) from None
        sentence = f"Queued job {job_id}; the discs are made as soon as a station is free."
        return job_id, self._done("burn", f"job {job_id}: {target}", sentence)

    def _print_change(self, job_id: int, event: PrintJobEvent, verb: str) -> str:
        action = f"print-{event.value}"
        target = f"print job {job_id}"
        queue = PrintQueue(self.conn, self.clock)
        try:
            job = queue.change(job_id, event, detail=f"{self.who}: {verb} on the web page")
        except UnknownPrintJob:
            raise self.refuse(action, target, 404, f"There is no print job {job_id}.") from None
        except PrintJobRefused as exc:
            raise self.refuse(
                action,
                target,
                409,
                f"Print job {job_id} is {exc.state.value}, so it cannot be {verb}; "
                "nothing was changed.",
            ) from None
        if event is PrintJobEvent.RETRY:
            done = f"Print job {job_id} is queued again for {job.output}."
        else:
            done = f"Print job {job_id} is cancelled; a film already on its way is finished."
        return self._done(action, target, done)

    def retry_print_job(self, job_id: int) -> str:
        return self._print_change(job_id, PrintJobEvent.RETRY, "retried")

    def cancel_print_job(self, job_id: int) -> str:
        return self._print_change(job_id, PrintJobEvent.CANCEL, "cancelled")

    def test_print(
        self,
        config: KilnConfig,
        connect: Callable[[], sqlite3.Connection],
        output: str,
        film_size: str | None,
    ) -> tuple[int, str]:
        """Queue a test film on an output, like a modality's film; (print job id, sentence)."""
        target = f"printer {output}"
        try:
            job = queue_test_print(config, connect, output, film_size, self.clock)
        except TestPrintRefused as exc:
            raise self.refuse("test-print", target, exc.status, exc.sentence) from None
        job_id, size = job.id, job.film_size
        sentence = (
            f"Queued test print {job_id} on {output} ({size}); it prints as soon as the "
            "output is free."
        )
        return job_id, self._done("test-print", f"print job {job_id} on {output}", sentence)

    def acknowledge(self, alarms: AlarmsFactory | None, alarm_id: str) -> str:
        target = f"alarm {alarm_id}"
        if alarms is None:
            raise self.refuse(
                "alarm-ack",
                target,
                409,
                "These alarms clear by themselves when the device recovers; there is nothing "
                "to acknowledge.",
            )
        try:
            sentence = alarms(self.conn).acknowledge(alarm_id, self.who)
        except AlarmNotFound:
            raise self.refuse(
                "alarm-ack", target, 404, f"There is no active alarm {alarm_id}."
            ) from None
        return self._done("alarm-ack", target, sentence)

    def _station(self, config: KilnConfig, action: str, name: str) -> str:
        known = {s.station for s in stations(self.conn, config)}
        for configured, settings in config.publishing.stations.items():
            known.update(runtime_names(configured, settings))
        target = f"station {name}"
        if name not in known:
            raise self.refuse(action, target, 404, f"There is no station {name!r} on this box.")
        return target

    def pause_station(self, config: KilnConfig, name: str, reason: str = "") -> str:
        target = self._station(config, "station-pause", name)
        with transaction(self.conn):
            paused = holds.pause(self.conn, name, self.who, self.clock(), reason)
        if not paused:
            raise self.refuse(
                "station-pause",
                target,
                409,
                f"Station {name} is already paused; nothing was changed.",
            )
        return self._done(
            "station-pause",
            target,
            f"Station {name} is paused: it takes no new disc; a disc in progress is finished.",
        )

    def resume_station(self, config: KilnConfig, name: str) -> str:
        target = self._station(config, "station-resume", name)
        with transaction(self.conn):
            resumed = holds.resume(self.conn, name)
        if not resumed:
            raise self.refuse(
                "station-resume", target, 409, f"Station {name} is not paused; nothing was changed."
            )
        return self._done("station-resume", target, f"Station {name} takes discs again.")
