"""The PTRobot system-error table: complete, unique, every code classed and worded."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.primera.error_codes import (
    _TABLE,
    BOX_ACTION,
    ERRORS,
    NO_ERROR,
    ErrorClass,
    describe,
)


def test_no_duplicate_codes_or_names() -> None:
    codes = [row[0] for row in _TABLE]
    names = [row[1] for row in _TABLE]
    assert len(codes) == len(set(codes))
    assert len(names) == len(set(names))
    assert len(ERRORS) == len(_TABLE)


def test_every_code_has_a_class_and_a_three_part_sentence() -> None:
    for code, info in ERRORS.items():
        assert info.code == code
        assert info.name.startswith("SYSERR_")
        assert isinstance(info.error_class, ErrorClass)
        assert info.description and info.todo.endswith(".")
        sentence = info.sentence
        assert f"Primera error {code}" in sentence
        assert info.description in sentence
        assert BOX_ACTION[info.error_class] in sentence
        assert sentence.endswith(info.todo)


def test_the_header_numbering_is_kept() -> None:
    # Spot checks against PTRobot.h "System Errors"; 11 and 21-27 are undefined there.
    assert ERRORS[3].name == "SYSERR_INPUT_EMPTY"
    assert ERRORS[15].name == "SYSERR_COVER_OPEN"
    assert ERRORS[36].name == "SYSERR_ALIGNNEEDED"
    assert ERRORS[58].name == "SYSERR_UNKNOWN_HARDWARE"
    assert not {11, 21, 22, 23, 24, 25, 26, 27} & ERRORS.keys()
    assert set(ERRORS) == set(range(1, 59)) - {11, 21, 22, 23, 24, 25, 26, 27}


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (3, ErrorClass.OPERATOR_FIXABLE),  # input empty
        (15, ErrorClass.OPERATOR_FIXABLE),  # cover open
        (7, ErrorClass.OPERATOR_FIXABLE),  # ink low
        (50, ErrorClass.OPERATOR_FIXABLE),  # ink out
        (8, ErrorClass.RETRYABLE),  # pick failure
        (4, ErrorClass.RETRYABLE),  # communication
        (20, ErrorClass.RETRYABLE),  # dropped disc
        (9, ErrorClass.FATAL),  # arm movement
        (46, ErrorClass.FATAL),
        (58, ErrorClass.FATAL),
    ],
)
def test_classes_of_the_well_known_alarms(code: int, expected: ErrorClass) -> None:
    assert describe(code).error_class is expected


@pytest.mark.parametrize("code", [11, 21, 99, 4242, -1])
def test_unknown_codes_are_fatal_and_name_their_number(code: int) -> None:
    info = describe(code)
    assert info.error_class is ErrorClass.FATAL
    assert info.code == code
    assert str(code) in info.description
    assert f"Primera error {code}" in info.sentence


def test_zero_is_not_an_error() -> None:
    with pytest.raises(ValueError, match="SYSERR_NONE"):
        describe(NO_ERROR)


def test_the_operator_docs_list_every_code_as_the_table_says() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "primera-ptburn.md"
    text = docs.read_text()
    for code, info in ERRORS.items():
        row = (
            f"| {code} | `{info.name}` | {info.description} | "
            f"{info.error_class.value} | {info.todo} |"
        )
        assert row in text, f"docs/primera-ptburn.md is out of step for code {code}"
    for error_class, action in BOX_ACTION.items():
        assert action in " ".join(text.split()), error_class
