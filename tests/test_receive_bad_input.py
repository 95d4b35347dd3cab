"""Tier 4: bad input gets a clear error and changes nothing (DESIGN.md, rules of the house).

DCMTK storescu is the peer wherever it can produce the input. It cannot send a truncated
or malformed dataset (it refuses to read one: "premature end of stream"), a dataset whose
SOP Class differs from the command (it takes the command's from the dataset), a dataset
without SOP Class/Instance UID, or stop half-way through a dataset: those cases use the
raw-socket client in tests/dcmtk.py, which writes the PDUs of PS3.8 by hand.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import struct
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.uid import UID, generate_uid

from tests.conftest import Box, alive, children, wait_for
from tests.dcmtk import (
    EXPLICIT_LE,
    SUCCESS,
    Contents,
    RawAssociation,
    c_store_rq,
    dataset_bytes,
    echoscu,
    file_meta,
    image,
    instance_path,
    module_box,
    parse_verbose,
    save,
    start_storescu,
    storescu,
    tree,
    write_images,
)

CT = "1.2.840.10008.5.1.4.1.1.2"
MR = "1.2.840.10008.5.1.4.1.1.4"


def is_failure(status: int) -> bool:
    """A C-STORE failure: Cannot Understand (0xCxxx), refused (0xA7xx) or error (0xA9xx)."""
    return 0xC000 <= status <= 0xCFFF or 0xA700 <= status <= 0xA7FF or 0xA900 <= status <= 0xA9FF


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    yield from module_box(tmp_path_factory, "receive-bad-input")


def assert_nothing_stored(box: Box) -> None:
    """For a box of the test's own: it holds nothing at all."""
    assert box.files() == []
    assert box.count("SELECT count(*) FROM instances") == 0
    assert box.count("SELECT count(*) FROM studies") == 0
    assert box.partials() == []


def assert_unchanged(box: Box, before: Contents) -> None:
    """For the shared box: no file, row or study was added, no partial file is left."""
    assert Contents.of(box) == before
    assert box.partials() == []


def explicit_le(tag: int, vr: bytes, value: bytes) -> bytes:
    """One Explicit VR Little Endian element, written by hand (so it can be wrong)."""
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT"):
        return struct.pack("<HH2s2xL", tag >> 16, tag & 0xFFFF, vr, len(value)) + value
    return struct.pack("<HH2sH", tag >> 16, tag & 0xFFFF, vr, len(value)) + value


def raw_store(
    box: Box, sop_class: str, sop_instance: str, data: bytes, *, context_class: str | None = None
) -> tuple[int, str]:
    """Send one dataset over a raw association; returns (status, error comment)."""
    assoc = RawAssociation(
        box.port, [(1, context_class or sop_class, [EXPLICIT_LE])], calling="RAWSCU"
    )
    try:
        assert assoc.accepted == {1: EXPLICIT_LE}
        response = assoc.store(1, sop_class, sop_instance, data)
        assert response.command_field == 0x8001
    finally:
        assoc.release()
    return response.status, response.comment


def uid_bytes(value: str) -> bytes:
    raw = value.encode()
    return raw + b"\x00" if len(raw) % 2 else raw


def head(extra: dict[int, bytes] | None = None, sop_class: str = CT) -> tuple[str, bytes]:
    """(SOP Instance UID, a valid Explicit VR LE dataset head up to Instance Number).

    `extra` adds raw element bytes in tag order, so a damaged element can sit inside the
    head (where the box reads) as well as after it.
    """
    sop_uid = generate_uid()
    elements = {
        0x00080016: explicit_le(0x00080016, b"UI", uid_bytes(sop_class)),
        0x00080018: explicit_le(0x00080018, b"UI", uid_bytes(sop_uid)),
        0x00080060: explicit_le(0x00080060, b"CS", b"CT"),
        0x00100010: explicit_le(0x00100010, b"PN", b"Bad^Input "),
        0x00100020: explicit_le(0x00100020, b"LO", b"PID1"),
        0x0020000D: explicit_le(0x0020000D, b"UI", uid_bytes(generate_uid())),
        0x0020000E: explicit_le(0x0020000E, b"UI", uid_bytes(generate_uid())),
        0x00200013: explicit_le(0x00200013, b"IS", b"1 "),
        **(extra or {}),
    }
    return sop_uid, b"".join(elements[tag] for tag in sorted(elements))


