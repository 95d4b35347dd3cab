"""Tier 5: file-sets exported from a real box, checked by tools that share no code with it.

Studies are received with DCMTK storescu in every transfer syntax the box stores, then
exported with `appliance export folder` under several profiles. Each file-set must pass
dicom3tools dciodvfy (DICOMDIR and every instance, no error), DCMTK dcmmkdir's checks for
the same profile (every instance acceptable, our DICOMDIR read and updated without a
change to its records), and read back with pydicom's FileSet equal to what was sent.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate, generate_frames
from pydicom.fileset import FileSet
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from appliance import IMPLEMENTATION_CLASS_UID
from appliance.media.profiles import Disposition, Profile
from appliance.media.transcode import decodable
from tests.conftest import APPLIANCE, Box
from tests.dcmtk import module_box, run_tool, storescu
from tests.media_data import (
    DCMTK_ENCODINGS,
    Patient,
    ct,
    j2k,
    key_objects,
    reference,
    rgb_secondary_capture,
    saved,
    text_report,
)

DEFLATED = "1.2.840.10008.1.2.1.99"
EXPLICIT_LE = str(ExplicitVRLittleEndian)


@dataclass
class Sent:
    """A study as sent: its UID and, per SOP Instance UID, the file storescu read."""

    study_uid: str
    files: dict[str, Path] = field(default_factory=dict)
    syntaxes: dict[str, str] = field(default_factory=dict)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    yield from module_box(tmp_path_factory, "media-fileset")


def send(box: Box, sent: Sent, files: Sequence[tuple[Path, str]]) -> None:
    """storescu, one association per transfer syntax (it proposes the one it is told)."""
    options = {
        "1.2.840.10008.1.2": "-xi",
        "1.2.840.10008.1.2.1": "-xe",
        "1.2.840.10008.1.2.2": "-xb",
        DEFLATED: "-xd",
        "1.2.840.10008.1.2.4.50": "-xy",
        "1.2.840.10008.1.2.4.51": "-xx",
        "1.2.840.10008.1.2.4.70": "-xs",
        "1.2.840.10008.1.2.4.80": "-xt",
        "1.2.840.10008.1.2.4.90": "-xv",
        "1.2.840.10008.1.2.4.91": "-xw",
        "1.2.840.10008.1.2.5": "-xr",
    }
    by_syntax: dict[str, list[Path]] = {}
    for path, syntax in files:
        by_syntax.setdefault(syntax, []).append(path)
        uid = str(dcmread(path, stop_before_pixels=True).SOPInstanceUID)
        sent.files[uid] = path
        sent.syntaxes[uid] = syntax
    for syntax, paths in by_syntax.items():
        run = storescu(box.port, paths, options[syntax], aet="MEDIA_TEST")
        assert run.returncode == 0, run.output
        assert run.statuses == [0] * len(paths), run.output
    with box.db() as conn:
        stored = dict(
            conn.execute(
                "SELECT sop_instance_uid, transfer_syntax FROM instances WHERE study_uid = ?",
                (sent.study_uid,),
            ).fetchall()
        )
    assert stored == sent.syntaxes  # stored exactly as sent, so the export decodes for real


@pytest.fixture(scope="module")
def latin(shared: Box, tmp_path_factory: pytest.TempPathFactory) -> Sent:
    """ISO_IR 100: CT in every syntax, an RGB capture in JPEG, a key object note, an SR."""
    folder = tmp_path_factory.mktemp("latin")
    patient = Patient("Müller^Jürgen", "PID-LATIN", "ISO_IR 100", sex="M")
    sent = Sent(str(generate_uid()))
    series = str(generate_uid())
    plain = [ct(patient, sent.study_uid, series, number=n) for n in (1, 2, 3)]
    files = [(saved(ds, folder, f"ct{n}"), EXPLICIT_LE) for n, ds in enumerate(plain)]
    for number, syntax in enumerate(DCMTK_ENCODINGS, start=2):
        if syntax in ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"):
            # 8-bit data: GDCM, the JPEG decoder Kiln ships, cannot decode 12-bit lossy JPEG.
            ds = rgb_secondary_capture(
                patient,
                sent.study_uid,
                generate_uid(),
                series_number=number,
                rgb=syntax.endswith(".50"),
            )
        else:
            ds = ct(patient, sent.study_uid, generate_uid(), series_number=number)
        files.append((saved(ds, folder, f"s{number}", syntax), syntax))
    for number, lossless in ((20, True), (21, False)):
        ds = j2k(ct(patient, sent.study_uid, generate_uid(), series_number=number), lossless)
        files.append((saved(ds, folder, f"j2k{number}"), str(ds.file_meta.TransferSyntaxUID)))
    ko = key_objects(patient, sent.study_uid, generate_uid(), plain[:2], 30)
    sr = text_report(patient, sent.study_uid, generate_uid(), plain, 31)
    files += [(saved(ko, folder, "ko"), EXPLICIT_LE), (saved(sr, folder, "sr"), EXPLICIT_LE)]
    send(shared, sent, files)
    return sent


@pytest.fixture(scope="module")
def unicode(shared: Box, tmp_path_factory: pytest.TempPathFactory) -> Sent:
    """ISO_IR 192 (UTF-8): a Japanese name, images that reference each other."""
    folder = tmp_path_factory.mktemp("unicode")
    patient = Patient("山田^太郎=やまだ^たろう", "PID-UTF8", "ISO_IR 192", sex="M")
    sent = Sent(str(generate_uid()))
    series = str(generate_uid())
    first = ct(patient, sent.study_uid, series, number=1)
    second = ct(patient, sent.study_uid, series, number=2, references=[reference(first)])
    second.PerformingPhysicianName = "Øster^Åse"
    files = [
        (saved(ds, folder, f"u{i}"), ExplicitVRLittleEndian) for i, ds in enumerate((first, second))
    ]
    send(shared, sent, files)
    return sent


# -- checks by third-party tools ------------------------------------------------------------


def dciodvfy_errors(path: Path) -> list[str]:
    result = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, check=False)
    return [
        line for line in (result.stdout + result.stderr).splitlines() if line.startswith("Error")
    ]


def dicom_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / "DICOM").rglob("*") if p.is_file())


def dcmmkdir_problems(root: Path, profile: Profile, scratch: Path) -> list[str]:
    """dcmmkdir -w: check every instance for the profile, write nothing (it would rename an
    existing DICOMDIR to .BAK, so it is pointed elsewhere)."""
    result = run_tool(
        "dcmmkdir",
        "-w",
        "-nb",
        profile.rule.dcmmkdir_option,
        "+r",
        "+id",
        str(root),
        "+D",
        str(scratch / "CHECKDIR"),
        "DICOM",
    )
    output = result.stdout + result.stderr
    return [line for line in output.splitlines() if line.startswith(("E:", "F:", "W:"))]


def dcmmkdir_update(root: Path, profile: Profile, scratch: Path) -> tuple[list[str], bytes]:
    """DCMTK reads our DICOMDIR and updates it with the same files: it must find every
    instance already recorded consistently (no problem reported)."""
    copy = scratch / "update"
    shutil.copytree(root, copy)
    result = subprocess.run(
        ["dcmmkdir", "-nb", "+U", profile.rule.dcmmkdir_option, "+r", "DICOM"],
        cwd=copy,
        capture_output=True,
        text=True,
        check=False,
    )
    output = result.stdout + result.stderr
    problems = [line for line in output.splitlines() if line.startswith(("E:", "F:", "W:"))]
    return problems, (copy / "DICOMDIR").read_bytes()


def export(box: Box, root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return box.run_cli("export", "folder", str(root), *args, check=False)


def equal_pixels(a: Dataset, b: Dataset) -> bool:
    return bool(np.array_equal(a.pixel_array, b.pixel_array))


def _check_fileset(
    box: Box, root: Path, profile: Profile, studies: list[Sent], scratch: Path
) -> None:
    assert (root / "DICOMDIR").is_file()
    problems = {str(p): dciodvfy_errors(p) for p in [root / "DICOMDIR", *dicom_files(root)]}
    assert {p: e for p, e in problems.items() if e} == {}
    assert dcmmkdir_problems(root, profile, scratch) == []
    update_problems, _ = dcmmkdir_update(root, profile, scratch)
    assert update_problems == []

    fs = FileSet(root / "DICOMDIR")
    expected = {uid: study for study in studies for uid in study.files}
    seen = set()
    for instance in fs:
        ds = instance.load()
        uid = str(ds.SOPInstanceUID)
        seen.add(uid)
        study = expected[uid]
        source = dcmread(study.files[uid])
        received = study.syntaxes[uid]
        written = str(ds.file_meta.TransferSyntaxUID)
        # The record points at the file with its class, instance and syntax.
        assert instance.SOPClassUID == ds.SOPClassUID
        assert instance.TransferSyntaxUID == written
        assert written in profile.syntaxes
        disposition = profile.disposition(received, decodable(received))
        if disposition is Disposition.COPY:
            assert written == received
            stored = next(box.data_dir.joinpath("dicom").rglob(f"{uid}.dcm"))
            assert Path(instance.path).read_bytes() == stored.read_bytes()
        else:
            assert written == ExplicitVRLittleEndian
            assert ds.file_meta.ImplementationClassUID == IMPLEMENTATION_CLASS_UID
            assert ds.file_meta.SourceApplicationEntityTitle == box.ae_title
            assert ds.file_meta.MediaStorageSOPInstanceUID == uid
        for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "SeriesInstanceUID"):
            assert ds[keyword].value == source[keyword].value
        if "PixelData" in source:
            assert equal_pixels(ds, source), uid
        # Directory keys (FileInstance looks them up in its records) say what the file says.
        assert instance.PatientName == source.PatientName
        assert instance.StudyInstanceUID == source.StudyInstanceUID
        assert instance.SeriesInstanceUID == source.SeriesInstanceUID
        assert instance.InstanceNumber == source.InstanceNumber
        if instance.node.record_type == "IMAGE":
            for keyword in ("ImageType", "ImagePositionPatient", "Rows", "PixelSpacing"):
                if keyword in source:
                    assert instance[keyword].value == source[keyword].value
    assert seen == set(expected)


@pytest.mark.parametrize(
    "profile",
    [
        Profile.STD_GEN_CD,
        Profile.STD_GEN_DVD_JPEG,
        Profile.STD_GEN_DVD_J2K,
        Profile.STD_GEN_USB_J2K,
    ],
)
def test_export_passes_dciodvfy_dcmmkdir_and_reads_back(
    shared: Box, latin: Sent, unicode: Sent, tmp_path: Path, profile: Profile
) -> None:
    root = tmp_path / "out"
    result = export(shared, root, latin.study_uid, unicode.study_uid, "--profile", profile.value)
    assert result.returncode == 0, result.stderr
    assert f"as {profile.value}" in result.stdout
    _check_fileset(shared, root, profile, [latin, unicode], tmp_path)


def test_records_carry_the_keys_and_character_sets(
    shared: Box, latin: Sent, unicode: Sent, tmp_path: Path
) -> None:
    root = tmp_path / "out"
    assert export(shared, root, latin.study_uid, unicode.study_uid).returncode == 0
    directory = dcmread(root / "DICOMDIR")
    records: dict[str, list[Dataset]] = {
        r.DirectoryRecordType: [] for r in directory.DirectoryRecordSequence
    }
    for record in directory.DirectoryRecordSequence:
        records[record.DirectoryRecordType].append(record)
    assert set(records) == {"PATIENT", "STUDY", "SERIES", "IMAGE", "KEY OBJECT DOC", "SR DOCUMENT"}
    names = {str(p.PatientName): p.SpecificCharacterSet for p in records["PATIENT"]}
    assert names == {"Müller^Jürgen": "ISO_IR 100", "山田^太郎=やまだ^たろう": "ISO_IR 192"}
    sr = records["SR DOCUMENT"][0]
    assert sr.CompletionFlag == "COMPLETE"
    assert sr.ConceptNameCodeSequence[0].CodeValue == "18748-4"
    # Only the concept modifiers of the root go into the record (PS3.3 F.5.24).
    assert [item.RelationshipType for item in sr.ContentSequence] == ["HAS CONCEPT MOD"]
    referencing = [r for r in records["IMAGE"] if "ReferencedImageSequence" in r]
    assert len(referencing) == 1
    series = [r for r in records["SERIES"] if "PerformingPhysicianName" in r]
    assert [str(r.PerformingPhysicianName) for r in series] == ["Øster^Åse"]
    assert series[0].SpecificCharacterSet == "ISO_IR 192"
    for study in records["STUDY"]:
        assert study.StudyDescription in ("Thorax Übersicht",)
    assert directory.FileSetID == "KILN"
    assert (root / "README.TXT").read_text(encoding="utf-8-sig").count("Müller, Jürgen") == 1
    assert "山田, 太郎" in (root / "INDEX.HTM").read_text(encoding="utf-8")


# -- bad input --------------------------------------------------------------------------------


def _truncated_jpeg(folder: Path, patient: Patient, study_uid: str) -> Path:
    """A JPEG baseline instance whose code stream stops after 24 bytes: DCMTK still sends it
    (it never decodes), the box stores it, but no decoder can make pixels of it."""
    ds = rgb_secondary_capture(patient, study_uid, generate_uid(), series_number=9)
    path = saved(ds, folder, "good", "1.2.840.10008.1.2.4.50")
    broken = dcmread(path)
    frame = next(generate_frames(broken.PixelData, number_of_frames=1))
    broken.PixelData = encapsulate([frame[:24]])
    broken.save_as(folder / "broken.dcm")
    return folder / "broken.dcm"


def test_an_instance_that_cannot_be_decoded_fails_the_export_and_leaves_nothing(
    shared: Box, tmp_path: Path
) -> None:
    patient = Patient("Broken^Jpeg", "PID-BROKEN")
    sent = Sent(str(generate_uid()))
    good = ct(patient, sent.study_uid, generate_uid(), number=1)
    files = [(saved(good, tmp_path, "good-ct"), EXPLICIT_LE)]
    files.append((_truncated_jpeg(tmp_path, patient, sent.study_uid), "1.2.840.10008.1.2.4.50"))
    send(shared, sent, files)
    broken_uid = next(uid for uid, s in sent.syntaxes.items() if s.endswith(".50"))
    out = tmp_path / "exports"
    out.mkdir()

    result = export(shared, out / "cd", sent.study_uid, "--profile", "STD-GEN-CD")
    assert result.returncode == 1
    assert broken_uid in result.stderr
    assert "cannot be decoded" in result.stderr
    assert "nothing was written" in result.stderr
    assert list(out.iterdir()) == []  # no directory, no hidden partial one

    # A profile that keeps JPEG copies it as received: the file is what the modality sent.
    kept = export(shared, out / "dvd", sent.study_uid, "--profile", "STD-GEN-DVD-JPEG")
    assert kept.returncode == 0, kept.stderr
    assert sorted(p.name for p in out.iterdir()) == ["dvd"]


def test_unknown_study_and_existing_directory_are_refused(
    shared: Box, latin: Sent, tmp_path: Path
) -> None:
    missing = export(shared, tmp_path / "a", "1.2.3.4.5.6.7")
    assert missing.returncode == 1
    assert "no study 1.2.3.4.5.6.7" in missing.stderr
    assert not (tmp_path / "a").exists()
    occupied = tmp_path / "b"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    refused = export(shared, occupied, latin.study_uid)
    assert refused.returncode == 1
    assert "already exists" in refused.stderr
    assert [p.name for p in occupied.iterdir()] == ["keep.txt"]


def test_plan_names_the_disc_a_study_set_needs(shared: Box, latin: Sent, unicode: Sent) -> None:
    result = shared.run_cli(
        "export", "plan", latin.study_uid, unicode.study_uid, "--media", "cd,dvd", "--json"
    )
    rows = json.loads(result.stdout)
    assert [(r["volume"], r["medium"], r["profile"]) for r in rows] == [
        ("1 of 1", "cd", "STD-GEN-CD")
    ]
    assert rows[0]["instances"] == len(latin.files) + len(unicode.files)
    assert rows[0]["studies"] == [latin.study_uid, unicode.study_uid]
    bad = shared.run_cli("export", "plan", latin.study_uid, "--media", "floppy", check=False)
    assert bad.returncode == 2


def test_anonymised_copy_holds_nothing_identifying_and_stays_valid(
    shared: Box, latin: Sent, unicode: Sent, tmp_path: Path
) -> None:
    root = tmp_path / "anon"
    profile = Profile.STD_GEN_DVD_JPEG
    result = export(
        shared,
        root,
        latin.study_uid,
        unicode.study_uid,
        "--profile",
        profile.value,
        "--copy-type",
        "anonymised",
    )
    assert result.returncode == 0, result.stderr
    files = [root / "DICOMDIR", *dicom_files(root)]
    assert {str(p): e for p in files if (e := dciodvfy_errors(p))} == {}
    assert dcmmkdir_problems(root, profile, tmp_path) == []
    originals = {uid for study in (latin, unicode) for uid in study.files}
    identifying = ["Müller".encode("latin-1"), "山田".encode(), b"PID-LATIN", b"PID-UTF8"]
    written: set[str] = set()
    for path in files:
        data = path.read_bytes()
        assert not [token for token in identifying if token in data], path
    for instance in FileSet(root / "DICOMDIR"):
        ds = instance.load()
        written.add(str(ds.SOPInstanceUID))
        assert ds.PatientIdentityRemoved == "YES"
        assert instance.PatientID == ds.PatientID  # the directory says what the file says
        assert instance.StudyInstanceUID == ds.StudyInstanceUID
    assert len(written) == len(originals) and written.isdisjoint(originals)
    # The key object note still points at images of this file-set (UIDs replaced alike).
    notes = [i for i in FileSet(root / "DICOMDIR") if i.node.record_type == "KEY OBJECT DOC"]
    referenced = {
        str(item.ReferencedSOPSequence[0].ReferencedSOPInstanceUID)
        for item in notes[0].load().ContentSequence
    }
    assert referenced and referenced <= written
    assert "anonymised copy" in (root / "README.TXT").read_text(encoding="utf-8-sig")


# -- appliance export iso / usb: the same file-set, mastered and read back ------------------


def xorriso_extract(image: Path, dest: Path) -> str:
    """Extract the image with xorriso; returns its -toc report (volume id, trees)."""
    toc = run_tool("xorriso", "-indev", str(image), "-toc")
    done = run_tool(
        "xorriso", "-abort_on", "FAILURE", "-indev", str(image),
        "-osirrox", "on", "-extract", "/", str(dest),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for folder in [dest, *[p for p in dest.rglob("*") if p.is_dir()]]:
        folder.chmod(0o755)  # the disc's modes are read-only; let pytest clean up
    return toc.stdout + toc.stderr


def test_iso_image_holds_the_file_set_dicomdir_at_the_root(
    shared: Box, latin: Sent, unicode: Sent, tmp_path: Path
) -> None:
    image = tmp_path / "disc.iso"
    result = shared.run_cli(
        "export", "iso", str(image), latin.study_uid, unicode.study_uid, check=False
    )
    assert result.returncode == 0, result.stderr
    # Small and partly compressed: the smallest disc, whose profile decodes everything.
    assert "as STD-GEN-CD" in result.stdout and "for a CD" in result.stdout
    assert oct(image.stat().st_mode & 0o777) == "0o640"  # patient data: not world-readable
    extracted = tmp_path / "extracted"
    toc = xorriso_extract(image, extracted)
    assert "Volume id    : 'KILN'" in toc
    assert sorted(p.name for p in extracted.iterdir()) == [
        "DICOM",
        "DICOMDIR",
        "INDEX.HTM",
        "README.TXT",
    ]
    _check_fileset(shared, extracted, Profile.STD_GEN_CD, [latin, unicode], tmp_path)


def test_iso_refuses_a_stick_profile_and_an_existing_file(
    shared: Box, latin: Sent, tmp_path: Path
) -> None:
    image = tmp_path / "disc.iso"
    wrong = shared.run_cli(
        "export", "iso", str(image), latin.study_uid, "--profile", "std-gen-usb-jpeg", check=False
    )
    assert wrong.returncode == 2
    assert "not a disc profile" in wrong.stderr
    image.write_bytes(b"mine")
    taken = shared.run_cli("export", "iso", str(image), latin.study_uid, check=False)
    assert taken.returncode == 1
    assert "already exists" in taken.stderr
    assert image.read_bytes() == b"mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["disc.iso"]  # no staging left


def test_iso_of_an_undecodable_instance_leaves_nothing(shared: Box, tmp_path: Path) -> None:
    patient = Patient("Broken^Jpeg", "PID-BROKEN", "ISO_IR 100")
    sent = Sent(str(generate_uid()))
    send(
        shared,
        sent,
        [(_truncated_jpeg(tmp_path, patient, sent.study_uid), "1.2.840.10008.1.2.4.50")],
    )
    out = tmp_path / "out"
    out.mkdir()
    result = shared.run_cli("export", "iso", str(out / "disc.iso"), sent.study_uid, check=False)
    assert result.returncode == 1
    assert "nothing was written" in result.stderr
    assert list(out.iterdir()) == []


def usb_config(box: Box, tmp_path: Path, **simulator: object) -> Path:
    """The shared box's config with a simulated stick that keeps its image afterwards."""
    config = tomllib.loads(box.config_path.read_text())
    config["usb"] = {
        "backend": "simulated",
        "wait_seconds": 20,
        "mount_dir": str(tmp_path / "mnt"),
        "simulator": {"image_mb": 64, "keep_images": True, **simulator},
    }
    path = tmp_path / "usb.toml"
    path.write_text(tomli_w.dumps(config))
    return path


