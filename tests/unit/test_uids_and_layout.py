"""UIDs from the network never become paths unchecked."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.storage.layout import DataLayout
from appliance.storage.uids import InvalidUID, check_uid


@pytest.mark.parametrize(
    "value",
    [
        "../../etc/passwd",
        "1.2.3/../../x",
        "1.2.3.",
        ".1.2",
        "1..2",
        "1.2.a",
        "1" * 65,
        "",
        None,
        "1.2 .3",
        "1.2\x003",
    ],
)
def test_hostile_or_broken_uids_are_refused(value: str | None) -> None:
    with pytest.raises(InvalidUID):
        check_uid(value, "SOP Instance UID")


def test_trailing_padding_is_removed_and_leading_zeros_tolerated() -> None:
    assert check_uid("1.2.840.10008.1.1\x00", "x") == "1.2.840.10008.1.1"
    assert check_uid("1.2.03.4", "x") == "1.2.03.4"


def test_paths_stay_under_the_dicom_folder(tmp_path: Path) -> None:
    layout = DataLayout(tmp_path)
    path = layout.instance_path("1.2", "1.2.3", "1.2.3.4", copy=2)
    assert path == tmp_path / "dicom" / "1.2" / "1.2.3" / "1.2.3.4.2.dcm"
    with pytest.raises(InvalidUID):
        layout.instance_path("1.2", "..", "1.2.3.4")
