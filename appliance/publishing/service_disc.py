"""The field engineer's test disc (`appliance device test-burn NAME`): one real disc through
a station with no patient on it.

The disc holds a file-set of one synthetic Secondary Capture ("KILN^TEST DISC"), a DICOMDIR
and a label, and goes the whole way a patient disc goes: picked, burned, verified,
labelled, unloaded (a manual station burns and ejects). The CLI burns it on a station it
opens itself while the devices role is stopped; the devices role burns it on a station it
borrows from its job runner between discs (appliance/roles/device_tests.py). Both build it
here, the same way.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from appliance.labels.geometry import DiscGeometry
from appliance.media.copies import CopyType
from appliance.media.labels import LabelData, LabelPatient, LabelStudy
from appliance.media.profiles import Medium
from appliance.publishing.station import DiscOrder, DiscStep, Progress, Station

TEST_PATIENT = "KILN^TEST DISC"
VOLUME_ID = "KILN_TEST"
STEPS = [
    DiscStep.PICKING,
    DiscStep.BURNING,
    DiscStep.VERIFYING,
    DiscStep.PRINTING,
    DiscStep.UNLOADING,
]


def synthetic_fileset(root: Path) -> None:
    """A file-set of one synthetic image: DICOMDIR at `root`, the image below it."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.fileset import FileSet
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.PatientName, ds.PatientID = TEST_PATIENT, "KILNTEST"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.StudyDate, ds.StudyTime, ds.StudyID, ds.AccessionNumber = "20260101", "000000", "1", ""
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber, ds.ConversionType = "OT", 1, 1, "WSD"
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = 64
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = bytes((x ^ y) & 0xFF for y in range(64) for x in range(64))
    fileset = FileSet()
    fileset.ID = VOLUME_ID
    fileset.add(ds)
    fileset.write(root)


def synthetic_label() -> LabelData:
    study = LabelStudy("2026-01-01", "00:00", ("OT",), "Test disc", "", 1)
    patient = LabelPatient("Test disc", TEST_PATIENT, "KILNTEST", "", "", (study,))
    return LabelData((patient,), "Kiln", 1, 1, CopyType.PATIENT, VOLUME_ID, "STD-GEN-CD")


def overall(step: DiscStep, fraction: float) -> float:
    """A step's fraction as a fraction of the whole disc (0..1), for one progress bar."""
    done = STEPS.index(step) + fraction if step in STEPS else 0.0
    return min(max(done / len(STEPS), 0.0), 1.0)


def burn_test_disc(
    station: Station,
    medium: Medium,
    geometry: DiscGeometry,
    scratch_dir: Path,
    progress: Progress,
) -> None:
    """Build the test disc's image and label in a scratch folder under `scratch_dir` and
    make the disc on `station` (which must be free for it); the folder goes either way.
    DiscFailed and StationFault come from the station, with its sentence."""
    from appliance.labels import LabelFormat, load_template, render_label
    from appliance.media.disc_image import ImageKind, build_image

    scratch_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kiln-test-disc-", dir=scratch_dir) as scratch:
        work = Path(scratch)
        (work / "fileset").mkdir()
        synthetic_fileset(work / "fileset")
        image = work / "test.iso"
        build_image(work / "fileset", image, volume_id=VOLUME_ID, kind=ImageKind.ISO9660_JOLIET_RR)
        label = render_label(
            load_template("minimal"),
            synthetic_label(),
            geometry,
            fmt=LabelFormat.PNG,
            out=work / "label.png",
        )
        order = DiscOrder(0, 0, image, image.stat().st_size, medium, synthetic_label(), label)
        station.make_disc(order, progress)
