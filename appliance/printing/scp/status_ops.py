"""Printer N-GET and Print Job N-GET (PS3.4 H.4.6, H.4.7; seed 004 table 56, seed 002 3.2)."""

from __future__ import annotations

from pydicom.dataset import Dataset

from appliance.dicom import command as cmd
from appliance.dicom.command import Status
from appliance.printing.scp.exchange import Answer, Exchange, Tools
from appliance.printing.scp.refused import Refused
from appliance.printing.scp.session import PrintSession
from appliance.printing.scp.uids import PRINTER_INSTANCE


def printer(session: PrintSession, exchange: Exchange, tools: Tools) -> Answer:
    if exchange.uid != PRINTER_INSTANCE:
        raise Refused(Status.NO_SUCH_OBJECT_INSTANCE, f"the Printer is {PRINTER_INSTANCE}")
    report = tools.backend.printer(session.called_ae)
    ds = Dataset()
    ds.PrinterStatus = str(report.status)
    ds.PrinterStatusInfo = report.status_info
    ds.PrinterName = report.printer_name[:64]
    ds.Manufacturer = report.manufacturer
    ds.ManufacturerModelName = report.model_name
    ds.DeviceSerialNumber = report.serial_number
    ds.SoftwareVersions = report.software_versions
    # The outputs report no calibration; PS3.4 lets these be returned empty.
    ds.DateOfLastCalibration = ""
    ds.TimeOfLastCalibration = ""
    return Answer(_selected(ds, exchange))


def print_job(session: PrintSession, exchange: Exchange, tools: Tools) -> Answer:
    report = tools.backend.job(exchange.uid)
    if report is None:
        raise Refused(Status.NO_SUCH_OBJECT_INSTANCE, "no such print job")
    ds = Dataset()
    ds.ExecutionStatus = str(report.execution_status)
    ds.ExecutionStatusInfo = report.execution_status_info
    ds.PrintPriority = report.print_priority
    ds.CreationDate = report.creation_date
    ds.CreationTime = report.creation_time
    ds.PrinterName = report.printer_name[:64]
    ds.Originator = report.originator
    return Answer(_selected(ds, exchange))


def _selected(ds: Dataset, exchange: Exchange) -> Dataset:
    """The attributes the Attribute Identifier List asks for; all when it is empty.

    One the object does not have is left out with warning 0x0107 (PS3.7 10.1.2.1.9).
    """
    wanted = exchange.command.get_tags(cmd.ATTRIBUTE_IDENTIFIER_LIST)
    if not wanted:
        return ds
    selected = Dataset()
    for tag in wanted:
        if tag in ds:
            selected[tag] = ds[tag]
        else:
            exchange.warnings.add(
                Status.ATTRIBUTE_LIST_ERROR, f"({tag >> 16:04X},{tag & 0xFFFF:04X}) not here"
            )
    return selected