@contextlib.contextmanager
def mounted_stick(box: Box, scratch: Path) -> Iterator[Path]:
    """The simulated stick's image, loop-mounted read-only by the test itself."""
    images = sorted(box.data_dir.joinpath("usb-simulator").glob("stick-*.img"))
    assert len(images) == 1, images
    target = scratch / "stick"
    target.mkdir()
    subprocess.run(
        ["mount", "-t", "ext4", "-o", "loop,ro,noload", str(images[0]), str(target)], check=True
    )
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], check=True)
        images[0].unlink()


def test_usb_export_writes_a_file_set_that_reads_back(
    shared: Box, latin: Sent, unicode: Sent, tmp_path: Path
) -> None:
    """`appliance export usb` on the simulated stick (umockdev, re-executed under
    umockdev-run by the command itself); root for the loop mounts, as CI runs."""
    config = usb_config(shared, tmp_path)
    export = subprocess.Popen(
        [*APPLIANCE, "--config", str(config), "export", "usb", latin.study_uid, unicode.study_uid],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # While it runs, the export is an activity the LEDs show (appliance/activities.py).
    phases: list[str] = []
    with shared.db() as conn:
        while export.poll() is None:
            for (phase,) in conn.execute("SELECT phase FROM activities"):
                if not phases or phases[-1] != phase:
                    phases.append(str(phase))
            time.sleep(0.02)
        left = conn.execute("SELECT count(*) FROM activities").fetchone()[0]
    stdout, stderr = export.communicate(timeout=300)
    result = subprocess.CompletedProcess(export.args, export.returncode, stdout, stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    assert phases and phases[0] == "preparing" and "writing" in phases, phases
    assert left == 0  # gone when the export ended
    assert "read back correct. It is safe to remove." in result.stdout
    # Mostly JPEG and JPEG 2000 in equal measure: the USB profile that decodes fewer.
    profile = Profile.STD_GEN_USB_JPEG if "STD-GEN-USB-JPEG" in result.stdout else None
    profile = profile or Profile.STD_GEN_USB_J2K
    with mounted_stick(shared, tmp_path) as stick:
        _check_fileset(shared, stick, profile, [latin, unicode], tmp_path)


def test_usb_export_to_a_write_protected_stick_fails_and_says_so(
    shared: Box, latin: Sent, tmp_path: Path
) -> None:
    config = usb_config(shared, tmp_path, fault="read-only")
    result = subprocess.run(
        [*APPLIANCE, "--config", str(config), "export", "usb", latin.study_uid],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert "write-protected" in result.stderr
    assert "safe to remove" not in result.stdout + result.stderr
    with mounted_stick(shared, tmp_path) as stick:
        assert [p.name for p in stick.iterdir() if p.name != "lost+found"] == []


def test_iso_too_large_for_one_cd_spans_two_complete_file_sets(shared: Box, tmp_path: Path) -> None:
    """126 MB of CT on 100 MB CDs: two images, split by series, each a file-set of its own."""
    patient = Patient("Span^Two", "PID-SPAN", "ISO_IR 100")
    sent = Sent(str(generate_uid()))
    files = []
    for series_number in (1, 2, 3):
        series_uid = str(generate_uid())
        for number in range(1, 21):
            ds = ct(
                patient,
                sent.study_uid,
                series_uid,
                series_number=series_number,
                number=number,
                size=1024,
            )
            files.append((saved(ds, tmp_path, f"big{series_number}-{number}"), EXPLICIT_LE))
    send(shared, sent, files)
    config = tomllib.loads(shared.config_path.read_text())
    config["media"] = {"cd_mb": 100, "file_set_id": "SPAN_TEST"}
    small_cds = tmp_path / "cd.toml"
    small_cds.write_text(tomli_w.dumps(config))
    out = tmp_path / "out"
    out.mkdir()
    result = subprocess.run(
        [*APPLIANCE, "--config", str(small_cds), "export", "iso", str(out / "span.iso"),
         sent.study_uid, "--media", "cd"],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["span-1of2.iso", "span-2of2.iso"]
    seen: dict[str, str] = {}
    volumes_of_series: dict[str, set[int]] = {}
    for volume in (1, 2):
        extracted = tmp_path / f"volume{volume}"
        toc = xorriso_extract(out / f"span-{volume}of2.iso", extracted)
        assert "Volume id    : 'SPAN_TEST'" in toc
        assert dciodvfy_errors(extracted / "DICOMDIR") == []
        assert f"Volume {volume} of 2" in (extracted / "README.TXT").read_text("utf-8-sig")
        for instance in FileSet(extracted / "DICOMDIR"):
            ds = instance.load()
            assert str(ds.SOPInstanceUID) not in seen  # on one volume only
            seen[str(ds.SOPInstanceUID)] = str(ds.SeriesInstanceUID)
            volumes_of_series.setdefault(str(ds.SeriesInstanceUID), set()).add(volume)
    assert set(seen) == set(sent.files)
    # Split by series: each series lies whole on one disc, and both discs hold some.
    assert len(volumes_of_series) == 3
    assert all(len(volumes) == 1 for volumes in volumes_of_series.values())
    assert set().union(*volumes_of_series.values()) == {1, 2}
