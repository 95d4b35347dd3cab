"""`appliance device test-burn NAME`: one real disc through a station, with no patient on it.

The disc holds a file-set of one synthetic Secondary Capture ("KILN^TEST DISC"), a DICOMDIR
and a label, and goes the whole way a patient disc goes: picked, burned, verified,
labelled, unloaded (a manual station burns and ejects). It shows a field engineer that
robot, drives and printer work together, without a job in the queue. Like `device test`
it needs the devices role stopped: the role holds the devices while it runs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from appliance.cli.context import Context, pass_ctx
from appliance.media.copies import CopyType
from appliance.media.labels import LabelData, LabelPatient, LabelStudy
from appliance.media.profiles import Medium
from appliance.publishing.station import DiscFailed, DiscOrder, DiscStep, StationFault

TEST_PATIENT = "KILN^TEST DISC"
STEPS = [
    DiscStep.PICKING,
    DiscStep.BURNING,
    DiscStep.VERIFYING,
    DiscStep.PRINTING,
    DiscStep.UNLOADING,
]


def test_fileset(root: Path) -> None:
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
    fileset.ID = "KILN_TEST"
    fileset.add(ds)
    fileset.write(root)


def _label() -> LabelData:
    study = LabelStudy("2026-01-01", "00:00", ("OT",), "Test disc", "", 1)
    patient = LabelPatient("Test disc", TEST_PATIENT, "KILNTEST", "", "", (study,))
    return LabelData((patient,), "Kiln", 1, 1, CopyType.PATIENT, "KILN_TEST", "STD-GEN-CD")


@click.command("test-burn")
@click.argument("name")
@pass_ctx
def device_test_burn(obj: Context, name: str) -> None:
    """Burn, verify and label one test disc (no patient data) on station NAME."""
    from appliance.cli.device_cmds import _report
    from appliance.labels import LabelFormat, load_template, render_label
    from appliance.media.disc_image import ImageKind, build_image
    from appliance.publishing.stations.factory import MEDIUM, build_stations

    settings = obj.config.publishing.stations.get(name)
    if settings is None:
        known = ", ".join(obj.config.publishing.stations) or "none"
        raise click.ClickException(f"there is no station {name} (stations: {known})")
    report = _report(obj)
    if report and (report["roles"].get("devices") or {}).get("up"):
        raise click.ClickException(
            f"the devices role is running and holds the {name} devices: no disc was burned. "
            "Stop it (systemctl stop kiln-devices), run the test, then start it again"
        )
    data_dir = obj.config.box.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    medium = MEDIUM[settings.media[0]] if settings.media else Medium.CD
    with tempfile.TemporaryDirectory(prefix="kiln-test-disc-", dir=data_dir) as scratch:
        work = Path(scratch)
        (work / "fileset").mkdir()
        test_fileset(work / "fileset")
        image = work / "test.iso"
        build_image(
            work / "fileset", image, volume_id="KILN_TEST", kind=ImageKind.ISO9660_JOLIET_RR
        )
        label = render_label(
            load_template("minimal"),
            _label(),
            obj.config.publishing.label,
            fmt=LabelFormat.PNG,
            out=work / "label.png",
        )
        order = DiscOrder(0, 0, image, image.stat().st_size, medium, _label(), label)
        built = build_stations({name: settings}, data_dir)
        try:
            if name in built.problems:
                raise click.ClickException(built.problems[name])
            station = built.stations[0]
            station.recover()
            with click.progressbar(length=100, label="Test disc", file=sys.stderr) as bar:

                def progress(step: DiscStep, fraction: float) -> None:
                    done = STEPS.index(step) + fraction if step in STEPS else 0.0
                    bar.update(max(0, int(done / len(STEPS) * 100) - bar.pos))

                station.make_disc(order, progress)
        except (DiscFailed, StationFault) as error:
            raise click.ClickException(f"the test disc failed: {error}") from None
        finally:
            built.close()
    click.echo(f"{station.name}: a test disc was burned, verified, labelled and unloaded.")
