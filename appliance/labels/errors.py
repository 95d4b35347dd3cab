"""What can go wrong with a disc label, as one exception with a kind.

The message already names the template, the element and the key concerned; the CLI, the
config check and the job runner turn it into an operator sentence once, at their edge.
"""

from __future__ import annotations

from enum import Enum


class LabelProblem(Enum):
    BAD_TEMPLATE = "bad-template"  # the TOML, a key, a value or a field expression
    UNKNOWN_TEMPLATE = "unknown-template"  # no built-in and no file by that name
    BAD_IMAGE = "bad-image"  # a logo that is missing or not an image
    DOES_NOT_FIT = "does-not-fit"  # an element outside the printable ring of this geometry
    WRITE_FAILED = "write-failed"  # the artwork file could not be written


class LabelError(Exception):
    def __init__(self, problem: LabelProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message
