"""Disc publishing: the job runner's overhead over pure drive time, and two drives.

    .venv/bin/python -m bench.publishing [--rounds N] [--quick] [--diagnostic] [--out FILE]

One study of CT instances (bench/make_data.py) is indexed the way the receive path indexes
it, and one disc image of it is built the way the planner builds it. Every simulated drive
runs at the same fixed speed (`sim_speed`, bytes/s): the stand-in xorriso feeds the real
xorriso at that rate when burning and hands the read-back on at that rate when verifying.
Then, in rounds, each scenario in its own child process (order rotated every round):

- drive: pure drive time. `OpticalDrive.burn` + `OpticalDrive.verify` of the image on one
  simulated drive with a blank disc, DRIVE_DISCS times: what the pipeline cannot beat.
- 1 drive / 2 drives: a job of one study with `copies.patient = 10` (one image, ten discs),
  created while a JobRunner runs with the real station factory: a simulated Primera robot
  (pty) with one or two drives sharing its arm, label printing on (the `patient` template
  rendered per volume). Wall time = job created -> all-discs-done, from the job's own events.
- 1 drive, short polls (--diagnostic): the same with the runner's poll at 0.2 s and the
  robot driver's status poll at 0.05 s, to show how much of the overhead is polling.

Inside the pipeline children the drive and robot driver calls are timed (wrapped, not
changed), so the overhead can be split: simulated mechanics, robot status polling, drive
queries, job start-up (coordinator poll, preparation, station poll) and the rest.
Results go between the publishing-bench markers of docs/performance.md (--quick: to
bench/results/performance-publishing-quick.md), raw JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.doc_block import replace_block as replace_marked
from bench.make_data import DEFAULT_DIR, ensure
from bench.receive import REPO, RESULTS, RssPoller, first_line, loadavg, machine_facts

DOC = REPO / "docs" / "performance.md"
START_MARK = "<!-- publishing-bench: start -->"
END_MARK = "<!-- publishing-bench: end -->"
ANALYSIS_START = "<!-- publishing analysis: start (by hand; kept by bench/publishing.py) -->"
ANALYSIS_END = "<!-- publishing analysis: end -->"

SPEED = 20_000_000  # bytes/s of every simulated drive, burn and read-back alike
INSTANCES, QUICK_INSTANCES = 80, 20  # 525 KB each: a ~42 MB image (quick: ~11 MB)
DISCS = 10  # copies.patient of the job
DRIVE_DISCS = 3  # pure-drive discs per round
MOTION_SECONDS, PRINT_SECONDS = 0.02, 0.05  # the simulated robot's (its own defaults)
MEDIA = "DVD+R"
ROBOT_POLL, RUNNER_POLL = 0.05, 0.2  # the short-poll diagnostic
SCENARIOS = ("drive", "pipeline-1", "pipeline-2", "pipeline-1-short-polls")
DIAGNOSTIC = "pipeline-1-short-polls"  # only with --diagnostic
LABELS = {
    "pipeline-1": "1 drive",
    "pipeline-2": "2 drives (one arm, one printer)",
    DIAGNOSTIC: "1 drive, short polls (diagnostic)",
}
CHILD_TIMEOUT = 600.0


# --- set-up (parent) ------------------------------------------------------------------------


def kiln_config(data: Path, drives: int, speed: int, runner_poll: float | None) -> Any:
    from appliance.config.schema import KilnConfig

    publishing: dict[str, Any] = {
        "profiles": {"bench": {"media": "dvd", "copies": {"patient": DISCS}}},
        "stations": {
            "robot1": {
                "media": ["dvd"],
                "robot": {
                    "sim_motion_seconds": MOTION_SECONDS,
                    "sim_print_seconds": PRINT_SECONDS,
                },
                "drives": [{"sim_media": MEDIA, "sim_speed": speed} for _ in range(drives)],
            }
        },
    }
    if runner_poll is not None:
        publishing["poll_seconds"] = runner_poll
    return KilnConfig.model_validate({"box": {"data_dir": str(data)}, "publishing": publishing})


def prepare_data(count: int, work: Path) -> tuple[Path, str, Path]:
    """(data directory with the study indexed and complete, study UID, its disc image)."""
    from pydicom import dcmread

    from appliance.db.database import connect, migrate
    from appliance.publishing.jobs_store import JobStore
    from appliance.publishing.label_artwork import label_renderer
    from appliance.publishing.planner import MediaDefaults, prepare
    from appliance.storage.completeness import mark_complete
    from appliance.storage.index import Index
    from appliance.storage.layout import DataLayout
    from appliance.storage.reconcile import index_file

    files = ensure("ct", DEFAULT_DIR / f"publishing-ct-{count}", count)
    data = work / "data"
    migrate(data)
    layout = DataLayout(data)
    layout.ensure()
    conn = connect(data)
    index = Index(conn)
    study_uid = ""
    for path in files:
        ds = dcmread(path, stop_before_pixels=True)
        study_uid = str(ds.StudyInstanceUID)
        target = layout.instance_path(study_uid, ds.SeriesInstanceUID, ds.SOPInstanceUID)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        index_file(target, layout, index)  # the receive path's header walk
    mark_complete(conn, 0, now=time.time() + 100)
    # The image the pipeline burns, made once by the planner for the pure-drive runs.
    config = kiln_config(data, 1, SPEED, None)
    settings = config.publishing
    store = JobStore(conn, time.time)
    job_id = store.create_job(
        [study_uid], "bench", settings.profiles["bench"], priority=5, origin="operator"
    )
    prepare(
        store,
        store.job(job_id),
        MediaDefaults.from_config(config, settings),
        render_label=label_renderer(settings),
    )
    disc = store.discs(job_id)[0]
    image = work / "image.iso"
    shutil.copyfile(disc.image, image)
    store.cancel(job_id)
    shutil.rmtree(Path(disc.image).parent)
    conn.close()
    return data, study_uid, image


# --- children ---------------------------------------------------------------------------


def vm_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def child_drive(image: Path, work: Path, discs: int, speed: int) -> dict[str, Any]:
    """Pure drive time: burn + verify on one simulated drive, `discs` times."""
    from drivers.optical import simulator as drive_sim
    from drivers.optical.driver import DriveOptions, OpticalDrive

    state = work / "drive"
    drive_sim.create(state, media=MEDIA, speed=speed, loaded=True)
    drive = OpticalDrive.open(DriveOptions(command=drive_sim.command(state)))
    runs = []
    for n in range(discs):
        if n:
            drive_sim.insert_blank(state, media=MEDIA)
        started = time.perf_counter()
        burned = drive.burn(image)
        middle = time.perf_counter()
        drive.verify(image, expected_md5=burned.md5)
        ended = time.perf_counter()
        runs.append({"burn": middle - started, "verify": ended - middle, "drive": ended - started})
    return {"runs": runs, "peak_rss_mib": vm_kib("VmHWM") / 1024}


class Timer:
    """Wraps functions to add up their wall time per name (thread-safe)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self._inside = threading.local()  # a call within a timed call: "outer.inner"

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        original: Callable[..., Any] = getattr(owner, attribute)

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            outer: str = getattr(self._inside, "name", "")
            key = f"{outer}.{name}" if outer else name
            self._inside.name = key
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started
                self._inside.name = outer
                with self._lock:
                    self.seconds[key] += spent
                    self.calls[key] += 1

        setattr(owner, attribute, timed)


