"""Disc image build time: Kiln (pycdlib) vs genisoimage vs xorriso on one file-set.

    .venv/bin/python -m bench.disc_image [--repeat N] [--quick] [--tmp DIR] [--out FILE]

The file-set is 600 CT instances from bench/make_data.py, hard-linked into
bench/data/disc-image/<n>/DICOM/ST000000/SE000000/IMnnnnnn with a DICOMDIR from DCMTK
dcmmkdir. Each tool runs as its own process on the same tree, interleaved, order rotated
each round; medians reported. Results go between the disc-image markers of
docs/performance.md (--quick: bench/results/performance-disc-image-quick.md), raw JSON to
bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.doc_block import replace_block as replace_marked
from bench.make_data import DEFAULT_DIR, ensure
from bench.receive import REPO, RESULTS, dcmtk, first_line, loadavg, machine_facts

DOC = REPO / "docs" / "performance.md"
START_MARK = "<!-- disc-image-bench: start -->"
END_MARK = "<!-- disc-image-bench: end -->"
VOLUME_ID = "KILNBENCH"
SERIES = "DICOM/ST000000/SE000000"
TIME = "/usr/bin/time"  # GNU time (Debian package "time")

# What the child runs for Kiln: the library call the burn pipeline makes, timed inside too.
KILN_CHILD = """
import json, sys, time
from pathlib import Path
from appliance.media.disc_image import ImageKind, build_image
source, output, kind, fsync = sys.argv[1:5]
started = time.perf_counter()
build_image(Path(source), Path(output), volume_id=sys.argv[5], kind=ImageKind[kind],
            fsync=fsync == "1")
