"""The print archive: every printed film kept as a PDF page at its true film size.

`[print] archive = "pdf"` writes <data>/print-archive/YYYY-MM-DD/<job>-<calling AE>.pdf
after a job is printed (paper or film), so what a modality printed can be looked at, or
copied onto a disc, later. A film that cannot be archived is logged and never fails the
print job: the film itself was printed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from pathlib import Path

from appliance.printing.compose.pdf import paper_pdf
from appliance.printing.compose.render import compose_film
from appliance.printing.film import PrintRequest

log = logging.getLogger(__name__)
ARCHIVE_DIR = "print-archive"
ARCHIVE_DPI = 150.0
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def archive_pdf(data_dir: Path, job_id: int, request: PrintRequest, when: float) -> Path | None:
    """Write the job's films as a PDF; the path, or None when it could not be written."""
    day = dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%d")
    # The calling AE title comes from the network: only safe characters reach the name.
    caller = _SAFE.sub("_", request.calling_ae.strip()) or "unknown"
    target = data_dir / ARCHIVE_DIR / day / f"{job_id:06d}-{caller}.pdf"
    try:
        films = [compose_film(film, dpi=ARCHIVE_DPI) for film in request.films]
        pdf = paper_pdf(films, None, caption=request.session.film_session_label)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".part")
        with open(temporary, "wb") as out:
            out.write(pdf.data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except (OSError, ValueError) as error:
        log.warning("print job %d: the archive PDF was not written: %s", job_id, error)
        return None
    return target
