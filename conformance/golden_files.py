"""Golden trajectories: one ``.npz`` per (optimizer, config, problem) with a JSON sidecar.

The ``.npz`` holds :func:`lossopt_spec.trajectory.run_trajectory`'s record (float64). The sidecar
holds the optimizer, config, full hyperparameters, problem, seed, steps, the array names, the
versions of NumPy, SciPy and lossopt_spec that wrote it, and, where the parameters are in several
groups (Muon's), the groups. Files are written only by
``nox -s golden`` (``python -m conformance.golden_files --write``), from the float64 spec.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import scipy

import lossopt_spec
from conformance.entries import GoldenCase, OptimizerInfo, one_group
from conformance.registry import OPTIMIZER_INFOS
from lossopt_spec.problems import PROBLEMS
from lossopt_spec.trajectory import run_trajectory

GOLDEN_DIR = Path(__file__).parent / "golden"


def case_id(info: OptimizerInfo, case: GoldenCase) -> str:
    return f"{info.name}__{case.config}__{case.problem}"


def all_cases() -> list[tuple[OptimizerInfo, GoldenCase]]:
    return [(info, case) for info in OPTIMIZER_INFOS.values() for case in info.golden]


def compute(info: OptimizerInfo, case: GoldenCase) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The record and sidecar of ``case``, computed now from the spec."""
    hparams = info.spec.hparams(**case.hparams)
    problem = PROBLEMS[case.problem](case.seed)
    shapes = [p.shape for p in problem.initial_params]
    groups = info.groups_of(case, shapes)
    grouped = groups != one_group(shapes)
    record = run_trajectory(info.spec, hparams, problem, case.steps, groups if grouped else None, case.mode_switches)
    sidecar = {
        "optimizer": info.name,
        "config": case.config,
        "hparams": hparams,
        "problem": case.problem,
        "seed": case.seed,
        "steps": case.steps,
        **({"mode_switches": list(case.mode_switches)} if case.mode_switches else {}),
        "arrays": sorted(record),
        "generated_with": {
            "lossopt_spec": lossopt_spec.__version__,
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "python": platform.python_version(),
        },
    }
    if grouped:  # the parameters' groups: their indices and hyperparameter overrides
        sidecar["groups"] = [[indices, overrides] for indices, overrides in groups]
    return record, sidecar


def load(info: OptimizerInfo, case: GoldenCase) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The stored record and sidecar of ``case``; a missing file says how to make it."""
    stem = GOLDEN_DIR / case_id(info, case)
    if not stem.with_suffix(".npz").exists():
        raise FileNotFoundError(f"no golden file {stem}.npz; generate it with `nox -s golden`")
    with np.load(stem.with_suffix(".npz")) as data:
        record = {k: data[k] for k in data.files}
    return record, json.loads(stem.with_suffix(".json").read_text())


def write_all(directory: Path = GOLDEN_DIR) -> list[Path]:
    """Regenerate every golden file from the spec; remove files no registry case names."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for info, case in all_cases():
        record, sidecar = compute(info, case)
        stem = directory / case_id(info, case)
        np.savez(stem.with_suffix(".npz"), **record)
        stem.with_suffix(".json").write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
        written += [stem.with_suffix(".npz"), stem.with_suffix(".json")]
    for stale in set(directory.glob("*.npz")) | set(directory.glob("*.json")):
        if stale not in written:
            stale.unlink()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.golden_files", description=__doc__)
    parser.add_argument("--write", action="store_true", help="regenerate every golden file from the spec")
    args = parser.parse_args(argv)
    if not args.write:
        for info, case in all_cases():
            print(case_id(info, case))
        return 0
    for path in write_all():
        print(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