ROBOT_MOTIONS = ("load_drive", "load_printer_from_drive", "unload_printer", "unload_drive")


def child_pipeline(
    data: Path,
    study_uid: str,
    drives: int,
    speed: int,
    *,
    short_polls: bool,
) -> dict[str, Any]:
    """A 10-disc job through the JobRunner with the factory's simulated robot station."""
    from appliance.db.database import connect
    from appliance.publishing.job_states import JobState
    from appliance.publishing.jobs_store import JobStore
    from appliance.publishing.label_artwork import label_renderer
    from appliance.publishing.planner import MediaDefaults
    from appliance.publishing.runner import JobRunner
    from appliance.publishing.stations.factory import build_stations
    from drivers.optical.driver import OpticalDrive
    from drivers.primera import robot_driver
    from drivers.primera.flavors import Timings

    timer = Timer()
    timer.wrap(OpticalDrive, "burn", "burn")
    timer.wrap(OpticalDrive, "verify", "verify")
    timer.wrap(OpticalDrive, "media_info", "media_info")  # also inside burn: subtracted below
    for motion in ROBOT_MOTIONS:
        timer.wrap(robot_driver.RobotDriver, motion, "motion")
    timer.wrap(robot_driver.RobotDriver, "print_label", "print")
    if short_polls:
        connect_robot = robot_driver.connect

        def quick_connect(options: robot_driver.RobotOptions) -> robot_driver.RobotDriver:
            return connect_robot(replace(options, timings=Timings(poll_interval=ROBOT_POLL)))

        robot_driver.connect = quick_connect  # the factory imports it when it builds

    config = kiln_config(data, drives, speed, RUNNER_POLL if short_polls else None)
    settings = config.publishing
    station_data = data / "stations" / f"run-{os.getpid()}"  # fresh simulators every run
    built = build_stations(settings.stations, station_data)
    if built.problems:
        raise RuntimeError(f"stations not built: {built.problems}")
    runner = JobRunner(
        lambda: connect(data),
        built.stations,
        settings,
        MediaDefaults.from_config(config, settings),
        render_label=label_renderer(settings),
    )
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), name="job-runner", daemon=True)
    thread.start()
    store = JobStore(connect(data), time.time)
    try:
        while not runner.recovered:
            time.sleep(0.01)
        time.sleep(0.3)  # idle, as a running box is when a job arrives
        before = dict(timer.seconds), dict(timer.calls)
        job_id = store.create_job(
            [study_uid], "bench", settings.profiles["bench"], priority=5, origin="operator"
        )
        deadline = time.monotonic() + CHILD_TIMEOUT
        while True:
            job = store.job(job_id)
            if job.state is JobState.DONE:
                break
            if job.state not in (JobState.QUEUED, JobState.PREPARING, JobState.PUBLISHING):
                raise RuntimeError(f"job {job_id} is {job.state.value}: {job.message}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"job {job_id} not done after {CHILD_TIMEOUT} s")
            time.sleep(0.02)
        history = store.history(job_id)
        discs = store.discs(job_id)
    finally:
        stop.set()
        thread.join(60)
        runner.close()
        built.close()
        store.conn.close()
        shutil.rmtree(station_data, ignore_errors=True)

    at = {row.event: row.at for row in reversed(history)}  # the first of each event
    first_started = min(row.at for row in history if row.event == "started")
    created, done = at["created"], at["all-discs-done"]
    seconds = {k: timer.seconds[k] - before[0].get(k, 0.0) for k in timer.seconds}
    calls = {k: timer.calls[k] - before[1].get(k, 0) for k in timer.calls}
    return {
        "wall": done - created,
        "coordinator_wait": at["prepare"] - created,
        "prepare": at["images-ready"] - at["prepare"],
        "station_wait": first_started - at["images-ready"],
        "discs_phase": done - first_started,
        "discs_done": sum(1 for d in discs if d.state.value == "done"),
        "discs_total": len(discs),
        "image_bytes": discs[0].image_bytes,
        "seconds": seconds,
        "calls": calls,
        "peak_rss_mib": vm_kib("VmHWM") / 1024,
    }


def child_main(argv: list[str]) -> None:
    args = json.loads(argv[0])
    if args["mode"] == "drive":
        result = child_drive(Path(args["image"]), Path(args["work"]), args["discs"], args["speed"])
    else:
        result = child_pipeline(
            Path(args["data"]),
            args["study"],
            args["drives"],
            args["speed"],
            short_polls=args["short"],
        )
    print(json.dumps(result))


# --- the rounds (parent) --------------------------------------------------------------------


def run_child(spec: dict[str, Any]) -> dict[str, Any]:
    """One child process in its own session; adds the session's peak summed RSS."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.publishing", "--child", json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        start_new_session=True,
    )
    poller = RssPoller(proc.pid)
    poller.start()
    try:
        out, err = proc.communicate(timeout=CHILD_TIMEOUT + 60)
    finally:
        session_peak, _ = poller.finish()
    if proc.returncode != 0:
        raise RuntimeError(f"child {spec['mode']} failed ({proc.returncode}):\n{err[-3000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["session_peak_rss_mib"] = session_peak
    return result


def spec_for(scenario: str, data: Path, study: str, image: Path, work: Path) -> dict[str, Any]:
    if scenario == "drive":
        return {"mode": "drive", "image": str(image), "work": str(work / "drive-run"),
                "discs": DRIVE_DISCS, "speed": SPEED}  # fmt: skip
    drives = 2 if scenario.startswith("pipeline-2") else 1
    return {"mode": "pipeline", "data": str(data), "study": study, "drives": drives,
            "speed": SPEED, "short": scenario == DIAGNOSTIC}  # fmt: skip


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    drive_runs = [r for result in runs["drive"] for r in result["runs"]]
    drive = med([r["drive"] for r in drive_runs])
    pure = DISCS * drive
    rows: dict[str, Any] = {
        "drive": {
            "drive": drive,
            "burn": med([r["burn"] for r in drive_runs]),
            "verify": med([r["verify"] for r in drive_runs]),
            "all": [round(r["drive"], 3) for r in drive_runs],
            "peak_rss_mib": med([r["peak_rss_mib"] for r in runs["drive"]]),
        }
    }
    for scenario in SCENARIOS[1:]:
        results = runs[scenario]
        if not results:
            continue
        row: dict[str, Any] = {}
        for key in ("wall", "coordinator_wait", "prepare", "station_wait", "discs_phase"):
            row[key] = med([r[key] for r in results])
        row["all"] = [round(r["wall"], 2) for r in results]
        for key in ("burn", "verify", "media_info", "motion", "print"):
            row[key] = med([r["seconds"].get(key, 0.0) for r in results])
            row[f"{key}_calls"] = med([r["calls"].get(key, 0) for r in results])
        row["overhead"] = (row["wall"] - pure) / pure
        row["discs_per_min"] = DISCS / row["wall"] * 60
        row["peak_rss_mib"] = med([r["peak_rss_mib"] for r in results])
        row["session_peak_rss_mib"] = med([r["session_peak_rss_mib"] for r in results])
        row["image_bytes"] = results[0]["image_bytes"]
        rows[scenario] = row
    return rows


def render(rows: dict[str, Any], facts: dict[str, str], args: argparse.Namespace) -> str:
    drive = rows["drive"]
    pure = DISCS * drive["drive"]
    one = rows["pipeline-1"]
    size = one["image_bytes"]
    ideal = 2 * size / SPEED
    mech = DISCS * (3 * MOTION_SECONDS + PRINT_SECONDS)
    lines = [
        "## Disc publishing: pipeline overhead over pure drive time, one and two drives",
        "",
        f"Run `python -m bench.publishing {' '.join(args.argv)}`".rstrip() + f" on "
        f"{facts['date']}; {args.rounds} round(s), scenarios interleaved (order rotated), "
        "each run in its own process, medians.",
        "",
        f"- **Drive**: simulated, {SPEED / 1e6:.0f} MB/s for burning and for reading back; "
        f"image {size / 1e6:.1f} MB ({args.instances} CT instances + DICOMDIR, README, "
        f"index page), {MEDIA}. Ideal 2 x size / speed = {ideal:.2f} s per disc.",
        "- **Pure drive time** = `OpticalDrive.burn` (media query, write at the speed, "
        "xorriso closing the disc) + `OpticalDrive.verify` (read-back at the speed, MD5) of "
        f"that image, {DRIVE_DISCS} discs per round; the pipeline's 10 discs are measured "
        "against 10 x its median.",
        f"- **Job**: one study, `copies.patient = {DISCS}` (one image, ten discs), created "
        "while the runner runs (default `poll_seconds` 1 s); wall = `created` -> "
        "`all-discs-done` in the job's events: includes the image preparation. Robot: the "
        f"factory's simulated Disc Publisher Pro, motion {MOTION_SECONDS} s, print "
        f"{PRINT_SECONDS} s, label printed on every disc (3 motions + 1 print per disc: "
        f"{mech:.1f} s of simulated mechanics per 10 discs); after a motion the driver "
        "looks at the robot's status after 0.02 s, backing off to the model's 0.5 s "
        "`poll_interval`; idle stations start when a job's images are ready.",
        "",
        "| | wall s | vs 10 x drive time | discs/min | speed-up | peak RSS MiB "
        "(pipeline process) | peak RSS MiB (with xorriso children) | all runs (s) |",
        "|---|--:|--:|--:|--:|--:|--:|---|",
        f"| pure drive, 10 x median | {pure:.2f} | - | {DISCS / pure * 60:.1f} | - | "
        f"{drive['peak_rss_mib']:.0f} | - | per disc: "
        f"{', '.join(str(v) for v in drive['all'])} |",
    ]
    for scenario in SCENARIOS[1:]:
        row = rows.get(scenario)
        if row is None:
            continue
        speedup = f"{one['wall'] / row['wall']:.2f}" if scenario.startswith("pipeline-2") else "-"
        lines.append(
            f"| {LABELS[scenario]} | {row['wall']:.2f} | {row['overhead'] * 100:+.1f} % | "
            f"{row['discs_per_min']:.1f} | {speedup} | "
            f"{row['peak_rss_mib']:.0f} | {row['session_peak_rss_mib']:.0f} | "
            f"{', '.join(str(v) for v in row['all'])} |"
        )
    lines += [
        "",
        f"Pure drive time per disc: burn {drive['burn']:.2f} s + verify {drive['verify']:.2f} s "
        f"= {drive['drive']:.2f} s (ideal {ideal:.2f} s).",
        "",
        "Where the wall time goes (medians; drive and robot calls timed inside the pipeline "
        "process, per job; with two drives the calls overlap, so they do not add up):",
        "",
        "| | coordinator poll | preparation | station poll | burn | verify | "
        "media queries (outside burn) | robot motions | label prints | discs phase |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for scenario in SCENARIOS[1:]:
        row = rows.get(scenario)
        if row is None:
            continue
        lines.append(
            f"| {LABELS[scenario]} | {row['coordinator_wait']:.2f} | {row['prepare']:.2f} | "
            f"{row['station_wait']:.2f} | {row['burn']:.2f} | {row['verify']:.2f} | "
            f"{row['media_info']:.2f} ({row['media_info_calls']:.0f}) | "
            f"{row['motion']:.2f} ({row['motion_calls']:.0f}) | "
            f"{row['print']:.2f} ({row['print_calls']:.0f}) | {row['discs_phase']:.2f} |"
        )
    lines += [
        "",
        "The overhead of the one-drive runs, split (seconds per 10-disc job; robot = the "
        "driver's calls from request to idle, of which the simulated mechanics are "
        "motions x motion time + prints x print time, the rest is waiting for the next "
        "status poll):",
        "",
        "| | overhead | job start (polls + preparation) | robot calls | of which simulated "
        "mechanics | burn + verify over pure drive time | media queries | rest |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for scenario in ("pipeline-1", DIAGNOSTIC):
        row = rows.get(scenario)
        if row is None:
            continue
        over = row["wall"] - pure
        start = row["coordinator_wait"] + row["prepare"] + row["station_wait"]
        robot = row["motion"] + row["print"]
        mechanics = row["motion_calls"] * MOTION_SECONDS + row["print_calls"] * PRINT_SECONDS
        drives = row["burn"] + row["verify"] - pure
        rest = over - start - robot - drives - row["media_info"]
        lines.append(
            f"| {LABELS[scenario]} | {over:.2f} ({row['overhead'] * 100:.1f} %) | {start:.2f} | "
            f"{robot:.2f} | {mechanics:.2f} | {drives:+.2f} | {row['media_info']:.2f} | "
            f"{rest:.2f} |"
        )
    lines += [
        "",
        "<details><summary>Machine</summary>",
        "",
        *[f"- {key}: {value}" for key, value in facts.items()],
        "",
        "</details>",
        "",
        "Commands:",
        "",
        "```",
        f".venv/bin/python -m bench.publishing {' '.join(args.argv)}".rstrip(),
        "# each run: .venv/bin/python -m bench.publishing --child '<json spec>'",
        "```",
        "",
    ]
    return "\n".join(lines)


def replace_block(doc: Path, block: str) -> None:
    """Put `block` between the publishing markers, adding them (and an empty analysis
    block, for the hand-written text) at the end when missing."""
    text = replace_marked(doc, START_MARK, END_MARK, block)
    if ANALYSIS_START not in text:
        text = text.rstrip("\n") + f"\n\n{ANALYSIS_START}\n{ANALYSIS_END}\n"
    doc.write_text(text)


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=None, help="rounds (3; quick 1)")
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_INSTANCES} instances, 1 round"
    )
    parser.add_argument("--diagnostic", action="store_true", help="add the short-poll run")
    parser.add_argument("--out", type=Path, default=None, help="markdown file for the block")
    args = parser.parse_args()
    args.argv = sys.argv[1:]
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.instances = QUICK_INSTANCES if args.quick else INSTANCES
    out = args.out or (RESULTS / "performance-publishing-quick.md" if args.quick else DOC)
    scenarios = [s for s in SCENARIOS if args.diagnostic or s != DIAGNOSTIC]
    RESULTS.mkdir(parents=True, exist_ok=True)
    load_before = loadavg()
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in SCENARIOS}
    with tempfile.TemporaryDirectory(prefix="kiln-bench-publishing-") as tmp:
        work = Path(tmp)
        data, study, image = prepare_data(args.instances, work)
        print(f"image {image.stat().st_size / 1e6:.1f} MB", flush=True)
        for number in range(args.rounds):
            shift = number % len(scenarios)
            for scenario in scenarios[shift:] + scenarios[:shift]:
                started = time.perf_counter()
                result = run_child(spec_for(scenario, data, study, image, work))
                runs[scenario].append(result)
                print(
                    f"round {number + 1}/{args.rounds} {scenario}: "
                    f"{time.perf_counter() - started:.1f} s "
                    f"{json.dumps({k: v for k, v in result.items() if k != 'runs'})[:300]}",
                    flush=True,
                )
                shutil.rmtree(work / "drive-run", ignore_errors=True)
    facts = machine_facts(load_before, {"xorriso": first_line(["xorriso", "-version"])})
    rows = summarise(runs)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    raw = {"facts": facts, "runs": runs, "summary": rows}
    (RESULTS / f"publishing-{stamp}.json").write_text(json.dumps(raw, indent=2))
    replace_block(out, render(rows, facts, args))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
