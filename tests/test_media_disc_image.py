"""Disc images of a file-set, read back with tools that share no code with pycdlib.

xorriso (ISO 9660 with Rock Ridge or Joliet), isoinfo (the bare ISO 9660 names a reader
without extensions sees), 7-Zip and udfinfo (UDF). The file-set is real: instances from
pydicom and a DICOMDIR from DCMTK's dcmmkdir, so its File IDs are checked against the image
as a DICOM reader would follow them.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pycdlib
import pytest
from pydicom import dcmread
from pydicom.uid import generate_uid

from appliance.media import disc_image
from appliance.media.disc_image import (
    ISO_EXTENT_MAX,
    DiscImageError,
    ImageKind,
    ImageProblem,
    build_image,
    choose_kind,
)
from tests.dicomdata import make_instance

FILE_SET_ID = "KILNTEST"
VIEWER_FILES = {
    "VIEWER/Long Viewer Name-1.2.jar": b"jar one",
    "VIEWER/Long Viewer Name-2.0.jar": b"jar two",
    "VIEWER/run viewer.sh": b"#!/bin/sh\necho viewer\n",
    "VIEWER/lib/\u00fcn\u00efcode-\u0444\u0430\u0439\u043b.txt": b"non-ASCII name",
    "VIEWER/lib/.hidden": b"dot file",
}
ROOT_EXTRAS = {
    "README.TXT": b"Images of one patient.\r\n",
    "INDEX.HTM": b"<html><body>index</body></html>",
    "AUTORUN.INF": b"[autorun]\r\nopen=VIEWER\\run.exe\r\n",
}


def run(*argv: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def write_file_set(root: Path, *, studies: int = 2, series: int = 2, images: int = 3) -> Path:
    """DICOM/STnnnnnn/SEnnnnnn/IMnnnnnn instances, a DCMTK DICOMDIR, extras and a viewer."""
    for st in range(studies):
        study = generate_uid()
        for se in range(series):
            folder = root / "DICOM" / f"ST{st:06d}" / f"SE{se:06d}"
            folder.mkdir(parents=True)
            series_uid = generate_uid()
            for im in range(images):
                ds = make_instance(study_uid=study, series_uid=series_uid, number=im + 1, size=48)
                ds.save_as(folder / f"IM{im:06d}", enforce_file_format=True)
    # dcmmkdir: the independent DICOMDIR writer; +I invents keys the small test data lacks.
    run("dcmmkdir", "+r", "-Pgp", "+I", "+id", ".", "+F", FILE_SET_ID, "+D", "DICOMDIR",
        "DICOM", cwd=root)  # fmt: skip
    for name, data in {**ROOT_EXTRAS, **VIEWER_FILES}.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    (root / "VIEWER/run viewer.sh").chmod(0o755)
    return root


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def file_ids(dicomdir: Path) -> list[str]:
    records = dcmread(dicomdir).DirectoryRecordSequence
    return ["/".join(r.ReferencedFileID) for r in records if "ReferencedFileID" in r]


def xorriso_extract(image: Path, dest: Path, *, tree: str = "any") -> str:
    """Extract the whole tree; returns which tree xorriso loaded.

    `tree`: "any" (Rock Ridge if present), "norock" (Joliet if present), "ecma119" (the bare
    ISO 9660 names, as a reader without extensions sees them).
    """
    loaded = run("xorriso", "-read_fs", tree, "-indev", image, "-toc")
    run(
        "xorriso", "-abort_on", "FAILURE", "-read_fs", tree,
        "-indev", image, "-osirrox", "on", "-extract", "/", dest,
    )  # fmt: skip
    for folder in [dest, *[p for p in dest.rglob("*") if p.is_dir()]]:
        folder.chmod(0o755)  # xorriso restores the disc's read-only modes; let pytest clean up
    found = re.search(r"ISO loaded\s*:\s*(.*)", loaded)
    return found.group(1).strip() if found else ""


def iso_offers(image: Path) -> str:
    log = run("xorriso", "-indev", image, "-toc")
    found = re.search(r"ISO offers\s*:\s*(.*)", log)
    return found.group(1).strip() if found else ""


def plain_iso_names(image: Path) -> dict[str, int]:
    """Every file of the bare ISO 9660 tree (no Joliet, no Rock Ridge) with its size."""
    listing = run("isoinfo", "-l", "-i", image)
    names: dict[str, int] = {}
    folder = ""
    for line in listing.splitlines():
        heading = re.match(r"Directory listing of (.*)/$", line)
        if heading:
            folder = heading.group(1)
            continue
        entry = re.match(r"(-)\S+\s+\d+\s+\d+\s+\d+\s+(\d+) .*\]\s+(\S+)\s*$", line)
        if entry:
            names[f"{folder}/{entry.group(3)}"] = int(entry.group(2))
    return names


@pytest.fixture
def file_set(tmp_path: Path) -> Path:
    return write_file_set(tmp_path / "fileset")


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- what a reader gets -------------------------------------------------------------------


def test_rock_ridge_image_reads_back_byte_for_byte(file_set: Path, out_dir: Path) -> None:
    image = out_dir / "disc.iso"
    result = build_image(file_set, image, volume_id=FILE_SET_ID, kind=ImageKind.ISO9660_JOLIET_RR)
    assert result.image_bytes == image.stat().st_size
    assert result.files == len(files_under(file_set))
    assert stat.S_IMODE(image.stat().st_mode) == 0o640
    assert leftovers(out_dir) == ["disc.iso"]

    assert "Rock_Ridge" in iso_offers(image) and "Joliet" in iso_offers(image)
    info = run("isoinfo", "-d", "-i", image)
    assert "Volume id: KILNTEST" in info
    assert "Rock Ridge signatures" in info and "Joliet with UCS level 3" in info
    assert "UDF" not in run("xorriso", "-indev", image, "-pvd_info")

    extracted = out_dir / "x"
    assert xorriso_extract(image, extracted) == "Rock_Ridge"
    assert files_under(extracted) == files_under(file_set)
    # Rock Ridge modes are read-only, and the launcher keeps its execute bit.
    assert stat.S_IMODE((extracted / "VIEWER/run viewer.sh").stat().st_mode) == 0o555
    assert stat.S_IMODE((extracted / "DICOMDIR").stat().st_mode) == 0o444
    for file_id in file_ids(extracted / "DICOMDIR"):
        assert (extracted / file_id).read_bytes() == (file_set / file_id).read_bytes()


def test_joliet_image_reads_back_byte_for_byte(file_set: Path, out_dir: Path) -> None:
    image = out_dir / "disc.iso"
    build_image(file_set, image, volume_id=FILE_SET_ID, kind=ImageKind.ISO9660_JOLIET)
    assert iso_offers(image) == "Joliet"
    info = run("isoinfo", "-d", "-i", image)
    assert "Joliet with UCS level 3" in info and "NO Rock Ridge present" in info
    extracted = out_dir / "x"
    assert xorriso_extract(image, extracted, tree="norock") == "Joliet"
    assert files_under(extracted) == files_under(file_set)


def test_dicomdir_paths_resolve_without_joliet_or_rock_ridge(file_set: Path, out_dir: Path) -> None:
    """PS3.12 F.1.2.1: File ID COMP1\\...\\COMPN is /COMP1/.../COMPN.;1 in ISO 9660 itself."""
    image = out_dir / "disc.iso"
    build_image(file_set, image, volume_id=FILE_SET_ID, kind=ImageKind.ISO9660_JOLIET_RR)
    names = plain_iso_names(image)
    assert names["/DICOMDIR.;1"] == (file_set / "DICOMDIR").stat().st_size
    ids = file_ids(file_set / "DICOMDIR")
    assert len(ids) == 12
    for file_id in ids:
        iso_name = f"/{file_id}.;1"
        assert names[iso_name] == (file_set / file_id).stat().st_size
        data = subprocess.run(
            ["isoinfo", "-i", str(image), "-x", iso_name], capture_output=True, check=True
        ).stdout
        assert data == (file_set / file_id).read_bytes()
    # Extras keep 8.3 names; the viewer's long names get unique level-1 names.
    assert {"/README.TXT;1", "/INDEX.HTM;1", "/AUTORUN.INF;1"} <= names.keys()
    viewer = sorted(n for n in names if n.startswith("/VIEWER/") and n.count("/") == 2)
    assert viewer == ["/VIEWER/LONG_VI1.JAR;1", "/VIEWER/LONG_VIE.JAR;1", "/VIEWER/RUN_VIEW.SH;1"]
    for name in names:
        parts = name.strip("/").split("/")
        assert all(re.fullmatch(r"[A-Z0-9_]{1,8}", p) for p in parts[:-1]), name
        assert re.fullmatch(r"[A-Z0-9_]{1,8}\.[A-Z0-9_]{0,3};1", parts[-1]), name
    # A reader without extensions drops ".;1" (xorriso, like Linux and Windows, does):
    # every File ID then resolves to the very file.
    extracted = out_dir / "bare"
    assert xorriso_extract(image, extracted, tree="ecma119") == "Only_ECMA_119"
    for file_id in ["DICOMDIR", *ids]:
        assert (extracted / file_id).read_bytes() == (file_set / file_id).read_bytes()
    # In Joliet the same File IDs resolve without any ";1".
    for file_id in ids[:2]:
        data = subprocess.run(
            ["isoinfo", "-J", "-i", str(image), "-x", f"/{file_id}"],
            capture_output=True,
            check=True,
        ).stdout
        assert data == (file_set / file_id).read_bytes()


def test_udf_bridge_reads_back_in_udf_and_iso9660(file_set: Path, out_dir: Path) -> None:
    image = out_dir / "disc.iso"
    build_image(file_set, image, volume_id=FILE_SET_ID, kind=ImageKind.UDF_BRIDGE)
    source = files_under(file_set)

    udf = dict(line.split("=", 1) for line in run("udfinfo", image).splitlines() if "=" in line)
    assert udf["label"] == FILE_SET_ID
    assert int(udf["numfiles"]) == len(source)
    assert udf["integrity"] == "closed"
    blkid = run("blkid", "-p", "-o", "export", image)
    assert "TYPE=udf" in blkid  # Linux mounts the UDF side of a bridge

    # UDF side, read by 7-Zip (an independent UDF reader).
    by_7zip = out_dir / "udf"
    run("7zz", "x", "-tudf", f"-o{by_7zip}", image)
    assert files_under(by_7zip) == source
    # ISO 9660 + Joliet side of the same image, read by xorriso.
    by_xorriso = out_dir / "iso"
    assert xorriso_extract(image, by_xorriso, tree="norock") == "Joliet"
    assert files_under(by_xorriso) == source
    # pycdlib's own reader as a second opinion on the UDF tree.
    iso = pycdlib.PyCdlib()
    iso.open(str(image))
    try:
        first_id = file_ids(file_set / "DICOMDIR")[0]
        from io import BytesIO

        buffer = BytesIO()
        iso.get_file_from_iso_fp(buffer, udf_path=f"/{first_id}")
        assert buffer.getvalue() == source[first_id]
    finally:
        iso.close()


def test_file_over_4_gib_in_udf_bridge(tmp_path: Path, out_dir: Path) -> None:
    """One UDF extent run, several ISO 9660 extents (level 3); ~4 GiB written, no fsync."""
    source = write_file_set(tmp_path / "fs", studies=1, series=1, images=1)
    size = ISO_EXTENT_MAX + 3 * 2048 + 100
    marks = [0, 2**32 - 4096, size - 16]  # the start, across the 4 GiB line, the end
    with (source / "DICOM" / "HUGE0001").open("wb") as fp:
        fp.truncate(size)  # sparse: cheap to make, read back as zeros between the marks
        for at in marks:
            fp.seek(at)
            fp.write(b"MARK%012d" % at)
    assert choose_kind("STD-GEN-DVD-JPEG", size) is ImageKind.UDF_BRIDGE
    image = out_dir / "disc.iso"
    try:
        result = build_image(
            source, image, volume_id=FILE_SET_ID, kind=ImageKind.UDF_BRIDGE, fsync=False
        )
        assert result.image_bytes > size
        # UDF, streamed out by 7-Zip.
        stream = subprocess.Popen(
            ["7zz", "x", "-tudf", "-so", str(image), "DICOM/HUGE0001"], stdout=subprocess.PIPE
        )
        assert stream.stdout is not None
        done, found = 0, {}
        while chunk := stream.stdout.read(1 << 22):
            for at in marks:
                if done <= at < done + len(chunk):
                    found[at] = chunk[at - done : at - done + 16]
            done += len(chunk)
        assert stream.wait() == 0
        assert done == size
        assert found == {at: b"MARK%012d" % at for at in marks}
        # ISO 9660 side: xorriso joins the extents; read the same bytes at the marks.
        for at in marks:
            cut = out_dir / "cut"
            run("xorriso", "-osirrox", "on", "-indev", image, "-extract_cut",
                "/DICOM/HUGE0001", str(at), "16", cut)  # fmt: skip
            assert cut.read_bytes() == b"MARK%012d" % at
            cut.unlink()
    finally:
        image.unlink(missing_ok=True)  # pytest keeps old temp folders: do not keep 4 GiB


def test_udf_directory_of_many_entries(tmp_path: Path, out_dir: Path) -> None:
    """A series of 400 instances: its UDF and ISO 9660 directories span many blocks."""
    source = write_file_set(tmp_path / "fs", studies=1, series=1, images=1)
    series = source / "DICOM" / "ST000000" / "SE000001"
    series.mkdir()
    for n in range(400):
        (series / f"IM{n:06d}").write_bytes(n.to_bytes(4, "big") * 600)
    image = out_dir / "disc.iso"
    build_image(source, image, volume_id=FILE_SET_ID, kind=ImageKind.UDF_BRIDGE)
    by_7zip = out_dir / "udf"
    run("7zz", "x", "-tudf", f"-o{by_7zip}", image)
    assert files_under(by_7zip) == files_under(source)
    by_xorriso = out_dir / "iso"
    xorriso_extract(image, by_xorriso, tree="norock")
    assert files_under(by_xorriso) == files_under(source)


def test_deepest_tree_allowed_reads_back(tmp_path: Path, out_dir: Path) -> None:
    """Seven folders below the root is eight levels: the most ISO 9660 and PS3.10 allow."""
    source = write_file_set(tmp_path / "fs", studies=1, series=1, images=1)
    deep = source / "A" / "B" / "C" / "D" / "E" / "F" / "G"
    deep.mkdir(parents=True)
    (deep / "IM000000").write_bytes(b"deepest")
    image = out_dir / "disc.iso"
    build_image(source, image, volume_id="", kind=ImageKind.ISO9660_JOLIET_RR)
    assert "/A/B/C/D/E/F/G/IM000000.;1" in plain_iso_names(image)
    extracted = out_dir / "x"
    xorriso_extract(image, extracted)
    assert (extracted / "A/B/C/D/E/F/G/IM000000").read_bytes() == b"deepest"
    # An empty File-set ID gives an all-blank volume identifier (F.1.1).
    with image.open("rb") as fp:
        fp.seek(16 * 2048 + 40)
        assert fp.read(32) == b" " * 32


def test_linked_instances_are_followed_and_existing_image_is_replaced(
    tmp_path: Path, out_dir: Path
) -> None:
    """A file-set may link to the store instead of copying it; the disc holds the data."""
    source = write_file_set(tmp_path / "fs", studies=1, series=1, images=2)
    store = tmp_path / "store.dcm"
    instance = source / "DICOM/ST000000/SE000000/IM000001"
    shutil.move(instance, store)
    instance.symlink_to(store)
    image = out_dir / "disc.iso"
    image.write_bytes(b"an older image")
    build_image(source, image, volume_id=FILE_SET_ID, kind=ImageKind.ISO9660_JOLIET_RR)
    extracted = out_dir / "x"
    xorriso_extract(image, extracted)
    assert (extracted / "DICOM/ST000000/SE000000/IM000001").read_bytes() == store.read_bytes()
    assert leftovers(out_dir) == ["disc.iso", "x"]


def test_progress_runs_to_the_image_size(file_set: Path, out_dir: Path) -> None:
    seen: list[tuple[int, int]] = []
    result = build_image(
        file_set,
        out_dir / "disc.iso",
        volume_id=FILE_SET_ID,
        kind=ImageKind.UDF_BRIDGE,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert len(seen) > 10
    assert {total for _, total in seen} == {result.image_bytes}
    dones = [done for done, _ in seen]
    assert dones == sorted(dones) and dones[-1] == result.image_bytes


def test_choose_kind_uses_udf_for_bd_and_huge_files() -> None:
    assert choose_kind("STD-GEN-CD", 10**6) is ImageKind.ISO9660_JOLIET_RR
    assert choose_kind("STD-GEN-DVD-JPEG", ISO_EXTENT_MAX) is ImageKind.ISO9660_JOLIET_RR
    assert choose_kind("STD-GEN-DVD-J2K", ISO_EXTENT_MAX + 1) is ImageKind.UDF_BRIDGE
    assert choose_kind("STD-GEN-BD-JPEG", 10**6) is ImageKind.UDF_BRIDGE
    assert choose_kind("std-gen-bd-mpeg4-hplv41", 0) is ImageKind.UDF_BRIDGE


# --- bad input: a clear error and nothing left behind -------------------------------------


def expect_failure(
    source: Path, output: Path, problem: ImageProblem, kind: ImageKind = ImageKind.UDF_BRIDGE,
    volume_id: str = FILE_SET_ID,
) -> DiscImageError:  # fmt: skip
    before = leftovers(output.parent) if output.parent.is_dir() else []
    with pytest.raises(DiscImageError) as caught:
        build_image(source, output, volume_id=volume_id, kind=kind)
    assert caught.value.problem is problem, caught.value
    if output.parent.is_dir():
        assert leftovers(output.parent) == before
    return caught.value


def test_missing_source(tmp_path: Path, out_dir: Path) -> None:
    error = expect_failure(tmp_path / "nowhere", out_dir / "d.iso", ImageProblem.SOURCE_MISSING)
    assert "nowhere" in str(error)


def test_folder_without_dicomdir(tmp_path: Path, out_dir: Path) -> None:
    (tmp_path / "plain" / "DICOM").mkdir(parents=True)
    error = expect_failure(tmp_path / "plain", out_dir / "d.iso", ImageProblem.NOT_A_FILE_SET)
    assert "DICOMDIR" in str(error)


def test_output_folder_missing_or_inside_the_source(file_set: Path, tmp_path: Path) -> None:
    expect_failure(file_set, tmp_path / "no" / "d.iso", ImageProblem.OUTPUT_NOT_WRITABLE)
    error = expect_failure(file_set, file_set / "VIEWER" / "d.iso", ImageProblem.BAD_OUTPUT)
    assert "inside the file-set" in str(error)


def test_output_folder_not_writable(file_set: Path, tmp_path: Path) -> None:
    """Root writes through permission bits, so as root the folder is a read-only mount."""
    locked = tmp_path / "locked"
    locked.mkdir()
    if os.geteuid() == 0:
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(locked)], check=True
        )
    else:
        locked.chmod(0o555)
    try:
        error = expect_failure(file_set, locked / "d.iso", ImageProblem.OUTPUT_NOT_WRITABLE)
        assert str(error).startswith(f"cannot create the image in {locked}")
        assert "Read-only file system" in str(error) or "Permission denied" in str(error)
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", "-l", str(locked)], check=False)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("bad:name.txt", "Joliet does not allow"),
        ("x" * 65 + ".txt", "longer than Joliet"),
        ("emoji-\U0001f600.txt", "outside UCS-2"),
    ],
)
def test_unrepresentable_name(file_set: Path, out_dir: Path, name: str, why: str) -> None:
    (file_set / "VIEWER" / name).write_bytes(b"x")
    old = out_dir / "d.iso"
    old.write_bytes(b"the previous image")
    error = expect_failure(file_set, old, ImageProblem.UNREPRESENTABLE_NAME)
    assert why in str(error) and name in str(error)
    assert old.read_bytes() == b"the previous image"  # untouched


def test_name_that_is_not_utf8(file_set: Path, out_dir: Path) -> None:
    raw = os.fsencode(file_set / "VIEWER") + b"/caf\xe9.txt"
    fd = os.open(raw, os.O_CREAT | os.O_WRONLY, 0o644)
    os.close(fd)
    error = expect_failure(file_set, out_dir / "d.iso", ImageProblem.UNREPRESENTABLE_NAME)
    assert "not valid UTF-8" in str(error)


def test_names_differing_only_in_case(file_set: Path, out_dir: Path) -> None:
    (file_set / "readme.txt").write_bytes(b"lower")
    error = expect_failure(file_set, out_dir / "d.iso", ImageProblem.NAME_COLLISION)
    assert "README.TXT" in str(error) and "readme.txt" in str(error)


def test_tree_deeper_than_eight_levels(file_set: Path, out_dir: Path) -> None:
    deep = file_set / "A" / "B" / "C" / "D" / "E" / "F" / "G" / "H"
    deep.mkdir(parents=True)
    error = expect_failure(file_set, out_dir / "d.iso", ImageProblem.TOO_DEEP)
    assert "A/B/C/D/E/F/G/H" in str(error) and "9 levels" in str(error)


def test_special_files_and_loops(file_set: Path, out_dir: Path) -> None:
    fifo = file_set / "VIEWER" / "pipe"
    os.mkfifo(fifo)
    expect_failure(file_set, out_dir / "d.iso", ImageProblem.UNSUPPORTED_ENTRY)
    fifo.unlink()
    (file_set / "VIEWER" / "gone").symlink_to(file_set / "nothing")
    error = expect_failure(file_set, out_dir / "d.iso", ImageProblem.UNSUPPORTED_ENTRY)
    assert "broken link" in str(error)
    (file_set / "VIEWER" / "gone").unlink()
    (file_set / "VIEWER" / "LOOP").symlink_to(file_set / "VIEWER")
    error = expect_failure(file_set, out_dir / "d.iso", ImageProblem.UNSUPPORTED_ENTRY)
    assert "links back" in str(error)


def test_bad_volume_id(file_set: Path, out_dir: Path) -> None:
    for bad in ("lower", "A" * 17, "WITH SPACE", "DOT.S"):
        error = expect_failure(
            file_set, out_dir / "d.iso", ImageProblem.BAD_VOLUME_ID, volume_id=bad
        )
        assert "A-Z, 0-9 and _" in str(error)


def test_file_too_large_for_iso9660(file_set: Path, out_dir: Path) -> None:
    huge = file_set / "VIEWER" / "HUGE.BIN"
    with huge.open("wb") as fp:
        fp.truncate(ISO_EXTENT_MAX + 1)  # sparse: nothing is written
    error = expect_failure(
        file_set, out_dir / "d.iso", ImageProblem.FILE_TOO_LARGE, ImageKind.ISO9660_JOLIET_RR
    )
    assert "UDF" in str(error)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.fail("this test mounts a small tmpfs and must run as root (CI does)")
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_before_writing(tmp_path: Path, small_fs: Path) -> None:
    source = write_file_set(tmp_path / "fs", studies=1, series=1, images=1)
    (source / "VIEWER" / "BIG.BIN").write_bytes(os.urandom(2 * 1024 * 1024))
    error = expect_failure(source, small_fs / "d.iso", ImageProblem.NO_SPACE)
    assert "MB free" in str(error)


def test_disk_filling_while_writing(
    tmp_path: Path, small_fs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Something else fills the disk after the space check: ENOSPC, and nothing is left."""
    source = write_file_set(tmp_path / "fs", studies=1, series=1, images=1)
    (source / "VIEWER" / "BIG.BIN").write_bytes(os.urandom(2 * 1024 * 1024))
    monkeypatch.setattr(disc_image, "_check_space", lambda *_: None)
    error = expect_failure(source, small_fs / "d.iso", ImageProblem.NO_SPACE)
    assert "full" in str(error)
    assert os.statvfs(small_fs).f_bfree == os.statvfs(small_fs).f_blocks  # all space back