print(json.dumps({"build_seconds": time.perf_counter() - started}))
"""


@dataclass(frozen=True)
class Tool:
    name: str
    scenario: str  # "iso": ISO 9660 + Joliet + Rock Ridge; "udf": with UDF beside it
    note: str

    def argv(self, tree: Path, out: Path) -> list[str]:
        if self.name.startswith("kiln"):
            kind = "UDF_BRIDGE" if self.scenario == "udf" else "ISO9660_JOLIET_RR"
            fsync = "0" if self.name.endswith("nofsync") else "1"
            return [sys.executable, "-c", KILN_CHILD, str(tree), str(out), kind, fsync, VOLUME_ID]
        udf = ["-udf"] if self.scenario == "udf" else []
        front = (
            ["genisoimage"]
            if self.name.startswith("genisoimage")
            else ["xorriso", "-as", "mkisofs"]
        )
        return [*front, "-quiet", "-J", "-r", *udf, "-V", VOLUME_ID, "-o", str(out), str(tree)]


TOOLS = (
    Tool("kiln", "iso", "ISO9660_JOLIET_RR, fsync before rename"),
    Tool("kiln-nofsync", "iso", "ISO9660_JOLIET_RR, fsync=False"),
    Tool("genisoimage", "iso", "-J -r, no fsync"),
    Tool("xorriso", "iso", "-as mkisofs -J -r, no fsync"),
    Tool("kiln", "udf", "UDF_BRIDGE, fsync before rename"),
    Tool("kiln-nofsync", "udf", "UDF_BRIDGE, fsync=False"),
    Tool("genisoimage", "udf", "-J -r -udf, no fsync"),
)


def make_tree(quick: bool) -> tuple[Path, int]:
    """The file-set tree (reused when complete) and the size of its files."""
    count = 60 if quick else 600
    source = DEFAULT_DIR / ("quick/ct" if quick else "ct")
    files = ensure("ct", source, count)
    tree = DEFAULT_DIR / "disc-image" / str(count)
    series = tree / SERIES
    series.mkdir(parents=True, exist_ok=True)
    for n, path in enumerate(files):
        link = series / f"IM{n:06d}"
        if not link.exists():
            os.link(path, link)
    if not (tree / "DICOMDIR").exists():
        subprocess.run(
            [dcmtk("dcmmkdir"), "-q", "+r", "-Pgp", "+id", ".", "+F", VOLUME_ID,
             "+D", "DICOMDIR", "DICOM"],
            cwd=tree, check=True,
        )  # fmt: skip
    all_files = [p for p in tree.rglob("*") if p.is_file()]
    for path in all_files:  # into the page cache, as a file-set just built would be
        path.read_bytes()
    return tree, sum(p.stat().st_size for p in all_files)


def run_once(tool: Tool, tree: Path, work: Path, files: int) -> dict[str, float]:
    out = work / f"{tool.name}-{tool.scenario}.iso"
    peak = work / "peak-kib"
    # GNU time forks the tool from a small process and reports its wait4() ru_maxrss: the
    # child of a vfork from this (large) Python process would inherit our peak instead.
    argv = [TIME, "-f", "%M", "-o", str(peak), *tool.argv(tree, out)]
    started = time.perf_counter()
    done = subprocess.run(argv, stdout=subprocess.PIPE, cwd=REPO, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{tool.name} ({tool.scenario}) exited with {done.returncode}")
    found = count_files(out)
    if found != files:
        raise RuntimeError(
            f"{tool.name} ({tool.scenario}): {found} files in the image, not {files}"
        )
    result = {
        "seconds": seconds,
        "peak_rss_mib": int(peak.read_text().split()[-1]) / 1024,
        "image_bytes": float(out.stat().st_size),
    }
    if tool.name.startswith("kiln"):
        result["build_seconds"] = json.loads(done.stdout)["build_seconds"]
    out.unlink()
    subprocess.run(["sync"], check=True)  # no tool pays for the last one's dirty pages
    return result


def count_files(image: Path) -> int:
    listing = subprocess.run(
        ["xorriso", "-indev", str(image), "-find", "/", "-type", "f"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return sum(1 for line in listing.splitlines() if line.startswith("'/"))


def summarise(runs: dict[Tool, list[dict[str, float]]], payload: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for tool, results in runs.items():
        seconds = statistics.median(r["seconds"] for r in results)
        row: dict[str, object] = {
            "tool": tool.name,
            "scenario": tool.scenario,
            "note": tool.note,
            "median_seconds": seconds,
            "mb_per_s": payload / 1e6 / seconds,
            "peak_rss_mib": statistics.median(r["peak_rss_mib"] for r in results),
            "image_mb": results[0]["image_bytes"] / 1e6,
            "all_seconds": [round(r["seconds"], 3) for r in results],
        }
        if "build_seconds" in results[0]:
            row["build_seconds"] = statistics.median(r["build_seconds"] for r in results)
            # Interpreter start-up, imports and exit: the child's time outside build_image.
            row["startup_seconds"] = statistics.median(
                r["seconds"] - r["build_seconds"] for r in results
            )
        rows.append(row)
    for row in rows:
        base = next(
            r for r in rows if r["tool"] == "genisoimage" and r["scenario"] == row["scenario"]
        )
        row["vs_genisoimage"] = float(base["median_seconds"]) / float(row["median_seconds"])  # type: ignore[arg-type]
    return rows


METHOD = """## Disc image build time (ISO 9660 / UDF)

Kiln's `appliance.media.disc_image.build_image` (pycdlib) against `genisoimage` and
`xorriso -as mkisofs`, measured in one run on the same tree by `bench/disc_image.py`: a
file-set of {files} files, {mb:.1f} MB (600 CT instances of `bench/make_data.py` hard-linked as
`{series}/IMnnnnnn`, DICOMDIR by `dcmmkdir`).

- **Time** is the wall clock of one child process, from start to exit, output written to a
  fresh temporary directory. Kiln's child is a Python interpreter that imports Kiln and calls
  `build_image`, so its time includes interpreter start-up; **in-process** is the time of the
  `build_image` call alone, which is what the devices role pays (it is already running);
  **start-up** is the rest of the child's time (interpreter, imports, exit), medians of each.
- **Durability differs**: `kiln` fsyncs the image and its directory before it is renamed into
  place; genisoimage and xorriso do not sync. `kiln-nofsync` (`fsync=False`) is the
  like-for-like row. `sync` runs after every run, outside the timing.
- **Check**: every image is listed with xorriso after its run and must hold all {files} files.
- **Peak RSS** = the child's `ru_maxrss` (its VmHWM) as GNU `time -f %M` reports it, median.
- Input files are read once beforehand (page cache warm, as right after a file-set build).
- {repeat} rounds; in each round every tool runs once, order rotated; medians reported.
  **vs genisoimage** = genisoimage's median time / the tool's (above 1 = faster).
