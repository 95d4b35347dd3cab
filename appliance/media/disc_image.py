"""Disc images of a DICOM file-set: ISO 9660 + Joliet (+ Rock Ridge), or a UDF bridge.

`build_image` turns a file-set directory (DICOMDIR at its root, `DICOM/...` File IDs, any
extras beside them) into an image a drive can burn:

- ISO 9660 names follow PS3.12 F.1.2.1 (`/DICOM/ST000000/IM000001.;1`), level 1; see
  `image_names.py` for the other names. The volume identifier is the File-set ID (F.1.1).
- Joliet is always there: Windows readers use it, and DICOMDIR's paths resolve in it
  without the `;1` that F.1.2.1 note 3 warns about.
- Rock Ridge (kind ISO9660_JOLIET_RR) gives Linux and macOS readers the real names and
  read-only POSIX modes (a viewer's launcher keeps its execute bit).
- UDF_BRIDGE adds UDF beside ISO 9660 + Joliet, sharing the file data: what BD readers
  (PS3.12 Annex X) and files too large for one ISO 9660 extent need, while an ISO-only reader
  still sees every file. pycdlib records UDF revision 1.02 structures, which every UDF
  reader (2.50 and 2.60 included) must read.

The image is written to an unnamed file beside the output, fsynced, then renamed into
place: a failure or a crash leaves no partial image under the output's name.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import BinaryIO

import pycdlib
from pycdlib.pycdlibexception import PyCdlibException

from appliance import IMPLEMENTATION_VERSION_NAME
from appliance.media.image_names import (
    FILE_ID_COMPONENT,
    IsoNamer,
    joliet_problem,
    rock_ridge_problem,
    udf_problem,
)
from appliance.storage.writer import Linker, fsync_dir

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (bytes of the image written, image size)

# The largest file one ISO 9660 extent holds as pycdlib and xorriso write it (4 GiB - 2 KiB);
# larger files need several extents, which Windows' ISO 9660 reader does not join.
ISO_EXTENT_MAX = 0xFFFFF800
MAX_DIRECTORY_DEPTH = 7  # ECMA-119 6.8.2.1 and PS3.12 F.1.2.1: 8 levels, the root is level 1
VOLUME_ID_MAX = 16  # a File-set ID is CS, 16 characters; Joliet's volume identifier holds 16
COPY_BLOCK = 1024 * 1024  # pycdlib's copy buffer (its default is 32 KiB): 32x fewer Python calls
WRITEBACK_STEP = 32 * 1024 * 1024  # start writing back this often, so the fsync waits less
_FILE_MODE = 0o100444
_EXEC_FILE_MODE = 0o100555
_DIR_MODE = 0o040555
_IMAGE_PERMISSIONS = 0o640  # an image holds patient data

_libc = ctypes.CDLL(None, use_errno=True)
_libc.sync_file_range.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
_SYNC_FILE_RANGE_WRITE = 2


class ImageKind(StrEnum):
    ISO9660_JOLIET = "iso9660+joliet"
    ISO9660_JOLIET_RR = "iso9660+joliet+rockridge"
    UDF_BRIDGE = "udf+iso9660+joliet"


class ImageProblem(Enum):
    SOURCE_MISSING = "source missing"
    NOT_A_FILE_SET = "not a file-set"
    UNSUPPORTED_ENTRY = "unsupported entry"
    UNREPRESENTABLE_NAME = "unrepresentable name"
    NAME_COLLISION = "name collision"
    TOO_DEEP = "too deep"
    FILE_TOO_LARGE = "file too large"
    BAD_VOLUME_ID = "bad volume identifier"
    BAD_OUTPUT = "bad output"
    OUTPUT_NOT_WRITABLE = "output not writable"
    NO_SPACE = "no space"
    READ_FAILED = "read failed"
    WRITE_FAILED = "write failed"


class DiscImageError(Exception):
    """The image could not be built; nothing was left under the output's name."""

    def __init__(self, problem: ImageProblem, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.problem = problem
        self.path = path


@dataclass(frozen=True)
class ImageResult:
    path: Path
    kind: ImageKind
    volume_id: str
    image_bytes: int
    files: int
    directories: int  # below the root
    content_bytes: int
    seconds: float


def choose_kind(profile: str, largest_file: int) -> ImageKind:
    """UDF for BD profiles (PS3.12 Annex X) and files one ISO 9660 extent cannot hold."""
    if profile.upper().startswith("STD-GEN-BD") or largest_file > ISO_EXTENT_MAX:
        return ImageKind.UDF_BRIDGE
    return ImageKind.ISO9660_JOLIET_RR


@dataclass(frozen=True)
class _Entry:
    source: Path
    iso_path: str  # level-1 identifiers, files with ";1"
    real_path: str  # the source names, for Joliet and UDF
    name: str  # for Rock Ridge
    is_dir: bool
    executable: bool


@dataclass
class _Tree:
    entries: list[_Entry] = field(default_factory=list)  # parents before their children
    files: int = 0
    directories: int = 0
    content_bytes: int = 0
    largest: int = 0


def build_image(
    source_dir: Path,
    output_file: Path,
    *,
    volume_id: str,
    kind: ImageKind,
    progress: Progress | None = None,
    fsync: bool = True,
) -> ImageResult:
    """Write the image of the file-set in `source_dir` to `output_file` (replaced if present).

    `volume_id` is the File-set ID (up to 16 of A-Z, 0-9, _; empty gives a blank label).
    `fsync=False` skips making the image durable (benchmarks only). Raises DiscImageError.
    """
    started = time.perf_counter()
    source_dir, output_file = Path(source_dir), Path(output_file)
    _check_volume_id(volume_id)
    if not source_dir.is_dir():
        raise DiscImageError(
            ImageProblem.SOURCE_MISSING,
            f"the file-set folder {source_dir} does not exist",
            source_dir,
        )
    if not (source_dir / "DICOMDIR").is_file():
        raise DiscImageError(
            ImageProblem.NOT_A_FILE_SET,
            f"{source_dir} has no DICOMDIR at its root, so it is not a DICOM file-set",
            source_dir,
        )
    _check_output(source_dir, output_file)
    tree = _scan(source_dir, kind)
    with _staged(output_file, fsync) as out:
        image_bytes = _master(tree, kind, volume_id, out, output_file, progress, fsync)
    result = ImageResult(
        output_file,
        kind,
        volume_id,
        image_bytes,
        tree.files,
        tree.directories,
        tree.content_bytes,
        time.perf_counter() - started,
    )
    log.info(
        "disc image %s: %s, %d files, %.1f MB in %.2f s",
        output_file,
        kind.value,
        tree.files,
        image_bytes / 1e6,
        result.seconds,
    )
    return result


_VOLUME_ID = re.compile(r"[A-Z0-9_]*")


def _check_volume_id(volume_id: str) -> None:
    if len(volume_id) > VOLUME_ID_MAX or not _VOLUME_ID.fullmatch(volume_id):
        raise DiscImageError(
            ImageProblem.BAD_VOLUME_ID,
            f"the volume label {volume_id!r} must be at most {VOLUME_ID_MAX} characters "
            "of A-Z, 0-9 and _ (a DICOM File-set ID)",
        )


def _check_output(source_dir: Path, output_file: Path) -> None:
    parent = output_file.parent
    if not parent.is_dir():
        raise DiscImageError(
            ImageProblem.OUTPUT_NOT_WRITABLE, f"the folder {parent} does not exist", parent
        )
    if output_file.is_dir():
        raise DiscImageError(
            ImageProblem.BAD_OUTPUT, f"{output_file} is a folder, not an image file", output_file
        )
    if output_file.resolve().is_relative_to(source_dir.resolve()):
        raise DiscImageError(
            ImageProblem.BAD_OUTPUT,
            f"the image {output_file} would be inside the file-set it is made from",
            output_file,
        )


def _scan(source_dir: Path, kind: ImageKind) -> _Tree:
    tree = _Tree()
    root = os.stat(source_dir)
    _scan_dir(tree, kind, source_dir, source_dir, "", "", 0, {(root.st_dev, root.st_ino)})
    return tree


def _scan_dir(
    tree: _Tree,
    kind: ImageKind,
    source_dir: Path,
    folder: Path,
    iso_prefix: str,
    real_prefix: str,
    depth: int,
    ancestors: set[tuple[int, int]],
) -> None:
    try:
        names = sorted(os.listdir(folder))
    except OSError as exc:
        raise _read_error(exc, folder) from exc
    stats: dict[str, os.stat_result] = {}
    for name in names:
        path = folder / name
        try:
            stats[name] = os.stat(path)  # follows links: a file-set may link to the store
        except OSError as exc:
            raise DiscImageError(
                ImageProblem.UNSUPPORTED_ENTRY,
                f"{_rel(source_dir, path)} cannot be read ({exc.strerror}); "
                "a broken link or a file that vanished",
                path,
            ) from exc
        if not (stat.S_ISDIR(stats[name].st_mode) or stat.S_ISREG(stats[name].st_mode)):
            raise DiscImageError(
                ImageProblem.UNSUPPORTED_ENTRY,
                f"{_rel(source_dir, path)} is neither a file nor a folder",
                path,
            )
        _check_name(kind, source_dir, path)
    _check_collisions(source_dir, folder, names)
    namer = IsoNamer([(n, stat.S_ISDIR(stats[n].st_mode)) for n in names])
    for name in names:
        st, path = stats[name], folder / name
        iso_path = f"{iso_prefix}/{namer.assigned[name]}"
        real_path = f"{real_prefix}/{name}"
        if stat.S_ISDIR(st.st_mode):
            if depth + 1 > MAX_DIRECTORY_DEPTH:
                raise DiscImageError(
                    ImageProblem.TOO_DEEP,
                    f"{_rel(source_dir, path)} is {depth + 2} levels deep; ISO 9660 and "
                    f"DICOM file-sets allow {MAX_DIRECTORY_DEPTH + 1}, the root included",
                    path,
                )
            if (st.st_dev, st.st_ino) in ancestors:
                raise DiscImageError(
                    ImageProblem.UNSUPPORTED_ENTRY,
                    f"{_rel(source_dir, path)} links back to a folder that contains it",
                    path,
                )
            tree.entries.append(_Entry(path, iso_path, real_path, name, True, False))
            tree.directories += 1
            _scan_dir(
                tree,
                kind,
                source_dir,
                path,
                iso_path,
                real_path,
                depth + 1,
                ancestors | {(st.st_dev, st.st_ino)},
            )
            continue
        if st.st_size > ISO_EXTENT_MAX and kind is not ImageKind.UDF_BRIDGE:
            raise DiscImageError(
                ImageProblem.FILE_TOO_LARGE,
                f"{_rel(source_dir, path)} is {st.st_size / 2**30:.1f} GiB; files of 4 GiB "
                f"or more need a UDF image ({ImageKind.UDF_BRIDGE.value})",
                path,
            )
        executable = bool(st.st_mode & 0o111)
        tree.entries.append(_Entry(path, iso_path + ";1", real_path, name, False, executable))
        tree.files += 1
        tree.content_bytes += st.st_size
        tree.largest = max(tree.largest, st.st_size)


def _check_name(kind: ImageKind, source_dir: Path, path: Path) -> None:
    name = path.name
    if FILE_ID_COMPONENT.fullmatch(name):
        return  # a File ID component fits every file system as it is (the common case)
    problem = joliet_problem(name)
    if problem is None and kind is ImageKind.ISO9660_JOLIET_RR:
        problem = rock_ridge_problem(name)
    if problem is None and kind is ImageKind.UDF_BRIDGE:
        problem = udf_problem(name)
    if problem is not None:
        raise DiscImageError(
            ImageProblem.UNREPRESENTABLE_NAME,
            f"the name {_rel(source_dir, path)!r} cannot be written to the disc: {problem}",
            path,
        )


def _check_collisions(source_dir: Path, folder: Path, names: list[str]) -> None:
    # Windows reads Joliet and UDF without regard to case: two such names would be one file.
    seen: dict[str, str] = {}
    for name in names:
        other = seen.setdefault(name.casefold(), name)
        if other != name:
            raise DiscImageError(
                ImageProblem.NAME_COLLISION,
                f"{_rel(source_dir, folder / other)!r} and {name!r} differ only in case; "
                "a Windows reader would see one file",
                folder / name,
            )


def _rel(source_dir: Path, path: Path) -> str:
    return str(path.relative_to(source_dir))


@contextlib.contextmanager
def _staged(output_file: Path, fsync: bool) -> Iterator[BinaryIO]:
    """An unnamed file beside `output_file`, renamed into place only if the block succeeds."""
    parent = output_file.parent
    named: Path | None = None
    try:
        try:
            fd = os.open(parent, os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, _IMAGE_PERMISSIONS)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
            # File systems without O_TMPFILE: a hidden name, removed on failure.
            fd, name = tempfile.mkstemp(dir=parent, prefix=f".{output_file.name}.", suffix=".part")
            named = Path(name)
            os.fchmod(fd, _IMAGE_PERMISSIONS)
    except OSError as exc:
        raise DiscImageError(
            ImageProblem.OUTPUT_NOT_WRITABLE,
            f"cannot create the image in {parent}: {exc.strerror}",
            parent,
        ) from exc
    out = os.fdopen(fd, "w+b")
    try:
        try:
            yield out
            out.flush()
            if fsync:
                os.fsync(fd)
            if named is None:
                named = parent / f".{output_file.name}.{os.getpid()}.{time.monotonic_ns()}.part"
                Linker().link(fd, named)
            os.replace(named, output_file)
            named = None
            if fsync:
                fsync_dir(parent)
        except OSError as exc:
            raise _write_error(exc, output_file) from exc
    finally:
        out.close()
        if named is not None:
            with contextlib.suppress(OSError):
                named.unlink()


def _master(
    tree: _Tree,
    kind: ImageKind,
    volume_id: str,
    out: BinaryIO,
    output_file: Path,
    progress: Progress | None,
    fsync: bool,
) -> int:
    rock_ridge = kind is ImageKind.ISO9660_JOLIET_RR
    udf = kind is ImageKind.UDF_BRIDGE
    iso = pycdlib.PyCdlib()
    try:
        # Level 3 only when a file needs several extents; names stay level 1 either way.
        iso.new(
            interchange_level=3 if tree.largest > ISO_EXTENT_MAX else 1,
            vol_ident=volume_id,
            app_ident_str=f"KILN {IMPLEMENTATION_VERSION_NAME}",
            joliet=3,
            rock_ridge="1.09" if rock_ridge else None,
            udf="2.60" if udf else None,
        )
        for entry in tree.entries:
            if entry.is_dir:
                iso.add_directory(
                    iso_path=entry.iso_path,
                    rr_name=entry.name if rock_ridge else None,
                    joliet_path=entry.real_path,
                    file_mode=_DIR_MODE if rock_ridge else None,
                    udf_path=entry.real_path if udf else None,
                )
            else:
                iso.add_file(
                    str(entry.source),
                    iso_path=entry.iso_path,
                    rr_name=entry.name if rock_ridge else None,
                    joliet_path=entry.real_path,
                    file_mode=(_EXEC_FILE_MODE if entry.executable else _FILE_MODE)
                    if rock_ridge
                    else None,
                    udf_path=entry.real_path if udf else None,
                )
        iso.force_consistency()
        image_bytes: int = iso.pvd.space_size * iso.logical_block_size
        _check_space(output_file, image_bytes)
        iso.write_fp(out, blocksize=COPY_BLOCK, progress_cb=_reporter(out, progress, fsync))
    except PyCdlibException as exc:
        # Our checks come first, so this is a limit they do not know yet: say it as it is.
        raise DiscImageError(
            ImageProblem.UNREPRESENTABLE_NAME, f"the image cannot hold this tree: {exc}"
        ) from exc
    except OSError as exc:
        raise _write_error(exc, output_file) from exc
    finally:
        iso.close()
    return image_bytes


def _check_space(output_file: Path, image_bytes: int) -> None:
    fs = os.statvfs(output_file.parent)
    free = fs.f_bavail * fs.f_frsize
    if free < image_bytes:
        raise DiscImageError(
            ImageProblem.NO_SPACE,
            f"the image needs {image_bytes / 1e6:.1f} MB and {output_file.parent} has "
            f"{free / 1e6:.1f} MB free",
            output_file.parent,
        )


def _reporter(
    out: BinaryIO, progress: Progress | None, fsync: bool
) -> Callable[[int, int, object], None]:
    fd = out.fileno()
    next_writeback = WRITEBACK_STEP if fsync else -1

    def report(done: int, total: int, _opaque: object) -> None:
        nonlocal next_writeback
        if 0 <= next_writeback <= done:
            # Start writing back what is written so far; the final fsync waits for less.
            _libc.sync_file_range(fd, 0, 0, _SYNC_FILE_RANGE_WRITE)
            next_writeback = done + WRITEBACK_STEP
        if progress is not None:
            progress(done, total)

    return report


def _read_error(exc: OSError, path: Path) -> DiscImageError:
    return DiscImageError(ImageProblem.READ_FAILED, f"cannot read {path}: {exc.strerror}", path)


def _write_error(exc: OSError, output_file: Path) -> DiscImageError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiscImageError(
            ImageProblem.NO_SPACE,
            f"the disk holding {output_file.parent} is full",
            output_file.parent,
        )
    if exc.filename is not None and Path(exc.filename) != output_file:
        return _read_error(exc, Path(exc.filename))
    return DiscImageError(
        ImageProblem.WRITE_FAILED, f"cannot write {output_file}: {exc.strerror}", output_file
    )