def _undefined_sequence(tag: int, *, terminated: bool) -> bytes:
    """A sequence of undefined length with one item of undefined length."""
    body = (
        struct.pack("<HHL", 0xFFFE, 0xE000, 0xFFFFFFFF)
        + explicit_le(0x00400009, b"SH", b"SPS1")
        + struct.pack("<HHL", 0xFFFE, 0xE00D, 0)
    )
    if terminated:
        body += struct.pack("<HHL", 0xFFFE, 0xE0DD, 0)
    else:
        body = body[:-8]  # neither the item nor the sequence ever ends
    return struct.pack("<HH2s2xL", tag >> 16, tag & 0xFFFF, b"SQ", 0xFFFFFFFF) + body


ROWS = explicit_le(0x00280010, b"US", struct.pack("<H", 64))
GARBAGE = random.Random(7).randbytes(4000)


# -- truncated and malformed datasets ------------------------------------------------------


@pytest.mark.parametrize("where", ["in-half", "in-header"])
def test_truncated_dataset_is_refused(shared: Box, tmp_path: Path, where: str) -> None:
    box = shared
    before = Contents.of(box)
    ds = image(CT, modality="CT", size=64)
    whole = dataset_bytes(save(ds, tmp_path / "whole.dcm"))
    cut = len(whole) // 2 if where == "in-half" else 150
    assert cut < len(whole) - 1000

    status, comment = raw_store(box, CT, ds.SOPInstanceUID, whole[:cut])

    assert 0xC000 <= status <= 0xCFFF, f"status 0x{status:04X} ({comment})"
    assert comment
    assert_unchanged(box, before)


MALFORMED: dict[str, Callable[[], tuple[str, bytes]]] = {
    # seeded random bytes right where the element after the head should start
    "garbage-after-header": lambda: _append(head(), GARBAGE),
    # one more valid element (Rows), then garbage: the head itself is perfect
    "garbage-after-image-attributes": lambda: _append(head({0x00280010: ROWS}), GARBAGE),
    # an element whose VR is not two letters, inside the head
    "bad-vr-in-head": lambda: head({0x00180015: explicit_le(0x00180015, b"\x01\x02", b"HEAD")}),
    # the same after the head
    "bad-vr-after-head": lambda: head(
        {0x00280030: explicit_le(0x00280030, b"\x01\x02", b"0.5\\0.5 ")}
    ),
    # an element that claims more bytes than the dataset has, inside the head
    "length-past-end-in-head": lambda: head(
        {0x00180015: struct.pack("<HH2sH", 0x0018, 0x0015, b"CS", 0x7FF0) + b"HEAD"}
    ),
    # Pixel Data that claims 8 KiB but brings 100 bytes
    "length-past-end-in-pixels": lambda: _append(
        head(), struct.pack("<HH2s2xL", 0x7FE0, 0x0010, b"OW", 8192) + bytes(100)
    ),
    # sequences of undefined length that never end, inside and after the head
    "unterminated-sequence-in-head": lambda: head(
        {0x00081110: _undefined_sequence(0x00081110, terminated=False)}
    ),
    "unterminated-sequence-after-head": lambda: _append(
        head(), _undefined_sequence(0x00400275, terminated=False)
    ),
}


def _append(made: tuple[str, bytes], tail: bytes) -> tuple[str, bytes]:
    return made[0], made[1] + tail


@pytest.mark.parametrize("case", list(MALFORMED))
def test_malformed_dataset_is_refused(shared: Box, case: str) -> None:
    box = shared
    before = Contents.of(box)
    sop_uid, data = MALFORMED[case]()

    status, comment = raw_store(box, CT, sop_uid, data)

    assert 0xC000 <= status <= 0xCFFF, f"status 0x{status:04X} ({comment})"
    assert comment
    assert_unchanged(box, before)
    # The service survives bad input.
    assert echoscu(box.port).returncode == 0


