"""Film composition time and memory: Kiln composing a 14INX17IN STANDARD\\4,5 film of 20
512x512 12-bit images, against DCMTK dcmj2pnm rendering the same 20 images one by one.

    .venv/bin/python -m bench.print_compose [--repeat N] [--quick] [--out FILE]

The 20 images are seeded (the same on every machine) and written twice: as DICOM files
(MONOCHROME2, 16 bits allocated, 12 stored, pydicom) for the peer, and as .npy arrays, the
form the Print SCP hands to composition (film.py). Interleaved rounds, the order
alternating, medians:

- kiln: a child Python process imports the composer, loads the arrays and composes the film
  (appliance.printing.compose.render.compose_film, default 150 dpi, CUBIC, IDENTITY). The
  first call is "cold" (what the first film after a start costs), then 5 "warm" calls
  (what the long-running print runner pays per film). The child's wall time, and its peak
  RSS (VmHWM, the whole process incl. the interpreter, numpy and Pillow), are recorded.
- dcmj2pnm: `dcmj2pnm +Wm <file> <file>.pgm` for each of the 20 files, one after the other
  (read, decode, min-max VOI window, 8-bit output: the per-image work a toolkit does before
  any layout); the total wall time, and (in a separate pass under GNU time, not timed) the
  largest peak RSS of the 20 processes.

A 300 dpi composition (the resolution of a laser printer's page) is measured as well.
Results go between the print-compose-bench markers of docs/performance.md (--quick:
bench/results/performance-print-compose-quick.md), raw JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from bench.doc_block import replace_block as replace_marked
from bench.receive import REPO, RESULTS, dcmtk, first_line, loadavg, machine_facts

DOC = REPO / "docs" / "performance.md"
START_MARK = "<!-- print-compose-bench: start -->"
END_MARK = "<!-- print-compose-bench: end -->"
IMAGES, SIZE, SEED = 20, 512, 20261203
WARM_CALLS = 5
TIME = "/usr/bin/time"  # GNU time (Debian package "time")

KILN_CHILD = """
import json, sys, time
from pathlib import Path
started = time.perf_counter()
import numpy as np
from appliance.printing.compose.render import compose_film
from appliance.printing.film import FilmBoxSpec, ImageBoxSpec
imported = time.perf_counter()
folder, dpi, warm = Path(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
boxes = tuple(
    ImageBoxSpec(position=i + 1, pixels=np.load(folder / f"{i:02d}.npy"), bits_stored=12)
    for i in range(20)
)
film = FilmBoxSpec(image_display_format="STANDARD\\\\4,5", film_size_id="14INX17IN",
                   image_boxes=boxes)
def status_kib(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
before = status_kib("VmRSS")
begin = time.perf_counter()
composed = compose_film(film, dpi=dpi)
cold = time.perf_counter() - begin
warm_times = []
for _ in range(warm):
    begin = time.perf_counter()
    compose_film(film, dpi=dpi)
    warm_times.append(time.perf_counter() - begin)
print(json.dumps({
    "imports_s": imported - started, "cold_s": cold, "warm_s": warm_times,
    "size": composed.image.size, "rss_before_compose_kib": before,
    "peak_rss_kib": status_kib("VmHWM"),
}))
"""


def make_images(folder: Path) -> list[Path]:
    """20 seeded 512x512 12-bit images: a smooth disc phantom with structure and noise."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    y, x = np.mgrid[0:SIZE, 0:SIZE] / (SIZE - 1) - 0.5
    radius = np.hypot(x, y)
    files = []
    for index in range(IMAGES):
        base = np.where(radius < 0.45, 1800 + 1200 * np.cos(radius * (6 + index)), 100)
        pixels = np.clip(base + rng.normal(0, 60, (SIZE, SIZE)), 0, 4095).astype(np.uint16)
        np.save(folder / f"{index:02d}.npy", pixels)
        files.append(write_dicom(folder / f"{index:02d}.dcm", pixels))
    return files


def write_dicom(path: Path, pixels: np.ndarray[Any, Any]) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.Modality = "OT"
    ds.PatientName = "BENCH^PRINT"
    ds.PatientID = "PRINT1"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.astype("<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def run_kiln(folder: Path, dpi: float) -> dict[str, Any]:
    begin = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", KILN_CHILD, str(folder), str(dpi), str(WARM_CALLS)],
        cwd=REPO,
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    if proc.wait():
        raise SystemExit(f"kiln child failed ({proc.returncode})")
    wall = time.perf_counter() - begin
    result: dict[str, Any] = json.loads(out)
    result["process_s"] = wall
    return result


def run_dcmj2pnm(files: list[Path], out: Path) -> dict[str, Any]:
    begin = time.perf_counter()
    for path in files:
        argv = [dcmtk("dcmj2pnm"), "+Wm", str(path), str(out / f"{path.stem}.pgm")]
        subprocess.run(argv, check=True)
    wall = time.perf_counter() - begin
    pgm = out / f"{files[0].stem}.pgm"
    assert pgm.stat().st_size >= SIZE * SIZE, "dcmj2pnm wrote no image"
    # Memory in a separate, untimed pass: GNU time run from a shell. Linux carries a
    # parent's RSS high-water mark into ru_maxrss of a child it forks or vforks, so GNU
    # time started from this (large) process would report our size, not dcmj2pnm's; the
    # shell in between starts small, and so does everything it forks.
    script = 'for f in "$@"; do "$0" -f %M -a -o "$F" "$D" +Wm "$f" "$O" || exit 1; done'
    report = out / "rss.txt"
    report.unlink(missing_ok=True)
    env = {"F": str(report), "D": dcmtk("dcmj2pnm"), "O": str(out / "m.pgm")}
    subprocess.run(["/bin/sh", "-c", script, TIME, *map(str, files)], check=True, env=env)
    peak = max(int(line) for line in report.read_text().split())
    return {"total_s": wall, "peak_rss_kib": peak}


def summarise(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    summary: dict[str, Any] = {}
    for key in ("kiln150", "kiln300"):
        runs = [r[key] for r in rounds]
        summary[key] = {
            "cold_s": med([r["cold_s"] for r in runs]),
            "warm_s": med([statistics.median(r["warm_s"]) for r in runs]),
            "process_s": med([r["process_s"] for r in runs]),
            "imports_s": med([r["imports_s"] for r in runs]),
            "peak_rss_mib": med([r["peak_rss_kib"] / 1024 for r in runs]),
            "rss_before_mib": med([r["rss_before_compose_kib"] / 1024 for r in runs]),
            "size": runs[0]["size"],
        }
    peer = [r["dcmj2pnm"] for r in rounds]
    summary["dcmj2pnm"] = {
        "total_s": med([r["total_s"] for r in peer]),
        "peak_rss_mib": med([r["peak_rss_kib"] / 1024 for r in peer]),
    }
    return summary


def markdown(summary: dict[str, Any], facts: dict[str, str], repeat: int, argv: list[str]) -> str:
    peer = summary["dcmj2pnm"]["total_s"]
    lines = [
        "## Print: film composition, Kiln vs DCMTK dcmj2pnm",
        "",
        f"Run `{' '.join(['python -m bench.print_compose', *argv])}` on {facts['date']}; "
        f"{repeat} rounds, interleaved, medians. A 14INX17IN STANDARD\\4,5 film of 20 seeded "
        "512x512 12-bit images (CUBIC, IDENTITY, border BLACK); the peer renders the same 20 "
        "images as DICOM files with `dcmj2pnm +Wm`, one process per image, one after the other.",
        "",
        "| what | time (s) | vs dcmj2pnm's 20 images | peak RSS (MiB) |",
        "|---|--:|--:|--:|",
    ]
    for key, dpi in (("kiln150", 150), ("kiln300", 300)):
        row = summary[key]
        width, height = row["size"]
        lines += [
            f"| Kiln compose_film, {dpi} dpi ({width}x{height} px), warm call | "
            f"{row['warm_s']:.3f} | {row['warm_s'] / peer:.2f}x | - |",
            f"| Kiln compose_film, {dpi} dpi, first call in a fresh process | "
            f"{row['cold_s']:.3f} | {row['cold_s'] / peer:.2f}x | - |",
            f"| Kiln whole child process, {dpi} dpi (start, imports, load, 1+{WARM_CALLS} films) | "
            f"{row['process_s']:.3f} | {row['process_s'] / peer:.2f}x | "
            f"{row['peak_rss_mib']:.0f} (before composing: {row['rss_before_mib']:.0f}) |",
        ]
    lines += [
        f"| DCMTK dcmj2pnm +Wm, 20 images (20 processes) | {peer:.3f} | 1.00x | "
        f"{summary['dcmj2pnm']['peak_rss_mib']:.0f} (largest process) |",
        "",
        "Ratios are time / dcmj2pnm's time (below 1 = faster than the peer).",
        "",
        "<details><summary>Machine</summary>",
        "",
        *[f"- {key}: {value}" for key, value in facts.items()],
        "",
        "</details>",
        "",
    ]
    return "\n".join(lines)


def write_doc(doc: Path, block: str) -> None:
    replace_marked(doc, START_MARK, END_MARK, block)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--repeat", type=int, default=None, help="rounds (7; quick 2)")
    parser.add_argument("--quick", action="store_true", help="2 rounds, to a scratch file")
    parser.add_argument("--out", type=Path, default=None, help="markdown file for the block")
    args = parser.parse_args()
    repeat = args.repeat or (2 if args.quick else 7)
    load_before = loadavg()
    rounds: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="kiln-print-bench-") as scratch:
        folder = Path(scratch) / "images"
        files = make_images(folder)
        out = Path(scratch) / "pgm"
        out.mkdir()
        for index in range(repeat):
            result: dict[str, Any] = {}
            order = ["kiln", "dcmj2pnm"] if index % 2 == 0 else ["dcmj2pnm", "kiln"]
            for name in order:
                if name == "kiln":
                    result["kiln150"] = run_kiln(folder, 150.0)
                    result["kiln300"] = run_kiln(folder, 300.0)
                else:
                    result["dcmj2pnm"] = run_dcmj2pnm(files, out)
            rounds.append(result)
            print(
                f"round {index + 1}/{repeat}: kiln {result['kiln150']['warm_s']}, "
                f"dcmj2pnm {result['dcmj2pnm']['total_s']:.3f} s",
                file=sys.stderr,
            )
    facts = machine_facts(load_before, {"dcmj2pnm": first_line([dcmtk("dcmj2pnm"), "--version"])})
    summary = summarise(rounds)
    argv = sys.argv[1:]
    block = markdown(summary, facts, repeat, argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"print-compose-{stamp}.json").write_text(
        json.dumps({"summary": summary, "rounds": rounds, "facts": facts}, indent=1)
    )
    target = args.out or (RESULTS / "performance-print-compose-quick.md" if args.quick else DOC)
    write_doc(target, block)
    print(block)


if __name__ == "__main__":
    main()
