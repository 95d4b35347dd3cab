"""A film output: print requests relayed to a DICOM film printer (appliance/printing/film_relay).

When the printer fails part-way (out of film after two of three films), the films
already printed are remembered in the job's external id ("films:2") so the retry prints
only the rest: a modality's film is never printed twice.
"""

from __future__ import annotations

from appliance.printing.backend import OutputKind
from appliance.printing.film import PrintRequest
from appliance.printing.film_relay import Done, FilmRelay, RetryLater
from appliance.printing.output import (
    Outcome,
    OutputCondition,
    Printed,
    Progress,
    Refused,
)
from appliance.printing.output import RetryLater as RunnerRetry

PROGRESS_PREFIX = "films:"


class FilmOutput:
    kind = OutputKind.FILM

    def __init__(self, name: str, relay: FilmRelay) -> None:
        self.name = name
        self.relay = relay

    def condition(self) -> OutputCondition:
        report = self.relay.poll()
        message = ""
        if report.status.value != "NORMAL":
            message = (
                f"The {self.name} film printer reports {report.status.value} "
                f"({report.status_info}). Check it (film supply, receive magazine, power and "
                "network); waiting films are printed when it is well again."
            )
        return OutputCondition(report, self.relay.state.value, message)

    def print_request(
        self, request: PrintRequest, copies: int, external_id: str, progress: Progress
    ) -> Outcome:
        start = _films_done(external_id)
        result = self.relay.print_request(request, copies=copies, start_film=start)
        if isinstance(result, Done):
            return Printed(result.detail, warnings=result.warnings)
        if isinstance(result, RetryLater):
            if result.films_done:
                progress(
                    result.status_info, result.sentence, f"{PROGRESS_PREFIX}{result.films_done}"
                )
            return RunnerRetry(result.status_info, result.sentence)
        return Refused(result.sentence)

    def close(self) -> None:
        pass


def _films_done(external_id: str) -> int:
    if external_id.startswith(PROGRESS_PREFIX):
        try:
            return max(0, int(external_id.removeprefix(PROGRESS_PREFIX)))
        except ValueError:
            return 0
    return 0
