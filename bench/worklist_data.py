"""Generate deterministic Modality Worklist items for the worklist benchmark.

    .venv/bin/python -m bench.worklist_data [--sizes 1000,10000,100000] [--dir DIR]

For each size N, DIR/N/ holds:
- items.json: a JSON list of items keyed by DICOM keyword (appliance/worklist/item.py), for
  `appliance worklist import`;
- wlm/<WLM_AET>/*.wl plus an empty `lockfile`: one DICOM file per item for DCMTK's
  `wlmscpfs -dfp DIR/N/wlm` (written only for sizes up to WLM_MAX, the peer is not run above);
- expected.json: the query values the benchmark uses and the accession numbers each must
  return, found here from the items themselves.
A directory whose stamp matches the generator version is reused.

The schedule spans 365 days around CENTER: half the items within a month of it (a worklist
is busiest around today), the rest over the year, weekdays busier than weekends, start times
in 15-minute slots from 07:00 to 18:45. All steps are SCHEDULED, so a server that hides
finished steps and one that does not return the same items.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

DEFAULT_DIR = Path(__file__).resolve().parent / "data" / "worklist"
SIZES = (1000, 10000, 100000)
WLM_MAX = 10000
WLM_AET = "WLMSCPFS"
SEED = "kiln-worklist-bench"
VERSION = "6"  # bump when the data changes, so cached directories are rewritten
CENTER = dt.date(2026, 3, 11)  # a Wednesday: the day the broad query asks for
HALF_YEAR = 182
NEAR_DAYS = 30
NAME_PREFIX = "SMI"  # the wildcard query: PatientName = SMI*

Item = dict[str, Any]

# (modality, weight, stations, [(code, meaning, description)])
MODALITIES: list[tuple[str, int, list[str], list[tuple[str, str]]]] = [
    (
        "CT",
        25,
        ["CT_EDGE", "CT_FORCE", "CT_ER"],
        [
            ("CTHEAD", "CT head without contrast"),
            ("CTCHAP", "CT chest abdomen pelvis with contrast"),
            ("CTTHX", "CT thorax"),
            ("CTANGIO", "CT angiography lower limbs"),
            ("CTSPINE", "CT lumbar spine"),
        ],
    ),
    (
        "MR",
        20,
        ["MR_SKYRA", "MR_AERA", "MR_PRISMA"],
        [
            ("MRBRAIN", "MR brain with contrast"),
            ("MRKNEE", "MR knee left"),
            ("MRLSPINE", "MR lumbar spine"),
            ("MRPROST", "MR prostate multiparametric"),
            ("MRCARD", "MR cardiac function"),
            ("MRSHLD", "MR shoulder right"),
        ],
    ),
    (
        "CR",
        18,
        ["CR_ROOM1", "CR_ROOM2"],
        [
            ("CRCHEST", "Chest PA and lateral"),
            ("CRHAND", "Hand two views"),
            ("CRPELV", "Pelvis AP"),
        ],
    ),
    (
        "US",
        15,
        ["US_1", "US_2", "US_OB"],
        [
            ("USABD", "US abdomen complete"),
            ("USOB", "US obstetric second trimester"),
            ("USTHY", "US thyroid"),
            ("USDOPP", "US carotid doppler"),
        ],
    ),
    ("MG", 7, ["MG_SENO"], [("MGSCR", "Screening mammography"), ("MGDIA", "Diagnostic mammo")]),
    ("DX", 6, ["DX_ER"], [("DXKNEE", "Knee standing"), ("DXSPINE", "Whole spine standing")]),
    ("XA", 3, ["XA_CATH"], [("XACOR", "Coronary angiography")]),
    ("NM", 2, ["NM_SPECT"], [("NMBONE", "Bone scintigraphy whole body")]),
    ("PT", 2, ["PT_CT"], [("PTFDG", "PET-CT FDG whole body")]),
    ("RF", 2, ["RF_ROOM"], [("RFSWAL", "Barium swallow")]),
]

# Surnames with relative weights (sum ~277); "SMI*" picks the first three: ~0.36 % of
# patients, so the wildcard query stays under Kiln's default hit limit (500) at 100,000 items.
SURNAMES: list[tuple[str, float]] = [
    ("SMITH", 0.5),
    ("SMITS", 0.25),
    ("SMIRNOV", 0.25),
    ("SMYTHE", 1),
    ("SIMMONS", 2),
    ("SCHMIDT", 8),
    ("SCHNEIDER", 6),
    ("MÜLLER", 9),
    ("MEYER", 7),
    ("WEBER", 6),
    ("WAGNER", 6),
    ("BECKER", 5),
    ("SCHÄFER", 5),
    ("KÖHLER", 4),
    ("GROSSMANN", 3),
    ("JOHANSSON", 6),
    ("ANDERSSON", 6),
    ("SJÖSTRÖM", 3),
    ("ÅBERG", 3),
    ("ØSTERGAARD", 2),
    ("JØRGENSEN", 3),
    ("NIELSEN", 5),
    ("LEFÈVRE", 3),
    ("GARÇON", 2),
    ("DUBOIS", 5),
    ("MARTIN", 8),
    ("BERNARD", 5),
    ("NÚÑEZ", 3),
    ("GARCÍA", 6),
    ("FERNÁNDEZ", 4),
    ("GONZÁLEZ", 4),
    ("ROSSI", 5),
    ("RUSSO", 4),
    ("FERRARI", 4),
    ("O'BRIEN", 3),
    ("MURPHY", 5),
    ("JONES", 6),
    ("WILLIAMS", 6),
    ("BROWN", 6),
    ("TAYLOR", 5),
    ("WILSON", 5),
    ("EVANS", 4),
    ("THOMAS", 5),
    ("ROBERTS", 4),
    ("JANSSEN", 5),
    ("DE VRIES", 4),
    ("VAN DEN BERG", 4),
    ("BAKKER", 4),
    ("KOWALSKI", 4),
    ("NOWAK", 5),
    ("HORVÁTH", 3),
    ("NAGY", 3),
    ("PETERS", 4),
    ("KLEIN", 4),
    ("WOLF", 4),
    ("HOFFMANN", 5),
    ("KRÜGER", 3),
    ("ZIMMERMANN", 4),
    ("HARTMANN", 4),
    ("LANGE", 3),
    ("LINDQVIST", 3),
    ("BJÖRK", 2),
    ("HÄKKINEN", 2),
    ("VIRTANEN", 3),
    ("CARVALHO", 3),
    ("SIMÕES", 2),
    ("CONCEIÇÃO", 2),
]
GIVEN_F = ["ANNA", "MARIA", "SOPHIE", "LÉA", "INGRID", "JOHANNA", "ELIN", "MAJA", "CHLOÉ"]
GIVEN_F += ["SARAH", "EMMA", "LAURA", "ZOË", "BIRGITTA", "CLAIRE", "RENÉE", "ÅSA", "HANNE"]
GIVEN_M = ["JOHN", "PETER", "JÜRGEN", "LARS", "ANDRÉ", "JOSÉ", "MICHAEL", "THOMAS", "SØREN"]
GIVEN_M += ["FRANÇOIS", "LUKAS", "MATTHIAS", "OLIVER", "BJÖRN", "PAUL", "STEFAN", "JAN", "NOÉ"]
PHYSICIANS = ["HOUSE^GREGORY", "WEISS^ANDREA^^DR", "LINDGREN^KARIN^^DR", "MÖLLER^TOBIAS^^DR"]
PHYSICIANS += ["DUPONT^JEAN^^DR", "ROSSI^GIULIA^^DR", "KEANE^SEAN^^DR", "BERG^EVA^^DR"]
LOCATIONS = ["WARD 3A", "WARD 5B", "OUTPATIENT", "ER", "ICU", "DAY CLINIC"]
PRIORITIES: list[tuple[str, float]] = [("ROUTINE", 85), ("HIGH", 10), ("STAT", 5)]


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _day(rng: random.Random) -> dt.date:
    # Weekends carry a third of a weekday's load: redraw most weekend days.
    while True:
        span = NEAR_DAYS if rng.random() < 0.5 else HALF_YEAR
        day = CENTER + dt.timedelta(days=rng.randint(-span, span))
        if day.weekday() < 5 or rng.random() < 0.33:
            return day


def _patients(rng: random.Random, count: int) -> list[Item]:
    patients = []
    for n in range(count):
        sex = rng.choice("FM")
        given = rng.choice(GIVEN_F if sex == "F" else GIVEN_M)
        born = dt.date(1930, 1, 1) + dt.timedelta(days=rng.randint(0, 33000))
        patient: Item = {
            "PatientID": f"{7000000 + n * 7 + rng.randint(0, 6)}",
            "PatientName": f"{_pick(rng, SURNAMES)}^{given}",
            "PatientBirthDate": born.strftime("%Y%m%d"),
            "PatientSex": sex,
            "IssuerOfPatientID": "KILN_HOSP",
            "PatientWeight": f"{rng.randint(45, 120)}",
            "PatientSize": f"{rng.randint(150, 200) / 100:.2f}",
        }
        if rng.random() < 0.1:
            patient["MedicalAlerts"] = rng.choice(["PACEMAKER", "DIABETES", "CLAUSTROPHOBIA"])
        if rng.random() < 0.1:
            patient["Allergies"] = rng.choice(["IODINE CONTRAST", "LATEX", "PENICILLIN"])
        if sex == "F" and rng.random() < 0.5:
            patient["PregnancyStatus"] = rng.choice([1, 2, 4])
        patients.append(patient)
    return patients


def generate(count: int) -> list[Item]:
    """`count` worklist items; the same list for the same count on every machine."""
    rng = random.Random(f"{SEED}-{count}")
    # About 2.5 procedures per patient; one patient in ten (follow-ups) is booked 5x as often.
    patients = _patients(rng, max(1, int(count / 2.5)))
    weights = [5 if rng.random() < 0.1 else 1 for _ in patients]
    booked = rng.choices(patients, weights=weights, k=count)
    mods: list[tuple[str, float]] = [(m, w) for m, w, _, _ in MODALITIES]
    by_modality = {m: (stations, codes) for m, _, stations, codes in MODALITIES}
    items = []
    for n in range(count):
        patient = booked[n]
        modality = _pick(rng, mods)
        stations, codes = by_modality[modality]
        code, meaning = rng.choice(codes)
        station = rng.choice(stations)
        day = _day(rng)
        minutes = 7 * 60 + 15 * rng.randint(0, 47)
        accession = f"A{day:%y}{n:07d}"
        step: Item = {
            "Modality": modality,
            "ScheduledStationAETitle": station,
            "ScheduledStationName": station.replace("_", " "),
            "ScheduledProcedureStepStartDate": day.strftime("%Y%m%d"),
            "ScheduledProcedureStepStartTime": f"{minutes // 60:02d}{minutes % 60:02d}00",
            "ScheduledPerformingPhysicianName": rng.choice(PHYSICIANS),
            "ScheduledProcedureStepDescription": meaning,
            "ScheduledProtocolCodeSequence": [
                {"CodeValue": code, "CodingSchemeDesignator": "99KILN", "CodeMeaning": meaning}
            ],
            "ScheduledProcedureStepID": f"SPS{n:08d}",
            "ScheduledProcedureStepLocation": f"{modality} DEPARTMENT",
            "ScheduledProcedureStepStatus": "SCHEDULED",
        }
        if rng.random() < 0.2:
            step["CommentsOnTheScheduledProcedureStep"] = "Patient needs interpreter"
        item: Item = {
            **patient,
            "AccessionNumber": accession,
            "RequestedProcedureID": f"RP{n:08d}",
            "RequestedProcedureDescription": meaning,
            "RequestedProcedureCodeSequence": [
                {"CodeValue": code, "CodingSchemeDesignator": "99KILN", "CodeMeaning": meaning}
            ],
            "RequestedProcedurePriority": _pick(rng, PRIORITIES),
            "StudyInstanceUID": f"2.25.{rng.getrandbits(120)}",
            "ReferringPhysicianName": rng.choice(PHYSICIANS),
            "RequestingPhysician": rng.choice(PHYSICIANS),
            "AdmissionID": f"ADM{rng.randint(100000, 999999)}",
            "CurrentPatientLocation": rng.choice(LOCATIONS),
            "InstitutionName": "Kiln General Hospital",
            "ScheduledProcedureStepSequence": [step],
            # Type 2 in PS3.4 K.6-1: wlmscpfs warns once per file and query when absent.
            "ReferencedStudySequence": [],
            "ReferencedPatientSequence": [],
        }
        items.append(item)
    return items


def expected(items: list[Item]) -> dict[str, Any]:
    """The three benchmark queries' values and the accession numbers each must return."""
    day = CENTER.strftime("%Y%m%d")
    ids = Counter(i["PatientID"] for i in items)
    # A patient with several items, the same pick for the same data: most items, lowest ID.
    patient_id = min(ids, key=lambda p: (-ids[p], p))

    def step(item: Item) -> Item:
        first: Item = item["ScheduledProcedureStepSequence"][0]
        return first

    broad = [
        i["AccessionNumber"]
        for i in items
        if step(i)["Modality"] == "MR" and step(i)["ScheduledProcedureStepStartDate"] == day
    ]
    by_id = [i["AccessionNumber"] for i in items if i["PatientID"] == patient_id]
    by_name = [i["AccessionNumber"] for i in items if i["PatientName"].startswith(NAME_PREFIX)]
    return {
        "broad": {"date": day, "modality": "MR", "accessions": sorted(broad)},
        "patient_id": {"value": patient_id, "accessions": sorted(by_id)},
        "name": {"value": NAME_PREFIX + "*", "accessions": sorted(by_name)},
    }


