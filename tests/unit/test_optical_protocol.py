"""xorriso's output read from recorded traces (tests/traces/optical/) into typed values."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.optical.errors import (
    DriveBusy,
    DriveError,
    NoMedium,
    NotReady,
    TrayOpen,
    WriteFailed,
)
from drivers.optical.media import MediaFamily, MediaState, blocks_for, media_type
from drivers.optical.protocol import (
    MIB,
    bad_regions,
    failure,
    messages,
    parse_check_media,
    parse_media_info,
    parse_pvd_info,
    parse_read_progress,
    parse_write_progress,
)

TRACES = Path(__file__).resolve().parent.parent / "traces" / "optical"


def trace(name: str) -> tuple[str, int]:
    """(output, exit code) of a recorded run."""
    lines = (TRACES / name).read_text().splitlines()
    exit_code = next(int(line.split(":")[1]) for line in lines if line.startswith("# exit:"))
    return "\n".join(line for line in lines if not line.startswith("# ")), exit_code


def write_failed(message: str, detail: str, exit_code: int) -> DriveError:
    return WriteFailed(message, detail=detail, exit_code=exit_code)


def test_a_blank_stdio_drive() -> None:
    output, code = trace("stdio_toc_blank.txt")
    info = parse_media_info(output)
    assert code == 0 and failure(output, code) is None
    assert info.state is MediaState.BLANK
    assert info.media.family is MediaFamily.FILE
    assert info.readable_blocks == 0 and info.sessions == 0
    assert info.free_blocks == 40335606  # "Media space", not the larger "writable"
    assert info.capacity_blocks == 40335638
    assert info.drive == "YOYODYNE WARP DRIVE FX01"


def test_a_written_stdio_drive() -> None:
    output, _ = trace("stdio_toc_appendable.txt")
    info = parse_media_info(output)
    assert info.state is MediaState.APPENDABLE
    assert info.readable_blocks == 73600
    assert info.sessions == 1
    assert info.volume_id == "BIGVOL"
    assert info.free_blocks == 40262032
    assert info.data_bytes == 73600 * 2048


def test_an_empty_real_drive_is_state_none_not_an_error() -> None:
    output, code = trace("mmc_no_medium_toc.txt")
    info = parse_media_info(output)
    assert info.state is MediaState.NONE
    assert info.media.profile == ""
    assert info.drive == "HL-DT-ST DVDRAM GUE0N T.02"
    assert failure(output, code) is None


def test_a_closed_real_cd_and_its_read_back() -> None:
    output, code = trace("mmc_closed_cdr_check_media.txt")
    info = parse_media_info(output)
    assert info.state is MediaState.CLOSED
    assert info.media == media_type("CD-RW")
    assert info.free_blocks == 0 and info.readable_blocks == 157156
    regions = parse_check_media(output)
    assert [(r.lba, r.blocks, r.good) for r in regions] == [(0, 157154, True), (157154, 2, False)]
    assert regions[1].quality == "0 tao_end" and not regions[1].bad
    assert bad_regions(regions, 0, 157156) == []
    assert failure(output, code) is None


def test_burn_progress_lines() -> None:
    output, code = trace("stdio_burn_ok.txt")
    progress = [p for line in output.splitlines() if (p := parse_write_progress(line))]
    assert progress == [(6 * MIB, 144 * MIB), (123 * MIB, 144 * MIB)]
    assert failure(output, code, default=write_failed) is None


def test_a_write_failure_is_write_failed_with_libburns_cause() -> None:
    output, code = trace("stdio_burn_write_error.txt")
    error = failure(output, code, default=write_failed)
    assert isinstance(error, WriteFailed)
    assert code == 5 and error.exit_code == 5
    assert "No space left on device" in error.message
    assert "libburn indicates failure with writing" in error.detail


def test_check_media_read_back() -> None:
    output, code = trace("stdio_check_media_ok.txt")
    regions = parse_check_media(output)
    assert regions[0].lba == 0 and regions[0].blocks == 73572 and regions[0].good
    assert regions[1].quality == "0 untested"
    assert bad_regions(regions, 0, 73572) == []
    assert [parse_read_progress(line) for line in output.splitlines() if "blocks read" in line] == [
        73572 * 2048
    ]
    assert failure(output, code) is None


def test_pvd_info() -> None:
    output, _ = trace("stdio_pvd_info.txt")
    fields = parse_pvd_info(output)
    assert fields["Volume Id"] == "BIGVOL"
    assert fields["PVD address"] == "16s"
    assert fields["System Id"] == "LINUX"
    assert fields["Volume Set Id"] == ""


def test_a_missing_drive_is_a_plain_drive_error() -> None:
    output, code = trace("stdio_no_drive.txt")
    error = failure(output, code)
    assert type(error) is DriveError
    assert "File object '/dev/sr9' not found" in error.message
    assert "Cannot acquire drive" in error.detail
    with pytest.raises(DriveError, match="no media status"):
        parse_media_info(output)


def test_a_missing_image_during_a_burn_is_write_failed() -> None:
    output, code = trace("stdio_missing_image.txt")
    error = failure(output, code, default=write_failed)
    assert isinstance(error, WriteFailed)
    assert "Could not open data source" in error.message


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        (
            "libburn : FAILURE : SCSI error condition on command 1Bh START/STOP UNIT: "
            "[2 3A 02] Drive not ready. Medium not present, tray open.",
            TrayOpen,
        ),
        (
            "libburn : FAILURE : SCSI error condition on command 28h READ(10): "
            "[2 3A 01] Drive not ready. Medium not present, tray closed.",
            NoMedium,
        ),
        (
            "libburn : FAILURE : SCSI error condition on command 00h TEST UNIT READY: "
            "[2 04 01] Drive not ready. Logical unit is in the process of becoming ready.",
            NotReady,
        ),
        ("libburn : SORRY : Cannot open busy device '/dev/sr0'", DriveBusy),
    ],
)
def test_libburn_sense_texts_name_the_error(line: str, kind: type[DriveError]) -> None:
    output = f"{line}\nxorriso : FAILURE : Cannot acquire drive '/dev/sr0'\n"
    error = failure(output, 5)
    assert type(error) is kind
    assert error.exit_code == 5


def test_a_non_zero_exit_without_messages_is_still_a_failure() -> None:
    error = failure("Drive current: -outdev '/dev/sr0'", 32)
    assert type(error) is DriveError
    assert "status 32" in error.message


def test_messages_keep_source_and_severity() -> None:
    found = messages("libburn : SORRY : a\nxorriso : UPDATE : b\nplain line\nlibisofs: NOTE : c")
    assert [(m.source, m.severity, m.text) for m in found] == [
        ("libburn", "SORRY", "a"),
        ("xorriso", "UPDATE", "b"),
        ("libisofs", "NOTE", "c"),
    ]
    assert found[0].at_least("SORRY") and not found[1].at_least("SORRY")


@pytest.mark.parametrize(
    ("profile", "family", "writable"),
    [
        ("CD-R", MediaFamily.CD, True),
        ("DVD+R", MediaFamily.DVD, True),
        ("DVD+R/DL", MediaFamily.DVD_DL, True),
        ("BD-R sequential recording", MediaFamily.BD, True),
        ("DVD-ROM", MediaFamily.DVD, False),
        ("Flux capacitor", MediaFamily.UNKNOWN, False),
    ],
)
def test_media_types_are_a_table(profile: str, family: MediaFamily, writable: bool) -> None:
    kind = media_type(profile)
    assert kind.family is family
    assert kind.writable is writable


def test_blocks_round_up() -> None:
    assert [blocks_for(n) for n in (0, 1, 2048, 2049)] == [0, 1, 1, 2]