"""


def markdown(
    rows: list[dict[str, object]], facts: dict[str, str], files: int, payload: int, repeat: int
) -> str:
    out = [METHOD.format(files=files, mb=payload / 1e6, series=SERIES, repeat=repeat)]
    out.append("### Results\n")
    out.append(
        "| Image | Tool | Median s | In-process s | Start-up s | MB/s | vs genisoimage "
        "| Peak RSS MiB | Image MB | All runs (s) |"
    )
    out.append("|---|---|--:|--:|--:|--:|--:|--:|--:|---|")
    for r in rows:
        build = f"{r['build_seconds']:.2f}" if "build_seconds" in r else "-"
        startup = f"{r['startup_seconds']:.2f}" if "startup_seconds" in r else "-"
        label = "ISO 9660 + Joliet + RR" if r["scenario"] == "iso" else "+ UDF"
        out.append(
            f"| {label} | {r['tool']} ({r['note']}) | {r['median_seconds']:.2f} | {build} | "
            f"{startup} | "
            f"{r['mb_per_s']:.0f} | {r['vs_genisoimage']:.2f} | {r['peak_rss_mib']:.1f} | "
            f"{r['image_mb']:.1f} | {', '.join(map(str, r['all_seconds']))} |"  # type: ignore[call-overload]
        )
    out.append("\n### Machine\n")
    out += [f"- {k}: {v}" for k, v in facts.items()]
    out.append("\n### Commands\n")
    cmds = [
        ".venv/bin/python -m bench.disc_image " + " ".join(sys.argv[1:]),
        f"# kiln: python -c <build_image(tree, out, volume_id={VOLUME_ID!r}, kind=..., fsync=...)>",
        *[
            " ".join(t.argv(Path("<tree>"), Path("<out>")))
            for t in TOOLS
            if not t.name.startswith("kiln")
        ],
    ]
    out.append("```\n" + "\n".join(cmds) + "\n```")
    return "\n".join(out) + "\n"


def replace_block(doc: Path, block: str) -> None:
    replace_marked(doc, START_MARK, END_MARK, block)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=None, help="rounds (default 7, quick 3)")
    parser.add_argument("--quick", action="store_true", help="60 instances, 3 rounds")
    parser.add_argument("--tmp", type=Path, default=None, help="parent of the output folder")
    parser.add_argument("--out", type=Path, default=None, help="markdown file for the block")
    args = parser.parse_args()
    repeat = args.repeat or (3 if args.quick else 7)
    out_doc = args.out or (RESULTS / "performance-disc-image-quick.md" if args.quick else DOC)
    load_before = loadavg()
    tree, payload = make_tree(args.quick)
    files = sum(1 for p in tree.rglob("*") if p.is_file())
    runs: dict[Tool, list[dict[str, float]]] = {t: [] for t in TOOLS}
    with tempfile.TemporaryDirectory(prefix="kiln-disc-bench-", dir=args.tmp) as work:
        for round_ in range(repeat):
            order = TOOLS[round_ % len(TOOLS) :] + TOOLS[: round_ % len(TOOLS)]
            for tool in order:
                result = run_once(tool, tree, Path(work), files)
                runs[tool].append(result)
                print(
                    f"round {round_ + 1}/{repeat} {tool.scenario} {tool.name:13} "
                    f"{result['seconds']:.3f} s  {result['peak_rss_mib']:.1f} MiB",
                    flush=True,
                )
    rows = summarise(runs, payload)
    facts = machine_facts(
        load_before,
        {
            "genisoimage": first_line(["genisoimage", "--version"]),
            "xorriso": first_line(["xorriso", "-version"]),
            "pycdlib": first_line([sys.executable, "-c", "import importlib.metadata as m; "
                                   "print(m.version('pycdlib'))"]),
        },
    )  # fmt: skip
    replace_block(out_doc, markdown(rows, facts, files, payload, repeat))
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    raw = RESULTS / f"disc-image-{stamp}{'-quick' if args.quick else ''}.json"
    raw.write_text(json.dumps({"facts": facts, "repeat": repeat, "rows": rows}, indent=2))
    print(f"wrote {out_doc} and {raw}")


if __name__ == "__main__":
    main()
