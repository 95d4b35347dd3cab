"""What can go wrong while building media, as one exception with a kind.

The CLI (and later the job runner and the web page) turn it into a sentence and an exit code
or status once, at their edge; the message already names the instance or path concerned.
"""

from __future__ import annotations

from enum import Enum


class MediaProblem(Enum):
    NOTHING_SELECTED = "nothing-selected"
    UNKNOWN_STUDY = "unknown-study"
    MISSING_FILE = "missing-file"  # indexed, but the file is gone or unreadable
    UNDECODABLE = "undecodable"  # the profile needs it decoded and that fails
    TARGET_EXISTS = "target-exists"
    NO_SPACE = "no-space"
    WRITE_FAILED = "write-failed"
    TOO_LARGE = "too-large"  # does not fit the largest medium allowed, even split
    BURNED_IN = "burned-in"  # an anonymised copy of pixels that show the patient's identity
    BAD_VALUE = "bad-value"  # a value that cannot go into a directory record


class MediaError(Exception):
    def __init__(self, problem: MediaProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message
