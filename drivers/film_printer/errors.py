"""Typed errors of the film printer driver, each with a sentence for the operator.

`FilmPrinterUnreachable` and `FilmPrinterFailure` are conditions of the printer that pass
(it comes back, film is loaded): the job is kept and retried. `PrintRefused` is an answer
to one request; `transient` says whether the same request may succeed later (queue full,
out of memory) or never will (film size not supported, image too large).
"""

from __future__ import annotations


class FilmPrinterError(Exception):
    """Base of everything this driver raises."""

    def __init__(self, message: str, *, printer: str) -> None:
        super().__init__(message)
        self.message = message
        self.printer = printer  # "AE@host:port", for the sentence and the log
        self.films_printed = 0  # films of the session printed before it stopped

    @property
    def sentence(self) -> str:
        """What happened, what Kiln did, what to do: for the operator."""
        return self.message


class FilmPrinterUnreachable(FilmPrinterError):
    """No association: refused connection, rejected association, timeout or abort."""

    def __init__(self, message: str, *, printer: str, detail: str = "") -> None:
        super().__init__(message, printer=printer)
        self.detail = detail

    @property
    def sentence(self) -> str:
        return (
            f"The film printer {self.printer} cannot be reached ({self.message}). "
            "Kiln keeps the print job and tries again; check that the printer is on, "
            "on the network, and configured with Kiln's AE title."
        )


class FilmPrinterFailure(FilmPrinterError):
    """The printer reports Printer Status FAILURE (out of film, printer down...)."""

    def __init__(
        self,
        message: str,
        *,
        printer: str,
        status_info: str,
        description: str,
        films_printed: int = 0,
    ) -> None:
        super().__init__(message, printer=printer)
        self.status_info = status_info  # Printer Status Info, e.g. SUPPLY EMPTY
        self.description = description  # what the term means, in words
        self.films_printed = films_printed  # films of this session printed before it

    @property
    def sentence(self) -> str:
        done = (
            f" {self.films_printed} film(s) of this job were printed before it stopped."
            if self.films_printed
            else ""
        )
        return (
            f"The film printer {self.printer} reports FAILURE: {self.status_info} "
            f"({self.description}).{done} Kiln keeps the print job and prints it when the "
            "printer is ready again; fix the printer (load film, clear the fault)."
        )


class PrintRefused(FilmPrinterError):
    """A DIMSE request answered with a failure status."""

    def __init__(
        self,
        message: str,
        *,
        printer: str,
        operation: str,
        status: int,
        meaning: str,
        comment: str = "",
        transient: bool = False,
        films_printed: int = 0,
    ) -> None:
        super().__init__(message, printer=printer)
        self.operation = operation  # e.g. "Film Box N-CREATE"
        self.status = status
        self.meaning = meaning  # the status code's meaning (PS3.4 H / PS3.7 C)
        self.comment = comment  # the printer's Error Comment, if any
        self.transient = transient
        self.films_printed = films_printed

    @property
    def sentence(self) -> str:
        said = f" (the printer says: {self.comment})" if self.comment else ""
        what = (
            "Kiln keeps the print job and tries again later."
            if self.transient
            else "Kiln cannot print this job on this printer; it is marked failed. Check "
            "the film size, medium and layout the modality asked for against what the "
            "printer accepts."
        )
        return (
            f"The film printer {self.printer} refused {self.operation} with status "
            f"0x{self.status:04X}, {self.meaning}{said}. {what}"
        )
