"""Generate deterministic DICOM test data for the receive benchmark.

    .venv/bin/python -m bench.make_data [DIR] [--quick]

Writes DIR/ct (600 CT 512x512), DIR/small (3,000 MR 64x64) and DIR/ct-split4/part0..3
(hard links to DIR/ct, so the 4-association scenario sends the very same files);
--quick writes 60 / 300 instances under DIR/quick/ instead.
A directory that already holds the right number of files is reused.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    CTImageStorage,
    ExplicitVRLittleEndian,
    MRImageStorage,
    generate_uid,
)

DEFAULT_DIR = Path(__file__).resolve().parent / "data"
FULL_COUNTS = {"ct": 600, "small": 3000}
QUICK_COUNTS = {"ct": 60, "small": 300}
SPLIT = 4
SMALL_SERIES = 10  # one study, a few series, as a modality would send it


def uid(*parts: object) -> UID:
    # Seeded UIDs: the same data set every time, on every machine.
    return generate_uid(entropy_srcs=["kiln-bench", *map(str, parts)])


def instance(kind: str, index: int, pixels: np.ndarray) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    sop_class = CTImageStorage if kind == "ct" else MRImageStorage
    series = 0 if kind == "ct" else index % SMALL_SERIES
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.file_meta.MediaStorageSOPInstanceUID = uid(kind, "instance", index)
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = uid(kind, "study")
    ds.SeriesInstanceUID = uid(kind, "series", series)
    ds.PatientName = f"BENCH^{kind.upper()}"
    ds.PatientID = f"BENCH-{kind.upper()}"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "O"
    ds.StudyDate = ds.SeriesDate = "20240101"
    ds.StudyTime = ds.SeriesTime = "120000"
    ds.AccessionNumber = f"ACC-{kind.upper()}"
    ds.StudyID = "1"
    ds.ReferringPhysicianName = ""
    ds.Modality = "CT" if kind == "ct" else "MR"
    ds.SeriesNumber = series + 1
    ds.InstanceNumber = index + 1
    ds.ImagePositionPatient = [0.0, 0.0, float(index)]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.PixelSpacing = [0.7, 0.7]
    ds.SliceThickness = 1.0
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    if kind == "ct":
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
    ds.PixelData = pixels.astype("<u2").tobytes()
    return ds


def generate(kind: str, directory: Path, count: int) -> None:
    size = 512 if kind == "ct" else 64
    rng = np.random.default_rng(20240101 if kind == "ct" else 20240102)
    # A disc phantom plus noise: realistic enough, and the noise defeats any
    # accidental shortcut for all-zero or repeated pixel data.
    yy, xx = np.mgrid[:size, :size]
    disc = ((xx - size / 2) ** 2 + (yy - size / 2) ** 2 < (0.4 * size) ** 2) * 1000.0
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.dcm"):
        stale.unlink()
    for i in range(count):
        noise = rng.normal(0.0, 40.0, (size, size))
        pixels = np.clip(disc + 1024 + noise, 0, 4095)
        instance(kind, i, pixels).save_as(
            directory / f"{kind.upper()}{i:06d}.dcm", enforce_file_format=True
        )


def ensure(kind: str, directory: Path, count: int) -> list[Path]:
    files = sorted(directory.glob("*.dcm"))
    if len(files) != count:
        print(f"generating {count} {kind} instances in {directory}", file=sys.stderr)
        generate(kind, directory, count)
        files = sorted(directory.glob("*.dcm"))
    return files


def split(files: list[Path], directory: Path, parts: int) -> list[Path]:
    # Always rebuilt (it is only links), so it can never point at stale data.
    dirs = [directory / f"part{n}" for n in range(parts)]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)
        for stale in d.glob("*.dcm"):
            stale.unlink()
    for i, f in enumerate(files):
        os.link(f, dirs[i % parts] / f.name)
    return dirs


def ensure_all(root: Path, quick: bool) -> dict[str, list[Path]]:
    """Return, per scenario, the directories that the storescu processes send."""
    counts = QUICK_COUNTS if quick else FULL_COUNTS
    if quick:  # own subdirectory, so quick and full data never overwrite each other
        root = root / "quick"
    ct = ensure("ct", root / "ct", counts["ct"])
    ensure("small", root / "small", counts["small"])
    return {
        "ct": [root / "ct"],
        "small": [root / "small"],
        "ct-x4": split(ct, root / "ct-split4", SPLIT),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--quick", action="store_true", help="60 ct / 300 small instances")
    args = parser.parse_args()
    for scenario, dirs in ensure_all(args.directory, args.quick).items():
        n = sum(len(list(d.glob("*.dcm"))) for d in dirs)
        print(f"{scenario}: {n} files in {', '.join(map(str, dirs))}")


if __name__ == "__main__":
    main()
