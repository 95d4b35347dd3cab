"""What a medium carries besides the DICOM file-set: viewer, README, index page, AUTORUN.

All of it lies outside the DICOM folder and is not referenced by the DICOMDIR, which PS3.10
allows (a file-set may share its medium with other files), so no profile is broken. Names
are upper case 8.3 so ISO 9660 level 1 keeps them as they are.
"""

from __future__ import annotations

import html
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from appliance.media.labels import LabelData

VIEWER_DIR = "VIEWER"
README = "README.TXT"
INDEX_PAGE = "INDEX.HTM"
AUTORUN = "AUTORUN.INF"


@dataclass(frozen=True)
class ExtrasOptions:
    viewer_dir: Path | None = None  # copied as VIEWER/ when set
    readme: bool = True
    index_page: bool = True
    autorun: bool = False
    autorun_open: str = ""  # program inside the viewer folder AUTORUN.INF starts


def extras_size(options: ExtrasOptions) -> int:
    """Bytes the extras take on a medium (the viewer; the text files are small)."""
    total = 16 * 1024
    if options.viewer_dir is not None and options.viewer_dir.is_dir():
        for folder, _, files in os.walk(options.viewer_dir):
            total += sum((Path(folder) / name).stat().st_size for name in files)
    return total


def _lines(labels: LabelData) -> list[str]:
    lines = [
        f"Volume {labels.volume_text} - {labels.copy_type.value} copy",
        f"DICOM file-set {labels.file_set_id or '(no ID)'}, profile {labels.profile}",
    ]
    if labels.institution:
        lines.append(f"Institution: {labels.institution}")
    for patient in labels.patients:
        lines.append("")
        born = f", born {patient.birth_date}" if patient.birth_date else ""
        lines.append(f"Patient: {patient.name} (ID {patient.patient_id}{born})")
        for study in patient.studies:
            modalities = "/".join(study.modalities)
            what = study.description or "(no description)"
            lines.append(
                f"  {study.date} {study.time}  {modalities:<8} {what}  ({study.instances} images)"
            )
    return lines


def readme_text(labels: LabelData) -> str:
    return (
        "\r\n".join(
            [
                "This medium holds medical images in the DICOM format (PS3.10).",
                "Open the file DICOMDIR at its top level with any DICOM viewer.",
                "",
                *_lines(labels),
                "",
                "Written by Kiln.",
            ]
        )
        + "\r\n"
    )


def index_page(labels: LabelData, viewer: bool) -> str:
    rows = []
    for patient in labels.patients:
        for study in patient.studies:
            rows.append(
                "<tr>"
                + "".join(
                    f"<td>{html.escape(cell)}</td>"
                    for cell in (
                        patient.name,
                        patient.patient_id,
                        patient.birth_date,
                        f"{study.date} {study.time}",
                        "/".join(study.modalities),
                        study.description,
                        str(study.instances),
                    )
                )
                + "</tr>"
            )
    open_viewer = f'<p><a href="{VIEWER_DIR}/">Open the viewer</a></p>' if viewer else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(labels.file_set_id)}</title>
<style>body{{font-family:sans-serif}}td,th{{padding:2px 8px;text-align:left}}</style></head>
<body><h1>Medical images (DICOM)</h1>
<p>Volume {labels.volume_text}, {labels.copy_type.value} copy.
Open <code>DICOMDIR</code> with a DICOM viewer.</p>{open_viewer}
<table><tr><th>Patient</th><th>ID</th><th>Born</th><th>Study</th><th>Modality</th>
<th>Description</th><th>Images</th></tr>
{"".join(rows)}
</table></body></html>
"""


def autorun_text(options: ExtrasOptions, labels: LabelData) -> str:
    target = (
        f"{VIEWER_DIR}\\{options.autorun_open.replace('/', chr(92))}"
        if options.viewer_dir is not None and options.autorun_open
        else INDEX_PAGE
    )
    action = "open" if target.lower().endswith(".exe") else "shellexecute"
    label = labels.file_set_id or "DICOM"
    return f"[autorun]\r\n{action}={target}\r\nlabel={label}\r\n"


def write_extras(root: Path, options: ExtrasOptions, labels: LabelData) -> list[Path]:
    """Write the extras into the file-set directory `root`; returns what was written."""
    written: list[Path] = []
    viewer = options.viewer_dir is not None
    if options.viewer_dir is not None:
        shutil.copytree(options.viewer_dir, root / VIEWER_DIR, symlinks=False)
        written.append(root / VIEWER_DIR)
    texts: list[tuple[str, str]] = []
    if options.readme:
        texts.append((README, readme_text(labels)))
    if options.index_page:
        texts.append((INDEX_PAGE, index_page(labels, viewer)))
    if options.autorun:
        texts.append((AUTORUN, autorun_text(options, labels)))
    for name, text in texts:
        path = root / name
        # UTF-8 with a byte-order mark: Windows editors then show names in any script.
        path.write_bytes(text.encode("utf-8-sig") if name == README else text.encode("utf-8"))
        written.append(path)
    return written
