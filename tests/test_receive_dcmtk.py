"""Tier 4: the receiver against DCMTK (echoscu, storescu, dcmconv, dcmcjpeg, dcmcjpls, dcmcrle).

Every test asserts outcomes: DIMSE statuses parsed from DCMTK's logs, files under
data_dir/dicom, the stored file's Part-10 meta and bytes, and rows in the index.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import JPEG2000, JPEG2000Lossless, generate_uid

from tests.conftest import Box, wait_for
from tests.dcmtk import (
    KILN_IMPLEMENTATION_CLASS_UID,
    SC,
    SUCCESS,
    AssociationRejected,
    Contents,
    RawAssociation,
    base_dataset,
    convert,
    dataset_bytes,
    echoscu,
    file_meta,
    image,
    instance_path,
    module_box,
    parse_verbose,
    save,
    start_storescu,
    start_without_probe,
    storescu,
    write_images,
)

CT = "1.2.840.10008.5.1.4.1.1.2"
CSA_NON_IMAGE = "1.3.12.2.1107.5.9.1"


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    yield from module_box(tmp_path_factory, "receive-dcmtk")


def assoc_states(box: Box, calling: str) -> list[str]:
    """The states of `calling`'s association rows, once none is 'open' any more.

    The box answers A-RELEASE-RQ before it records the release, so a peer may exit a
    moment before its row says so: wait (briefly) for that, then report.
    """

    def rows() -> list[str]:
        with box.db() as conn:
            return [
                r[0]
                for r in conn.execute(
                    "SELECT state FROM associations WHERE calling_ae = ? ORDER BY id", (calling,)
                )
            ]

    wait_for(lambda: "open" not in rows(), timeout=10)
    return rows()


# -- verification ----------------------------------------------------------------------------


def test_echoscu_is_answered(shared: Box) -> None:
    result = echoscu(shared.port, aet="ECHOTEST")
    assert result.returncode == 0, result.output
    assert "Received Echo Response (Success)" in result.output
    assert assoc_states(shared, "ECHOTEST") == ["released"]


def test_echoscu_to_an_unknown_called_ae_is_rejected(shared: Box) -> None:
    box = shared
    before = box.count("SELECT count(*) FROM associations")
    contents = Contents.of(box)
    result = echoscu(box.port, aet="WRONGCALL", aec="NOTKILN")
    assert result.returncode != 0
    assert "Association Rejected" in result.output, result.output
    assert "Rejected Permanent" in result.output
    assert "Called AE Title Not Recognized" in result.output
    # A rejected association is not an association: no row, nothing indexed.
    assert box.count("SELECT count(*) FROM associations") == before
    assert assoc_states(box, "WRONGCALL") == []
    assert Contents.of(box) == contents


# -- every transfer syntax, stored exactly as received ----------------------------------------


def _base16(folder: Path) -> Path:
    return save(image(CT, modality="CT", bits=16), folder / "base16.dcm")


def _base8(folder: Path) -> Path:
    return save(image(SC, modality="OT", bits=8), folder / "base8.dcm")


def _rgb8(folder: Path) -> Path:
    return save(image(SC, modality="OT", bits=8, rgb=True), folder / "rgb8.dcm")


def _j2k(folder: Path, lossless: bool) -> Path:
    ds = image(CT, modality="CT", bits=16)
    if lossless:
        ds.compress(JPEG2000Lossless)
    else:
        ds.compress(JPEG2000, j2k_cr=[10])
    return save(ds, folder / "j2k.dcm")


Maker = Callable[[Path], Path]
TS_CASES: dict[str, tuple[str, Maker, tuple[str, ...]]] = {
    # name: (transfer syntax UID, input maker, storescu options)
    "implicit-le": (
        "1.2.840.10008.1.2",
        lambda d: convert("dcmconv", _base16(d), d / "in.dcm", "+ti"),
        ("-xi",),
    ),
    "explicit-le": ("1.2.840.10008.1.2.1", _base16, ("-xe",)),
    "explicit-be": (
        "1.2.840.10008.1.2.2",
        lambda d: convert("dcmconv", _base16(d), d / "in.dcm", "+tb"),
        ("-xb",),
    ),
    "deflated": (
        "1.2.840.10008.1.2.1.99",
        lambda d: convert("dcmconv", _base16(d), d / "in.dcm", "+td"),
        ("-xd",),
    ),
    "jpeg-baseline-mono": (
        "1.2.840.10008.1.2.4.50",
        lambda d: convert("dcmcjpeg", _base8(d), d / "in.dcm", "+eb"),
        ("-xy",),
    ),
    "jpeg-baseline-rgb": (
        "1.2.840.10008.1.2.4.50",
        lambda d: convert("dcmcjpeg", _rgb8(d), d / "in.dcm", "+eb"),
        ("-xy",),
    ),
    "jpeg-extended": (
        "1.2.840.10008.1.2.4.51",
        lambda d: convert("dcmcjpeg", _base16(d), d / "in.dcm", "+ee"),
        ("-xx",),
    ),
    "jpeg-lossless-sv1": (
        "1.2.840.10008.1.2.4.70",
        lambda d: convert("dcmcjpeg", _base16(d), d / "in.dcm", "+e1"),
        ("-xs",),
    ),
    "jpeg-ls-lossless": (
        "1.2.840.10008.1.2.4.80",
        lambda d: convert("dcmcjpls", _base16(d), d / "in.dcm", "+el"),
        ("-xt",),
    ),
    "jpeg-ls-near-lossless": (
        "1.2.840.10008.1.2.4.81",
        lambda d: convert("dcmcjpls", _base16(d), d / "in.dcm", "+en"),
        ("-xu",),
    ),
    # DCMTK has no JPEG 2000 encoder: pydicom + pylibjpeg-openjpeg make the input, and
    # storescu still sends it, proposing the J2K syntax.
    "jpeg2000-lossless": ("1.2.840.10008.1.2.4.90", lambda d: _j2k(d, True), ("-xv",)),
    "jpeg2000": ("1.2.840.10008.1.2.4.91", lambda d: _j2k(d, False), ("-xw",)),
    "rle": (
        "1.2.840.10008.1.2.5",
        lambda d: convert("dcmcrle", _base16(d), d / "in.dcm"),
        ("-xr",),
    ),
}


def expected_on_wire(path: Path, transfer_syntax: str) -> bytes:
    """The dataset bytes storescu puts on the wire for an input file in that syntax.

    storescu sends the dataset in the file's own syntax unchanged, except that it
    re-deflates a deflated one (same zlib level as dcmconv, so the same stream) and pads
    that stream to even length (PS3.5 A.5): dcmconv leaves it odd.
    """
    data = dataset_bytes(path)
    if transfer_syntax == "1.2.840.10008.1.2.1.99" and len(data) % 2:
        data += b"\x00"
    return data


@pytest.mark.parametrize("case", list(TS_CASES))
def test_storescu_each_transfer_syntax_is_stored_as_received(
    shared: Box, tmp_path: Path, case: str
) -> None:
    box = shared
    transfer_syntax, make, options = TS_CASES[case]
    source = make(tmp_path)
    sent = dcmread(source)
    assert sent.file_meta.TransferSyntaxUID == transfer_syntax  # the input is what we think

    run = storescu(box.port, [source], "-R", *options, aet="TSSCU")

    assert run.returncode == 0, run.output
    assert run.statuses == [SUCCESS], run.output
    stored = instance_path(box.data_dir, sent)
    assert stored.parent.is_dir()
    assert list(stored.parent.iterdir()) == [stored]
    meta = file_meta(stored)
    assert meta.TransferSyntaxUID == transfer_syntax
    assert str(meta.SourceApplicationEntityTitle).strip() == "TSSCU"
    assert meta.ImplementationClassUID == KILN_IMPLEMENTATION_CLASS_UID
    assert meta.MediaStorageSOPClassUID == sent.SOPClassUID
    assert meta.MediaStorageSOPInstanceUID == sent.SOPInstanceUID
    assert dataset_bytes(stored) == expected_on_wire(source, transfer_syntax)
    if transfer_syntax == "1.2.840.10008.1.2.1.99":
        inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        original = zlib.decompressobj(-zlib.MAX_WBITS)
        assert inflate.decompress(dataset_bytes(stored)) == original.decompress(
            dataset_bytes(source)
        )
    # The stored file is a DICOM file a toolkit reads back whole.
    assert dcmread(stored).SOPInstanceUID == sent.SOPInstanceUID
    with box.db() as conn:
        rows = conn.execute(
            "SELECT * FROM instances WHERE sop_instance_uid = ?", (sent.SOPInstanceUID,)
        ).fetchall()
    assert len(rows) == 1
    row = rows[0]
    assert row["sop_class_uid"] == sent.SOPClassUID
    assert row["transfer_syntax"] == transfer_syntax
    assert row["calling_ae"] == "TSSCU"
    assert row["size"] == stored.stat().st_size
    assert row["crc32"] == zlib.crc32(stored.read_bytes())
    assert box.data_dir / row["path"] == stored
    assert box.partials() == []


# -- many SOP classes in one association ---------------------------------------------------


def _mixed_study(folder: Path) -> dict[str, Path]:
    """One instance of each of eleven SOP classes (one private), all in one study."""
    study = generate_uid()
    made: dict[str, Dataset] = {
        "1.2.840.10008.5.1.4.1.1.2": image(CT, modality="CT", size=16, study_uid=study),
        "1.2.840.10008.5.1.4.1.1.4": image(
            "1.2.840.10008.5.1.4.1.1.4", modality="MR", size=16, study_uid=study
        ),
        "1.2.840.10008.5.1.4.1.1.6.1": image(
            "1.2.840.10008.5.1.4.1.1.6.1", modality="US", size=16, bits=8, rgb=True, study_uid=study
        ),
        "1.2.840.10008.5.1.4.1.1.1": image(
            "1.2.840.10008.5.1.4.1.1.1", modality="CR", size=16, study_uid=study
        ),
        "1.2.840.10008.5.1.4.1.1.1.1": image(
            "1.2.840.10008.5.1.4.1.1.1.1", modality="DX", size=16, study_uid=study
        ),
        SC: image(SC, modality="OT", size=16, bits=8, study_uid=study),
    }
    dose = image("1.2.840.10008.5.1.4.1.1.481.2", modality="RTDOSE", size=16, study_uid=study)
    dose.DoseUnits, dose.DoseType, dose.DoseSummationType = "GY", "PHYSICAL", "PLAN"
    dose.DoseGridScaling = "0.001"
    made[dose.SOPClassUID] = dose
    pdf = base_dataset("1.2.840.10008.5.1.4.1.1.104.1", modality="DOC", study_uid=study)
    pdf.MIMETypeOfEncapsulatedDocument = "application/pdf"
    pdf.DocumentTitle = "Report"
    pdf.EncapsulatedDocument = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    made[pdf.SOPClassUID] = pdf
    sr = base_dataset("1.2.840.10008.5.1.4.1.1.88.11", modality="SR", study_uid=study)
    sr.ValueType, sr.CompletionFlag, sr.VerificationFlag = "CONTAINER", "COMPLETE", "UNVERIFIED"
    made[sr.SOPClassUID] = sr
    gsps = base_dataset("1.2.840.10008.5.1.4.1.1.11.1", modality="PR", study_uid=study)
    gsps.ContentLabel = "GSPS"
    gsps.PresentationCreationDate = "20261202"
    made[gsps.SOPClassUID] = gsps
    csa = base_dataset(CSA_NON_IMAGE, modality="MR", study_uid=study)
    csa.add_new(0x00290010, "LO", "SIEMENS CSA NON-IMAGE")
    csa.add_new(0x00291008, "CS", "SPEC NUM 4")
    csa.add_new(0x00291020, "OB", b"SV10" + bytes(60))
    made[CSA_NON_IMAGE] = csa
    return {uid: save(ds, folder / f"{i:02d}.dcm") for i, (uid, ds) in enumerate(made.items())}


def _profile(path: Path, sop_classes: list[str]) -> Path:
    """A storescu association profile (storescu.cfg syntax) proposing exactly these classes.

    storescu -R refuses a private class it does not know (1.3.12.2.1107.5.9.1); with a
    profile from --config-file it proposes whatever UIDs the profile names.
    """
    lines = [
        "[[TransferSyntaxes]]",
        "[Uncompressed]",
        "TransferSyntax1 = LittleEndianExplicit",
        "TransferSyntax2 = LittleEndianImplicit",
        "[[PresentationContexts]]",
        "[Mixed]",
    ]
    lines += [
        f"PresentationContext{i + 1} = {uid}\\Uncompressed" for i, uid in enumerate(sop_classes)
    ]
    lines += ["[[Profiles]]", "[Mixed]", "PresentationContexts = Mixed"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_many_sop_classes_in_one_association(shared: Box, tmp_path: Path) -> None:
    box = shared
    files = _mixed_study(tmp_path / "in")
    profile = _profile(tmp_path / "mixed.cfg", list(files))

    run = storescu(box.port, list(files.values()), "-xf", str(profile), "Mixed", aet="MIXSCU")

    assert run.returncode == 0, run.output
    assert run.statuses == [SUCCESS] * len(files), run.output
    assert assoc_states(box, "MIXSCU") == ["released"]  # one association carried them all
    with box.db() as conn:
        indexed = dict(
            conn.execute(
                "SELECT sop_instance_uid, sop_class_uid FROM instances WHERE calling_ae = 'MIXSCU'"
            )
        )
    for sop_class, path in files.items():
        ds = dcmread(path)
        assert indexed.get(ds.SOPInstanceUID) == sop_class
        stored = instance_path(box.data_dir, ds)
        assert stored.is_file()
        assert file_meta(stored).MediaStorageSOPClassUID == sop_class
        assert dataset_bytes(stored) == dataset_bytes(path)
    assert len(indexed) == len(files) == 11
    study = dcmread(files[CT]).StudyInstanceUID
    assert len(list((box.data_dir / "dicom" / study).rglob("*.dcm"))) == 11


# -- parallel associations ------------------------------------------------------------------


def test_parallel_associations_all_stored(shared: Box, tmp_path: Path) -> None:
    box = shared
    before = Contents.of(box)
    senders = 4
    per_sender = 50
    batches = [write_images(tmp_path / f"in{n}", per_sender, size=16) for n in range(senders)]
    processes = [start_storescu(box, files, f"PAR{n}") for n, files in enumerate(batches)]
    outputs = [p.communicate(timeout=240)[0] for p in processes]

    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
        responses = parse_verbose(output)
        assert [status for _, status in responses] == ["Success"] * per_sender, output
    total = senders * per_sender
    after = Contents.of(box)
    assert len(after.files - before.files) == total
    assert after.instances - before.instances == total
    assert (
        box.count("SELECT count(DISTINCT path) FROM instances WHERE calling_ae LIKE 'PAR%'")
        == total
    )
    assert box.partials() == []
    for n in range(senders):
        assert assoc_states(box, f"PAR{n}") == ["released"]
        # Each instance is indexed against the association that carried it.
        carried = box.count(
            "SELECT count(*) FROM instances i JOIN associations a ON a.id = i.association_id "
            "WHERE a.calling_ae = ? AND i.calling_ae = a.calling_ae",
            f"PAR{n}",
        )
        assert carried == per_sender


# -- a study over two associations becomes complete once -----------------------------------


def test_study_in_two_associations_completes_once(shared: Box, tmp_path: Path) -> None:
    box = shared
    study = generate_uid()
    first = write_images(tmp_path / "a", 3, study_uid=study, size=16)
    second = write_images(tmp_path / "b", 2, study_uid=study, size=16)

    run1 = storescu(box.port, first, aet="PART1")
    run2 = storescu(box.port, second, aet="PART2")

    assert run1.statuses == [SUCCESS] * 3, run1.output
    assert run2.statuses == [SUCCESS] * 2, run2.output
    assert assoc_states(box, "PART1") == ["released"]
    assert assoc_states(box, "PART2") == ["released"]
    assert box.count("SELECT count(*) FROM instances WHERE study_uid = ?", study) == 5
    assert box.count("SELECT count(*) FROM series WHERE study_uid = ?", study) == 2

    def complete() -> bool:
        return (
            box.count(
                "SELECT count(*) FROM studies WHERE study_uid = ? AND state = 'complete'", study
            )
            == 1
        )

    assert wait_for(complete, timeout=20), "study never became complete"
    with box.db() as conn:
        completed_at = conn.execute(
            "SELECT completed_at FROM studies WHERE study_uid = ?", (study,)
        ).fetchone()[0]
        last = conn.execute(
            "SELECT max(received_at) FROM instances WHERE study_uid = ?", (study,)
        ).fetchone()[0]
    assert completed_at - last >= 2.0  # study_idle_seconds in the test config
    time.sleep(3.0)  # several more housekeeping passes must not complete it again
    assert (
        box.count(
            "SELECT count(*) FROM study_events WHERE study_uid = ? AND event = 'complete'", study
        )
        == 1
    )


# -- duplicate policies ---------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["keep-first", "overwrite", "keep-both"])
def test_duplicate_policy(box_factory: Callable[..., Box], tmp_path: Path, policy: str) -> None:
    box = box_factory({"storage": {"duplicates": policy}})
    first = image(CT, modality="CT", size=16, seed=1)
    second = image(
        CT,
        modality="CT",
        size=16,
        seed=2,
        study_uid=first.StudyInstanceUID,
        series_uid=first.SeriesInstanceUID,
        sop_uid=first.SOPInstanceUID,
    )
    assert first.PixelData != second.PixelData
    one = save(first, tmp_path / "1" / "x.dcm")
    two = save(second, tmp_path / "2" / "x.dcm")

    run1 = storescu(box.port, [one], aet="DUP")
    run2 = storescu(box.port, [two], aet="DUP")

    assert run1.statuses == [SUCCESS], run1.output
    assert run2.statuses == [SUCCESS], run2.output
    rows = box.count(
        "SELECT count(*) FROM instances WHERE sop_instance_uid = ?", first.SOPInstanceUID
    )
    files = box.files()
    if policy == "keep-first":
        assert rows == 1
        assert files == [instance_path(box.data_dir, first)]
        assert dataset_bytes(files[0]) == dataset_bytes(one)
    elif policy == "overwrite":
        assert rows == 1
        assert files == [instance_path(box.data_dir, first)]
        assert dataset_bytes(files[0]) == dataset_bytes(two)
        with box.db() as conn:
            row = conn.execute("SELECT size, crc32 FROM instances").fetchone()
        assert row["crc32"] == zlib.crc32(files[0].read_bytes())
    else:
        assert rows == 2
        assert files == sorted(
            [instance_path(box.data_dir, first), instance_path(box.data_dir, first, copy=1)]
        )
        assert {dataset_bytes(f) for f in files} == {dataset_bytes(one), dataset_bytes(two)}
        with box.db() as conn:
            paths = {box.data_dir / r[0] for r in conn.execute("SELECT path FROM instances")}
        assert paths == set(files)
    assert box.partials() == []


# -- access control -------------------------------------------------------------------------


def test_calling_ae_allow_list(box_factory: Callable[..., Box], tmp_path: Path) -> None:
    box = box_factory(start=False, overrides={"dicom": {"calling_ae_allow": ["GOODSCU"]}})
    start_without_probe(box)
    files = write_images(tmp_path / "in", 1, size=16)

    bad = storescu(box.port, files, aet="BADSCU")
    assert bad.returncode != 0
    assert "Association Rejected" in bad.output, bad.output
    assert "Calling AE Title Not Recognized" in bad.output
    assert bad.responses == []
    assert box.count("SELECT count(*) FROM instances") == 0
    assert assoc_states(box, "BADSCU") == []

    good = storescu(box.port, files, aet="GOODSCU")
    assert good.returncode == 0, good.output
    assert good.statuses == [SUCCESS]
    assert box.count("SELECT count(*) FROM instances WHERE calling_ae = 'GOODSCU'") == 1
    assert len(box.files()) == 1


@pytest.mark.parametrize(
    ("networks", "accepted"),
    [
        (["10.0.0.0/8"], False),
        (["127.0.0.0/8"], True),
        (["192.168.1.0/24", "127.0.0.1/32"], True),
    ],
)
def test_host_allow_list(
    box_factory: Callable[..., Box], tmp_path: Path, networks: list[str], accepted: bool
) -> None:
    box = box_factory(start=False, overrides={"dicom": {"host_allow": networks}})
    start_without_probe(box)
    files = write_images(tmp_path / "in", 1, size=16)

    run = storescu(box.port, files, aet="HOSTSCU")

    if accepted:
        assert run.returncode == 0, run.output
        assert run.statuses == [SUCCESS]
        assert box.count("SELECT count(*) FROM instances") == 1
    else:
        assert run.returncode != 0
        assert "Association Rejected" in run.output, run.output
        assert "Rejected Permanent" in run.output
        assert run.responses == []
        assert box.count("SELECT count(*) FROM instances") == 0
        assert box.count("SELECT count(*) FROM associations") == 0
        assert box.files() == []


def test_max_associations(box_factory: Callable[..., Box]) -> None:
    box = box_factory({"dicom": {"max_associations": 1}})
    # A raw-socket SCU (tests/dcmtk.py) stands in here: no DCMTK tool can hold an
    # association open and idle while another one is attempted.
    held = RawAssociation(
        box.port, [(1, "1.2.840.10008.1.1", ["1.2.840.10008.1.2"])], calling="HOLDER"
    )
    try:
        assert held.echo(1).status == SUCCESS  # the slot is really in use
        second = echoscu(box.port, aet="SECOND")
        assert second.returncode != 0
        assert "Association Rejected" in second.output, second.output
        assert "Rejected Transient" in second.output
        assert "Local Limit Exceeded" in second.output
        assert assoc_states(box, "SECOND") == []
        with pytest.raises(AssociationRejected) as rejected:
            RawAssociation(
                box.port, [(1, "1.2.840.10008.1.1", ["1.2.840.10008.1.2"])], calling="THIRD"
            )
        assert (rejected.value.result, rejected.value.source, rejected.value.reason) == (2, 3, 2)
    finally:
        held.release()
    assert assoc_states(box, "HOLDER") == ["released"]
    # The slot is given back when the association ends.
    assert wait_for(lambda: echoscu(box.port, aet="AFTER").returncode == 0, timeout=10)