@pytest.mark.parametrize("extra", ["none", "terminated-sequences"])
def test_valid_raw_head_is_stored(shared: Box, extra: str) -> None:
    """Control for the malformed cases: the same hand-written elements, intact, are
    accepted and stored byte for byte."""
    box = shared
    before = Contents.of(box)
    if extra == "none":
        sop_uid, valid = head()
    else:
        sop_uid, valid = _append(
            head({0x00081110: _undefined_sequence(0x00081110, terminated=True)}),
            _undefined_sequence(0x00400275, terminated=True),
        )
    status, comment = raw_store(box, CT, sop_uid, valid)
    assert status == SUCCESS, comment
    added = sorted(Contents.of(box).files - before.files)
    assert len(added) == 1
    assert dataset_bytes(added[0]) == valid
    assert box.count("SELECT count(*) FROM instances WHERE sop_instance_uid = ?", sop_uid) == 1


# -- hostile UIDs ----------------------------------------------------------------------------

HOSTILE: dict[str, tuple[str, str]] = {
    # name: (attribute keyword, value)
    "sop-dotdot-passwd": ("SOPInstanceUID", "../../etc/passwd"),
    "sop-slash-dotdot": ("SOPInstanceUID", "1.2.3/../../x"),
    "sop-65-chars": ("SOPInstanceUID", "1.2." + "3" * 61),
    "sop-letters": ("SOPInstanceUID", "1.2.abc.4"),
    "study-dotdot": ("StudyInstanceUID", "../../../../tmp/kiln-escape"),
    "study-empty": ("StudyInstanceUID", ""),
    "series-absolute": ("SeriesInstanceUID", "/tmp/kiln-escape"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_uids_are_refused(shared: Box, tmp_path: Path, case: str) -> None:
    box = shared
    before = Contents.of(box)
    keyword, value = HOSTILE[case]
    assert len("1.2." + "3" * 61) == 65
    ds = image(CT, modality="CT", size=16)
    setattr(ds, keyword, value)
    if keyword == "SOPInstanceUID":
        ds.file_meta.MediaStorageSOPInstanceUID = UID(value)
    source = save(ds, tmp_path / "in" / "hostile.dcm")
    files_before = tree(tmp_path), tree(box.root)

    run = storescu(box.port, [source], aet="HOSTILE")

    assert len(run.responses) == 1, run.output
    response = run.responses[0]
    assert 0xC000 <= response.status <= 0xCFFF, run.output
    assert response.comment, run.output
    assert "UID" in response.comment
    # Nothing was written anywhere: not in data_dir, not beside it, not in /tmp.
    assert (tree(tmp_path), tree(box.root)) == files_before
    assert not Path("/tmp/kiln-escape").exists()
    assert not any(p.name.startswith("kiln-escape") for p in Path("/tmp").iterdir())
    assert_unchanged(box, before)


# -- missing identifying attributes --------------------------------------------------------


@pytest.mark.parametrize(
    ("keyword", "named"),
    [
        ("StudyInstanceUID", "Study Instance UID"),
        ("SeriesInstanceUID", "Series Instance UID"),
    ],
)
def test_missing_study_or_series_uid_via_storescu(
    shared: Box, tmp_path: Path, keyword: str, named: str
) -> None:
    box = shared
    before = Contents.of(box)
    ds = image(CT, modality="CT", size=16)
    delattr(ds, keyword)
    source = save(ds, tmp_path / "in" / "missing.dcm")

    run = storescu(box.port, [source], aet="MISSING")

    assert len(run.responses) == 1, run.output
    assert 0xC000 <= run.responses[0].status <= 0xCFFF, run.output
    assert named in run.responses[0].comment
    assert "missing" in run.responses[0].comment
    assert_unchanged(box, before)


@pytest.mark.parametrize(
    ("keyword", "named"),
    [
        ("SOPClassUID", "SOP Class UID"),
        ("SOPInstanceUID", "SOP Instance UID"),
    ],
)
def test_missing_sop_uids_via_raw_client(
    shared: Box, tmp_path: Path, keyword: str, named: str
) -> None:
    box = shared
    before = Contents.of(box)
    ds = image(CT, modality="CT", size=16)
    sop_uid = ds.SOPInstanceUID
    delattr(ds, keyword)
    data = dataset_bytes(save(ds, tmp_path / "missing.dcm"))

    status, comment = raw_store(box, CT, sop_uid, data)

    assert 0xC000 <= status <= 0xCFFF, f"status 0x{status:04X} ({comment})"
    assert named in comment
    assert "missing" in comment
    assert_unchanged(box, before)


# -- SOP Class in the dataset differs from the command -------------------------------------


def _mismatched(tmp_path: Path) -> tuple[str, bytes]:
    ds = image(MR, modality="MR", size=16)  # the dataset says MR; the command will say CT
    return ds.SOPInstanceUID, dataset_bytes(save(ds, tmp_path / "mr.dcm"))


def test_sop_class_mismatch_warns_and_stores(shared: Box, tmp_path: Path) -> None:
    box = shared
    before = Contents.of(box)
    sop_uid, data = _mismatched(tmp_path)

    status, comment = raw_store(box, CT, sop_uid, data)

    assert status == 0xB007, f"status 0x{status:04X} ({comment})"
    assert comment
    files = sorted(Contents.of(box).files - before.files)
    assert len(files) == 1
    assert dataset_bytes(files[0]) == data
    assert box.count("SELECT count(*) FROM instances WHERE sop_instance_uid = ?", sop_uid) == 1
    assert box.partials() == []


def test_sop_class_mismatch_file_meta_agrees_with_dataset(shared: Box, tmp_path: Path) -> None:
    """PS3.10 7.1: Media Storage SOP Class UID is the dataset's SOP Class UID, and the
    index and the file must not disagree about what the instance is."""
    box = shared
    before = Contents.of(box)
    sop_uid, data = _mismatched(tmp_path)
    status, _ = raw_store(box, CT, sop_uid, data)
    assert status == 0xB007
    with box.db() as conn:
        indexed = conn.execute(
            "SELECT sop_class_uid FROM instances WHERE sop_instance_uid = ?", (sop_uid,)
        ).fetchone()[0]
    (stored,) = Contents.of(box).files - before.files
    assert dcmread(stored).SOPClassUID == MR
    assert file_meta(stored).MediaStorageSOPClassUID == indexed == MR


def test_sop_class_mismatch_rejected_by_policy(
    box_factory: Callable[..., Box], tmp_path: Path
) -> None:
    box = box_factory({"storage": {"sop_class_mismatch": "reject"}})
    sop_uid, data = _mismatched(tmp_path)

    status, comment = raw_store(box, CT, sop_uid, data)

    assert status == 0xA900, f"status 0x{status:04X} ({comment})"
    assert comment
    assert_nothing_stored(box)


# -- out of disk ----------------------------------------------------------------------------


def test_disk_reserve_gives_out_of_resources(
    box_factory: Callable[..., Box], tmp_path: Path
) -> None:
    free_mb = shutil.disk_usage(tmp_path).free // (1024 * 1024)
    reserve = free_mb + 10 * 1024
    assert reserve <= 1048576, "the file system is too large for the schema's reserve limit"
    box = box_factory({"storage": {"reserve_mb": reserve}})
    files = write_images(tmp_path / "in", 2, size=16)

    run = storescu(box.port, files, "-nh", aet="FULLDISK")

    assert [r.status for r in run.responses] == [0xA700, 0xA700], run.output
    assert all(r.comment for r in run.responses)
    assert_nothing_stored(box)
    assert box.process is not None and box.process.poll() is None
    echo = echoscu(box.port)
    assert echo.returncode == 0, echo.output


# -- the peer gives up half-way -------------------------------------------------------------


def _big_instance(size_mb: int = 50) -> tuple[str, bytes]:
    """A dataset head and Pixel Data of `size_mb` MB (zeros): as big as a real CT series."""
    sop_uid, data = head()
    pixels = size_mb * 1024 * 1024
    return sop_uid, data + struct.pack("<HH2s2xL", 0x7FE0, 0x0010, b"OW", pixels) + bytes(pixels)


@pytest.mark.parametrize("ending", ["a-abort", "tcp-close"])
def test_peer_gives_up_mid_transfer(shared: Box, ending: str) -> None:
    box = shared
    before = Contents.of(box)
    sop_uid, data = _big_instance()
    calling = "QUIT-" + ending.upper()[:8]
    assoc = RawAssociation(box.port, [(1, CT, [EXPLICIT_LE])], calling=calling, max_pdu=262144)
    assoc.send_pdv(1, c_store_rq(CT, sop_uid), command=True, last=True)
    assoc.send_dataset(1, data, upto=len(data) // 2)
    # The box is streaming it to an unnamed file in incoming/: the test sees it got that far.
    assert wait_for(lambda: any(size > len(data) // 4 for size in box.receiving()))
    if ending == "a-abort":
        assoc.abort()
    else:
        assoc.close()

    assert wait_for(
        lambda: (
            box.count(
                "SELECT count(*) FROM associations WHERE calling_ae = ? AND state != 'open'",
                calling,
            )
            == 1
        )
    )
    with box.db() as conn:
        states = [
            r[0]
            for r in conn.execute("SELECT state FROM associations WHERE calling_ae = ?", (calling,))
        ]
    assert states == ["aborted"]
    assert wait_for(lambda: box.partials() == [] and box.receiving() == [])
    assert_unchanged(box, before)


# -- the role is killed or stopped during a send ---------------------------------------------


def _successes(output: str, uids: dict[str, str]) -> set[str]:
    return {uids[file] for file, status in parse_verbose(output) if status == "Success"}


def _index_matches_disk(box: Box) -> set[str]:
    """Every row has its file and every file its row; returns the indexed instance UIDs."""
    with box.db() as conn:
        rows = conn.execute("SELECT sop_instance_uid, path FROM instances").fetchall()
    on_disk = set(box.files())
    indexed = {box.data_dir / r["path"] for r in rows}
    assert indexed == on_disk
    assert len(rows) == len(on_disk)
    return {r["sop_instance_uid"] for r in rows}


def test_sigkill_during_send_loses_nothing_acknowledged(box: Box, tmp_path: Path) -> None:
    files = write_images(tmp_path / "in", 300, size=64)
    uids = {str(f): str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files}
    sender = start_storescu(box, files, "KILLSCU")
    assert wait_for(
        lambda: box.count("SELECT count(*) FROM instances") >= 20, timeout=60, interval=0.02
    )
    assert box.process is not None
    # Kill the role and its workers at once, as systemd's control-group kill (or a
    # crash of the whole service) would: nobody gets to clean up.
    role = box.process.pid
    for pid in [role, *children(role)]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    box.process.wait(10)
    output = sender.communicate(timeout=60)[0]
    acknowledged = _successes(output, uids)
    assert 0 < len(acknowledged) < 300, output  # the kill really was mid-send

    box.start()

    indexed = _index_matches_disk(box)
    assert acknowledged <= indexed  # nothing acknowledged is ever lost
    for file in files:
        ds = dcmread(file, stop_before_pixels=True)
        if str(ds.SOPInstanceUID) in acknowledged:
            stored = instance_path(box.data_dir, ds)
            assert dataset_bytes(stored) == dataset_bytes(file)
    assert box.partials() == []
    with box.db() as conn:
        states = [
            r[0]
            for r in conn.execute("SELECT state FROM associations WHERE calling_ae = 'KILLSCU'")
        ]
    assert states == ["aborted"]


def test_workers_do_not_outlive_a_killed_role(box: Box) -> None:
    """SIGKILL of the role process alone (kill -9 <pid>): its workers must not go on
    serving the port as orphans, or the restarted role cannot listen again."""
    assert box.process is not None
    workers = [
        pid
        for pid in children(box.process.pid)
        if "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_text()
    ]
    assert workers
    box.process.kill()
    box.process.wait(10)
    try:
        assert wait_for(lambda: not any(alive(pid) for pid in workers), timeout=15), (
            "orphaned workers still running after their role was killed: "
            + "; ".join(Path(f"/proc/{p}/stat").read_text()[:60] for p in workers if alive(p))
        )
    finally:
        for pid in workers:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
    box.start()
    assert echoscu(box.port).returncode == 0


def test_sigterm_during_send_stops_cleanly(box: Box, tmp_path: Path) -> None:
    files = write_images(tmp_path / "in", 300, size=64)
    uids = {str(f): str(dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files}
    sender = start_storescu(box, files, "TERMSCU")
    assert wait_for(
        lambda: box.count("SELECT count(*) FROM instances") >= 20, timeout=60, interval=0.02
    )

    started = time.monotonic()
    code = box.stop(signal.SIGTERM, timeout=60)
    elapsed = time.monotonic() - started

    assert code == 0
    assert elapsed < 5.0 + 5.0, f"took {elapsed:.1f} s with shutdown_grace 5 s"
    output = sender.communicate(timeout=60)[0]
    assert box.partials() == []
    indexed = _index_matches_disk(box)
    assert _successes(output, uids) <= indexed
    assert box.count("SELECT count(*) FROM associations WHERE state = 'open'") == 0
