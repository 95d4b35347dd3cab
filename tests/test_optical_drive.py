"""The optical drive driver against its simulator, and the real xorriso on a stdio: file.

The simulator is reached exactly as a real drive is: the driver runs a command, here
`python -m drivers.optical.sim_xorriso --state DIR --` instead of `xorriso`, which has
the real xorriso burn and read the simulated disc (a stdio: file). Every fault ends in
its typed error and the state-machine state the station would reach.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from appliance.media.disc_image import ImageKind, build_image
from drivers.optical import simulator as sim
from drivers.optical.driver import DriveOptions, OpticalDrive, image_md5
from drivers.optical.errors import (
    DriveBusy,
    DriveError,
    NoMedium,
    NotBlank,
    NotReady,
    TooSmall,
    TrayOpen,
    VerifyMismatch,
    WriteFailed,
    XorrisoMissing,
)
from drivers.optical.media import MediaFamily, MediaState
from statemachines.optical_drive import (
    OpticalDriveMachine,
    OpticalEvent,
    OpticalState,
    event_for_error,
    event_for_media,
)

E, S = OpticalEvent, OpticalState
VOLUME = "KILN_TEST"


@pytest.fixture(scope="module")
def file_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fileset")
    (root / "DICOM" / "ST000000" / "SE000000").mkdir(parents=True)
    (root / "DICOMDIR").write_bytes(os.urandom(4096))
    for n in range(4):
        (root / "DICOM" / "ST000000" / "SE000000" / f"IM{n:06d}").write_bytes(os.urandom(1 << 20))
    (root / "README.TXT").write_text("Kiln test disc\n")
    return root


@pytest.fixture(scope="module")
def image(file_set: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("image") / "disc.iso"
    build_image(file_set, out, volume_id=VOLUME, kind=ImageKind.ISO9660_JOLIET_RR, fsync=False)
    return out


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return sim.create(tmp_path / "drive", media="DVD+R")


def sim_drive(state_dir: Path) -> OpticalDrive:
    return OpticalDrive.open(
        DriveOptions(device="/dev/sr0", command=sim.command(state_dir), query_timeout=30)
    )


def hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def extract(disc: Path, target: Path) -> Path:
    """The disc's files, as xorriso's own reader (Rock Ridge) sees them."""
    subprocess.run(
        ["xorriso", "-osirrox", "on", "-indev", f"stdio:{disc}", "-extract", "/", str(target)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return target


def make_disc(drive: OpticalDrive, machine: OpticalDriveMachine, image: Path) -> None:
    """What a station does with one disc: look, burn, verify (events on the machine)."""
    try:
        machine.fire(event_for_media(drive.media_info()))
        if machine.state is not S.BLANK:
            raise NotBlank("not blank", state=machine.state.value)
        machine.fire(E.BURN_STARTED)
        burned = drive.burn(image)
        machine.fire(E.BURN_FINISHED)
        machine.fire(E.VERIFY_STARTED)
        drive.verify(image, expected_md5=burned.md5)
        machine.fire(E.VERIFY_PASSED)
    except DriveError as error:
        if machine.state is not S.ERROR:
            machine.fire(event_for_error(error))
        raise


# --- the happy path -------------------------------------------------------------------------


def test_burn_verify_and_read_the_disc_back(
    state_dir: Path, image: Path, file_set: Path, tmp_path: Path
) -> None:
    drive = sim_drive(state_dir)
    machine = OpticalDriveMachine("/dev/sr0")
    seen: list[OpticalState] = []
    machine.subscribe(lambda t: seen.append(t.after))
    before = drive.media_info()
    assert before.state is MediaState.BLANK
    assert before.media.profile == "DVD+R" and before.media.family is MediaFamily.DVD
    assert before.free_blocks == 2_295_104

    make_disc(drive, machine, image)

    assert seen == [S.BLANK, S.BURNING, S.CLOSED, S.VERIFYING, S.CLOSED]
    after = drive.media_info()
    assert after.state is MediaState.CLOSED
    assert after.volume_id == VOLUME
    assert after.free_blocks == 0
    disc = sim.disc_path(state_dir)
    assert disc.read_bytes()[: image.stat().st_size] == image.read_bytes()
    assert hashes(extract(disc, tmp_path / "out")) == hashes(file_set)


def test_progress_rises_to_the_image_size(state_dir: Path, image: Path) -> None:
    sim.set_speed(state_dir, 4 << 20)  # 4 MiB/s: the 4 MiB image takes about a second
    drive = sim_drive(state_dir)
    size = image.stat().st_size
    burned: list[tuple[int, int]] = []
    read: list[tuple[int, int]] = []
    started = time.monotonic()
    result = drive.burn(image, progress=lambda done, total: burned.append((done, total)))
    burn_seconds = time.monotonic() - started
    drive.verify(image, progress=lambda done, total: read.append((done, total)))
    assert burn_seconds >= 0.8 * size / (4 << 20)
    assert result.md5 == image_md5(image) and result.image_bytes == size
    for seen in (burned, read):
        assert seen[-1] == (size, size)
        assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert len(burned) >= 2  # xorriso's pacifier spoke during the burn


def test_eject_and_load_move_the_tray(state_dir: Path) -> None:
    drive = sim_drive(state_dir)
    drive.eject()
    assert sim.load_state(state_dir).tray_open
    drive.load()
    assert not sim.load_state(state_dir).tray_open
    sim.remove_disc(state_dir)
    drive.eject()  # an empty drive ejects too
    assert sim.load_state(state_dir).tray_open
    assert drive.media_info().state is MediaState.NONE  # acquiring it loaded the tray
    assert not sim.load_state(state_dir).tray_open


def test_an_unclosed_session_leaves_the_disc_appendable(state_dir: Path, image: Path) -> None:
    drive = sim_drive(state_dir)
    drive.burn(image, close=False, md5=False)
    info = drive.media_info()
    assert info.state is MediaState.APPENDABLE
    assert info.free_blocks > 0
    drive.verify(image)


# --- faults ---------------------------------------------------------------------------------


def test_not_blank(state_dir: Path, image: Path) -> None:
    sim.inject(state_dir, sim.SimFault.NOT_BLANK)
    drive = sim_drive(state_dir)
    machine = OpticalDriveMachine("/dev/sr0")
    with pytest.raises(NotBlank):
        make_disc(drive, machine, image)
    assert machine.state is S.CLOSED
    with pytest.raises(NotBlank) as refused:
        drive.burn(image)
    assert refused.value.state == "closed"
    assert sim.disc_path(state_dir).read_bytes() == bytes(sim.OLD_DISC_BLOCKS * 2048)


def test_too_small(state_dir: Path, image: Path) -> None:
    sim.inject(state_dir, sim.SimFault.TOO_SMALL)
    drive = sim_drive(state_dir)
    machine = OpticalDriveMachine("/dev/sr0")
    with pytest.raises(TooSmall) as small:
        make_disc(drive, machine, image)
    assert small.value.free == sim.SMALL_DISC_BLOCKS * 2048
    assert small.value.needed > image.stat().st_size
    assert machine.state is S.ERROR
    assert drive.media_info().state is MediaState.BLANK  # nothing was written
    assert not sim.disc_path(state_dir).exists()


def test_write_error_mid_burn(state_dir: Path, image: Path) -> None:
    sim.inject(state_dir, sim.SimFault.WRITE_ERROR, 0.5)
    drive = sim_drive(state_dir)
    machine = OpticalDriveMachine("/dev/sr0")
    with pytest.raises(WriteFailed) as failed:
        make_disc(drive, machine, image)
    assert machine.state is S.ERROR
    assert failed.value.exit_code == 5
    assert "Write error" in failed.value.message
    assert "libburn indicates failure with writing" in failed.value.detail
    written = sim.disc_path(state_dir).stat().st_size
    assert 0 < written < image.stat().st_size
    assert drive.media_info().state is MediaState.APPENDABLE  # the spoiled session
    assert machine.fire(E.EJECT) is S.TRAY_OPEN


def test_verify_mismatch(state_dir: Path, image: Path) -> None:
    sim.inject(state_dir, sim.SimFault.VERIFY_MISMATCH)
    drive = sim_drive(state_dir)
    machine = OpticalDriveMachine("/dev/sr0")
    with pytest.raises(VerifyMismatch) as mismatch:
        make_disc(drive, machine, image)
    assert machine.state is S.ERROR
    assert mismatch.value.expected == image_md5(image)
    assert mismatch.value.actual not in ("", mismatch.value.expected)
    assert machine.fire(E.RETRY_TIMEOUT) is S.EMPTY


def test_not_ready_until_the_drive_settles(state_dir: Path) -> None:
    sim.inject(state_dir, sim.SimFault.NOT_READY, 2)
    drive = sim_drive(state_dir)
    machine = OpticalDriveMachine("/dev/sr0")
    for _ in range(2):
        with pytest.raises(NotReady) as not_ready:
            drive.media_info()
        machine.fire(event_for_error(not_ready.value))
        assert machine.state is S.NOT_READY
    machine.fire(E.RETRY_TIMEOUT)
    machine.fire(event_for_media(drive.media_info()))
    assert machine.state is S.BLANK


def test_a_tray_that_will_not_close(state_dir: Path, image: Path) -> None:
    sim.inject(state_dir, sim.SimFault.TRAY_OPEN)
    drive = sim_drive(state_dir)
    with pytest.raises(TrayOpen):
        drive.load()
    with pytest.raises(TrayOpen):
        drive.burn(image)
    sim.close_tray(state_dir)  # the operator pushes it in
    assert drive.media_info().state is MediaState.BLANK


def test_no_medium(state_dir: Path, image: Path) -> None:
    sim.inject(state_dir, sim.SimFault.NO_MEDIUM)
    drive = sim_drive(state_dir)
    machine = OpticalDriveMachine("/dev/sr0")
    info = drive.media_info()
    assert info.state is MediaState.NONE
    machine.fire(event_for_media(info))
    assert machine.state is S.EMPTY
    with pytest.raises(NoMedium):
        drive.burn(image)
    sim.insert_blank(state_dir, media="BD-R sequential recording")
    info = drive.media_info()
    assert info.state is MediaState.BLANK and info.media.family is MediaFamily.BD


def test_a_busy_drive(state_dir: Path) -> None:
    sim.inject(state_dir, sim.SimFault.BUSY)
    with pytest.raises(DriveBusy) as busy:
        sim_drive(state_dir).media_info()
    assert "busy device '/dev/sr0'" in busy.value.message
    sim.clear_faults(state_dir)
    assert sim_drive(state_dir).media_info().state is MediaState.BLANK


def test_the_simulator_cli_injects_faults(state_dir: Path) -> None:
    subprocess.run(
        [
            *sim.command(state_dir)[:2],
            "drivers.optical.simulator",
            "--state",
            str(state_dir),
            "fault",
            "not-ready",
            "--value",
            "1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    assert sim.load_state(state_dir).not_ready_queries == 1


# --- the real xorriso, no simulator -------------------------------------------------------


def test_real_xorriso_on_a_stdio_file(image: Path, tmp_path: Path, file_set: Path) -> None:
    target = tmp_path / "pseudo-drive.iso"
    drive = OpticalDrive.open(DriveOptions(device=f"stdio:{target}", command=("xorriso",)))
    info = drive.media_info()
    assert info.state is MediaState.BLANK and info.media.family is MediaFamily.FILE
    result = drive.burn(image)
    assert drive.media_info().state is MediaState.APPENDABLE  # files cannot be closed
    drive.verify(image, expected_md5=result.md5)
    assert hashes(extract(target, tmp_path / "out")) == hashes(file_set)
    with target.open("r+b") as disc:  # one byte changes on the "disc"
        disc.seek(image.stat().st_size - 100)
        disc.write(b"\x5a")
    with pytest.raises(VerifyMismatch):
        drive.verify(image, expected_md5=result.md5)


def test_a_missing_xorriso(tmp_path: Path) -> None:
    drive = OpticalDrive.open(
        DriveOptions(device="/dev/sr0", command=(str(tmp_path / "no-xorriso"),))
    )
    with pytest.raises(XorrisoMissing):
        drive.media_info()


def test_xorriso_is_installed() -> None:
    assert shutil.which("xorriso"), "install xorriso (scripts/test does)"
