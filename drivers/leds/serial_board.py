"""LEDs on a USB-serial LED board (protocol in `board_protocol.py`): the board blinks itself."""

from __future__ import annotations

from collections.abc import Mapping

from drivers.leds.board_protocol import Command, Request, decode_reply, encode_request, request_for
from drivers.leds.board_transport import BoardLink
from drivers.leds.errors import LedError, UnknownLed
from drivers.leds.pattern import Pattern


class SerialBoardLeds:
    def __init__(self, link: BoardLink, numbers: Mapping[str, int], timeout: float = 0.5) -> None:
        """`numbers`: our LED name -> the board's LED number (1-99)."""
        self._link = link
        self._numbers = dict(numbers)
        self._timeout = timeout

    @property
    def leds(self) -> tuple[str, ...]:
        return tuple(self._numbers)

    def identify(self) -> str:
        return self._ask(Request(Command.ID))

    def set(self, led: str, pattern: Pattern) -> None:
        number = self._numbers.get(led)
        if number is None:
            raise UnknownLed(led)
        self._ask(request_for(number, pattern))

    def refresh(self, now: float) -> None:
        """Nothing to do: the board blinks."""

    def close(self) -> None:
        self._link.close()

    def _ask(self, request: Request) -> str:
        line = encode_request(request)
        return decode_reply(line, self._link.exchange(line, self._timeout))


def open_board(
    port: str, numbers: Mapping[str, int], *, baudrate: int = 115200, timeout: float = 0.5
) -> SerialBoardLeds:
    """The board on `port`, checked by asking who it is."""
    board = SerialBoardLeds(BoardLink(port, baudrate), numbers, timeout)
    try:
        board.identify()
    except LedError:
        board.close()
        raise
    return board
