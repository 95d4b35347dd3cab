"""Imports run one way: appliance -> statemachines -> drivers (import-linter contract)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_layers_are_kept() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_a_wrong_way_import_would_be_caught(tmp_path: Path) -> None:
    """The contract is live: a driver importing the application breaks it."""
    bad = ROOT / "drivers" / "_layering_probe.py"
    bad.write_text("import appliance  # noqa: F401\n")
    try:
        result = subprocess.run(
            [str(Path(sys.executable).parent / "lint-imports")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        bad.unlink()
    assert result.returncode != 0
    assert "broken" in result.stdout
