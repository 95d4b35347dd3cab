"""PTBurn protocol from sample files (tests/traces/ptburn), and the job folder's writes."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from drivers.primera.error_codes import ErrorClass
from drivers.primera.ptburn_protocol import (
    ErrorScope,
    JobFileState,
    JobRequest,
    JobState,
    ProtocolError,
    StatusStep,
    check_job_name,
    from_host_path,
    job_file_state,
    parse_job_request,
    parse_message,
    parse_robot_status,
    parse_system_status,
    render_abort,
    render_job_request,
    to_host_path,
)
from drivers.primera.ptburn_transport import TEMP_SUFFIX, JobFolder

TRACES = Path(__file__).resolve().parent.parent / "traces" / "ptburn"


def trace(name: str) -> str:
    return (TRACES / name).read_bytes().decode("ascii")


KILN_REQUEST = JobRequest(
    job_id="CT 1.2.840.99 copy 1",
    client_id="Kiln",
    image_file="C:\\PTBurnJobs\\kiln-7-31\\disc.iso",
    copies=2,
    importance=2,
    print_label="C:\\PTBurnJobs\\kiln-7-31\\label.bmp",
    print_quality=3,
    bin_id=1,
    robot_name="Disc Publisher SE",
)


def test_kiln_request_renders_exactly_as_the_sample() -> None:
    assert render_job_request(KILN_REQUEST) == trace("kiln-7-31.JRQ")


def test_kiln_request_parses_back_to_itself() -> None:
    assert parse_job_request(trace("kiln-7-31.JRQ")) == KILN_REQUEST


def test_another_clients_data_job_parses() -> None:
    request = parse_job_request(trace("other-client.JRQ"))
    assert request.client_id == "Orthanc-Tools"
    assert request.image_file is None
    assert request.data == (
        "\\\\PTHOST\\PTBurnJobs\\job9\\viewer",
        "\\\\PTHOST\\PTBurnJobs\\job9\\DICOM",
    )
    assert request.volume_name == "PATIENT"
    assert request.reject_if_not_blank and request.verify_disc
    assert request.delete_files is False  # the SDK default when the key is absent
    assert request.print_label is not None and request.print_label.endswith("label.std")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"job_id": "x" * 33}, "JobID"),
        ({"client_id": ""}, "ClientID"),
        ({"job_id": "two\nlines"}, "one line"),
        ({"copies": 0}, "Copies"),
        ({"importance": 10}, "Importance"),
        ({"print_quality": 5}, "PrintQuality"),
        ({"print_label": "C:\\x\\label.png"}, "PrintLabel"),
        ({"image_file": None}, "either an ImageFile or Data"),
        ({"data": ("C:\\x",)}, "either an ImageFile or Data"),
        ({"volume_name": "V"}, "VolumeName"),
    ],
)
def test_requests_kiln_must_not_send_are_refused(changes: dict[str, object], message: str) -> None:
    values = {**KILN_REQUEST.__dict__, **changes}
    with pytest.raises(ProtocolError, match=message):
        JobRequest(**values)


def test_abort_message_round_trip() -> None:
    assert render_abort("Kiln") == trace("kiln-7-31.PTM").replace(" = ", "=")
    assert parse_message(trace("kiln-7-31.PTM")) == ("ABORT", "Kiln")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("kiln-7-31.JRQ", ("kiln-7-31", JobFileState.SUBMITTED)),
        ("kiln-7-31.QRJ", ("kiln-7-31", JobFileState.QUEUED)),
        ("kiln-7-31.INP", ("kiln-7-31", JobFileState.IN_PROGRESS)),
        ("kiln-7-31.don", ("kiln-7-31", JobFileState.DONE)),
        ("kiln-7-31.err", ("kiln-7-31", JobFileState.FAILED)),
        ("kiln-7-31.PTM", None),
        (".kiln-7-31.JRQ" + TEMP_SUFFIX, None),
        ("JRQ", None),
    ],
)
def test_job_file_states_from_extensions(
    name: str, expected: tuple[str, JobFileState] | None
) -> None:
    assert job_file_state(name) == expected


def test_job_names_are_safe_file_and_section_names() -> None:
    assert check_job_name("kiln-7-31") == "kiln-7-31"
    for bad in ["", "../x", "a b", "a.JRQ", "x" * 65, "[x]"]:
        with pytest.raises(ProtocolError):
            check_job_name(bad)


def test_host_paths_both_ways() -> None:
    relative = PurePosixPath("kiln-7-31", "disc.iso")
    assert to_host_path("C:\\PTBurnJobs", relative) == "C:\\PTBurnJobs\\kiln-7-31\\disc.iso"
    unc = to_host_path("\\\\PTHOST\\PTBurnJobs", relative)
    assert unc == "\\\\PTHOST\\PTBurnJobs\\kiln-7-31\\disc.iso"
    assert from_host_path("\\\\PTHOST\\PTBurnJobs", unc) == relative
    assert from_host_path("c:\\ptburnjobs", "C:\\PTBurnJobs\\kiln-7-31\\disc.iso") == relative
    with pytest.raises(ProtocolError):
        to_host_path("C:\\PTBurnJobs", PurePosixPath("..", "secret"))
    with pytest.raises(ProtocolError):
        from_host_path("C:\\PTBurnJobs", "D:\\elsewhere\\disc.iso")


def test_system_status_sample() -> None:
    status = parse_system_status(trace("SystemStatus.txt"))
    assert status.sys_error is None
    assert status.server_tick_count == 523761
    assert status.ptburn_version == "3.1.5"
    robot = status.robot(None)
    assert robot is not None and robot is status.robot("disc publisher se")
    assert robot.robot_type == "Disc Publisher SE"
    assert robot.drives == 1 and robot.jobs == 1
    assert robot.discs_left_bin == 37
    assert robot.discs_right_bin is None  # -1: unknown
    assert [(c.kind, c.fill_percent) for c in robot.cartridges] == [("black", 91), ("color", 37)]
    assert robot.status_file == "Disc Publisher SE.txt"
    assert status.robot("Bravo") is None


def test_cover_open_is_an_operator_fixable_system_error() -> None:
    status = parse_system_status(trace("SystemStatus-cover-open.txt"))
    assert status.sys_error is not None
    assert status.sys_error.name == "SYSERR_COVER_OPEN"
    assert status.sys_error.error_class is ErrorClass.OPERATOR_FIXABLE
    assert status.sys_error_string == "Cover Open"


def test_robot_status_sample_jobs() -> None:
    robot = parse_robot_status(trace("Disc Publisher SE.txt"))
    assert robot.active == ("kiln-7-31", "kiln-7-32")
    assert robot.completed == ("DataJob_ClosedDisc", "kiln-7-30")
    assert robot.system_status == "System OK" and robot.sys_error == 0

    running = robot.job("kiln-7-31")
    assert running is not None
    assert running.state is JobState.RUNNING
    assert running.step is StatusStep.RECORDING
    assert (running.good_discs, running.bad_discs, running.discs_remaining) == (1, 1, 1)
    assert running.job_error is None
    assert [(e.disc, e.error.number, e.error.scope) for e in running.disc_errors] == [
        (1, 12, ErrorScope.DISC)
    ]
    assert running.disc_errors[0].error.text == "The media (CD/DVD) is not blank."

    waiting = robot.job("KILN-7-32")
    assert waiting is not None and waiting.state is JobState.NOT_STARTED
    assert waiting.jobs_ahead == 1 and waiting.step is StatusStep.INITIALIZING

    done = robot.job("DataJob_ClosedDisc")
    assert done is not None and done.state is JobState.COMPLETED
    assert done.step is StatusStep.COMPLETE and done.good_discs == 1

    failed = robot.job("kiln-7-30")
    assert failed is not None and failed.state is JobState.FAILED
    assert failed.job_error is not None and failed.job_error.number == 20
    assert [e.error.number for e in failed.disc_errors] == [18, 19, 18]
    # An empty DiscErrorString falls back to Kiln's wording of the SDK table.
    assert failed.disc_errors[2].error.text == "writing the disc failed"


def test_torn_and_empty_status_files_do_not_raise() -> None:
    torn = trace("Disc Publisher SE.txt")[:200]
    robot = parse_robot_status(torn)
    assert robot.active == ("kiln-7-31", "kiln-7-32")
    assert robot.job("kiln-7-31") is not None
    assert parse_system_status("").robots == ()


# --- the job folder (transport) ---------------------------------------------------------


def test_write_atomic_leaves_only_the_final_name(tmp_path: Path) -> None:
    folder = JobFolder(tmp_path)
    path = folder.write_atomic("kiln-1.JRQ", "JobID=x\r\n")
    assert path.read_bytes() == b"JobID=x\r\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kiln-1.JRQ"]


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path) -> None:
    folder = JobFolder(tmp_path)
    with pytest.raises(UnicodeEncodeError):
        folder.write_atomic("kiln-1.JRQ", "JobID=Müller\r\n")  # the request is ASCII
    assert list(tmp_path.iterdir()) == []


def test_the_request_appears_only_when_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # At the moment the final name appears, its whole text must already be on disk.
    seen: list[bytes] = []
    real_replace = os.replace

    def watching_replace(source: str | Path, target: str | Path) -> None:
        assert not Path(target).exists()
        seen.append(Path(source).read_bytes())
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", watching_replace)
    JobFolder(tmp_path).write_atomic("kiln-2.JRQ", "JobID=y\r\nCopies=3\r\n")
    assert seen == [b"JobID=y\r\nCopies=3\r\n"]


def test_stage_find_and_remove_a_job(tmp_path: Path) -> None:
    folder = JobFolder(tmp_path)
    source = tmp_path.parent / f"{tmp_path.name}-image.iso"
    source.write_bytes(b"\x01" * 5000)
    staged = folder.stage_file("kiln-3", source, "disc.iso")
    assert staged == tmp_path / "kiln-3" / "disc.iso"
    assert staged.read_bytes() == source.read_bytes()
    folder.write_atomic("kiln-3.JRQ", "JobID=z\r\n")
    assert folder.job_file("kiln-3") == (JobFileState.SUBMITTED, tmp_path / "kiln-3.JRQ")
    os.replace(tmp_path / "kiln-3.JRQ", tmp_path / "kiln-3.don")  # PTBurn's rename
    (tmp_path / "kiln-3.PTM").write_text("Message=ABORT\r\n")
    found = folder.job_file("KILN-3")
    assert found is not None and found[0] is JobFileState.DONE
    assert set(folder.jobs()) == {"kiln-3"}
    folder.remove_job("kiln-3")
    assert list(tmp_path.iterdir()) == []
    assert folder.job_file("kiln-3") is None
    source.unlink()


def test_missing_status_reads_as_none(tmp_path: Path) -> None:
    folder = JobFolder(tmp_path)
    assert folder.read_status() is None
    assert JobFolder(tmp_path / "not-mounted").jobs() == {}
