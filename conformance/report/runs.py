"""Run records: what one pytest run of the suite (or a cell that ran none) writes, as JSON. Standard library only."""

from __future__ import annotations

import datetime as _dt
import json
import platform
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

SCHEMA = 1


def new_run(*, torch_version: str, devices: Sequence[str], cell_name: str | None = None) -> dict[str, Any]:
    """An empty run record."""
    return {
        "schema": SCHEMA,
        "cell": cell_name,
        "torch": torch_version,
        "devices": list(devices),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "started": _now(),
        "finished": None,
        "duration_s": None,
        "status": "running",  # "passed", "failed", "skipped", "error"
        "reason": None,
        "exit_status": None,
        "tests": {"passed": 0, "failed": 0, "skipped": 0, "error": 0},
        "skips": {},
        "failures": [],
        "cells": [],
    }


def placeholder_run(*, torch_version: str, device: str, status: str, reason: str) -> dict[str, Any]:
    """A run record written by nox for a cell that did not (or has not yet) run pytest.

    ``status="skipped"`` (with the reason: no GPU) blocks nothing; ``status="error"`` is written
    before pytest starts and replaced by pytest's own record, so a run that dies without writing
    one blocks the release. ``started`` and ``finished`` are ``None``: no pytest run started.
    """
    run = new_run(torch_version=torch_version, devices=[device], cell_name=f"torch {torch_version}, {device}")
    run.update(status=status, reason=reason, started=None)
    return run


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def write_record(run: Mapping[str, Any], path: Path) -> Path:
    """Write ``run`` as ``path`` (JSON), creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run, indent=2, sort_keys=True) + "\n")
    return path


def load_runs(paths: Iterable[Path]) -> list[dict[str, Any]]:
    runs = []
    for path in paths:
        run = json.loads(Path(path).read_text())
        if run.get("schema") != SCHEMA:
            raise ValueError(f"{path}: report schema {run.get('schema')!r}, expected {SCHEMA}")
        run["_path"] = str(path)
        runs.append(run)
    return runs