def to_dataset(item: Item) -> Dataset:
    """A worklist item as pydicom Dataset; text stays str, pydicom encodes it as ISO_IR 100."""
    ds = Dataset()
    for keyword, value in item.items():
        vr = dictionary_VR(keyword)
        if vr == "SQ":
            value = [to_dataset(sub) for sub in value]
        ds.add_new(keyword, vr, value)
    return ds


def write_wl(item: Item, path: Path) -> None:
    # Like DCMTK's dump2dcm output: a file meta header without SOP Class/Instance (the
    # worklist files name none), Explicit VR Little Endian, Latin-1 text.
    ds = to_dataset(item)
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.file_meta = FileMetaDataset()
    ds.file_meta.FileMetaInformationGroupLength = 0  # pydicom writes the real length
    ds.file_meta.FileMetaInformationVersion = b"\0\1"
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.preamble = b"\0" * 128
    ds.save_as(path, enforce_file_format=False)


def ensure(size: int, root: Path = DEFAULT_DIR, wl: bool | None = None) -> Path:
    """Write (or reuse) the data for `size` items; return its directory."""
    wl = size <= WLM_MAX if wl is None else wl
    out = root / str(size)
    stamp = out / "stamp"
    want = f"{VERSION} wl={int(wl)}"
    if stamp.exists() and stamp.read_text() == want:
        return out
    items = generate(size)
    out.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    (out / "items.json").write_text(json.dumps(items, ensure_ascii=False, indent=0))
    (out / "expected.json").write_text(json.dumps(expected(items), indent=2))
    if wl:
        aet_dir = out / "wlm" / WLM_AET
        aet_dir.mkdir(parents=True, exist_ok=True)
        for old in aet_dir.glob("*.wl"):
            old.unlink()
        # wlmscpfs takes a read lock on this file before it scans the directory.
        (aet_dir / "lockfile").touch()
        for n, item in enumerate(items):
            write_wl(item, aet_dir / f"item{n:06d}.wl")
    stamp.write_text(want)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)))
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    args = parser.parse_args()
    for size in (int(s) for s in args.sizes.split(",")):
        out = ensure(size, args.dir)
        want = json.loads((out / "expected.json").read_text())
        counts = {kind: len(q["accessions"]) for kind, q in want.items()}
        print(f"{size:7d} items: {out}; matches per query: {counts}")


if __name__ == "__main__":
    main()
