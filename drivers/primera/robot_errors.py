"""Typed errors of the Primera robot driver (byte-stream backend).

A robot system error carries its `RobotErrorInfo` (error_codes.py): the class says what
the appliance does, the sentence is the operator's. The exception type follows the class,
so a caller can catch what it can handle.
"""

from __future__ import annotations

from drivers.primera.error_codes import ErrorClass, RobotErrorInfo, describe

SYSERR_OFFLINE = 14


class RobotError(Exception):
    """Base of everything the robot driver raises."""


class RobotSystemError(RobotError):
    """The robot stopped with a PTRobot system error."""

    def __init__(self, info: RobotErrorInfo, operation: str) -> None:
        super().__init__(f"{operation}: {info.name} ({info.code}): {info.description}")
        self.info = info
        self.operation = operation

    @property
    def error_class(self) -> ErrorClass:
        return self.info.error_class


class RobotNeedsOperator(RobotSystemError):
    """Someone must act (load discs, close the cover, change ink), then clear the error."""


class RobotRetryable(RobotSystemError):
    """Transient (pick failure, dropped disc, printer busy): clear and try again."""


class RobotFatal(RobotSystemError):
    """Out of service until repaired or power-cycled."""


_BY_CLASS: dict[ErrorClass, type[RobotSystemError]] = {
    ErrorClass.OPERATOR_FIXABLE: RobotNeedsOperator,
    ErrorClass.RETRYABLE: RobotRetryable,
    ErrorClass.FATAL: RobotFatal,
}


def system_error(code: int, operation: str) -> RobotSystemError:
    """The typed exception for a robot's system error `code` during `operation`."""
    info = describe(code)
    return _BY_CLASS[info.error_class](info, operation)


class RobotOffline(RobotError):
    """The robot does not answer (unplugged, switched off, or hung)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.info = describe(SYSERR_OFFLINE)


class OperationTimedOut(RobotError):
    """The robot answered but stayed busy longer than the operation may take."""

    def __init__(self, operation: str, seconds: float) -> None:
        super().__init__(f"{operation}: still busy after {seconds:g} s")
        self.operation = operation
        self.seconds = seconds


class CommandRefused(RobotError):
    """The robot refused a request with a PTROBOT_* return code (e.g. 515 bad location)."""

    def __init__(self, operation: str, code: int) -> None:
        super().__init__(f"{operation}: refused with code {code}")
        self.operation = operation
        self.code = code


class ProtocolError(RobotError):
    """A reply that the flavor's command set cannot decode."""


class TransportError(RobotError):
    """The device node cannot be opened, read or written."""


class TransportTimeout(TransportError):
    """No complete reply within the read timeout."""
