"""Every job of the repository, each in its own virtual environment.

    nox -s tests                                      unit tests of both packages + conformance, default torch
    nox -s conformance                                the matrix: every supported torch x device
    nox -s "conformance(torch='2.13.0', device='cpu')"  one cell of it
    nox -s golden                                     regenerate the golden trajectories from the spec
    nox -s bench                                      benchmarks against torch, reported as ratios
    nox -s lint                                       ruff + mypy
    nox -s demo                                       the main job: train with lossopt, print the result

Every session installs what it needs from the project's own files; nothing is installed by hand.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nox

ROOT = Path(__file__).parent
DEFAULT_TORCH = "2.13.0"  # the oldest supported release: what `tests` and `golden` run against
TORCH_VERSIONS = ["2.13.0", "2.14.1"]  # oldest supported, newest installable here
DEVICES = ["cpu", "cuda"]
TEST_DEPS = ["pytest>=8", "hypothesis>=6.100", "scikit-learn>=1.3"]
# the AdaBelief authors' code, the reference of conformance/test_spec_references.py (tests only)
TEST_DEPS += ["adabelief-pytorch==0.2.1"]

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint"]
nox.options.error_on_missing_interpreters = True


def install_project(session: nox.Session, torch_version: str = DEFAULT_TORCH, *extra: str) -> None:
    """torch first (pinned, so the packages' ``torch>=2.13`` takes it as it is), then both packages."""
    session.install(f"torch=={torch_version}")
    session.install("./spec", "./packages/torch_impl", *TEST_DEPS, *extra)


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests of lossopt_spec and lossopt, and the conformance suite, on the default torch."""
    install_project(session)
    session.run("pytest", "spec/tests", "packages/torch_impl/tests", "conformance", *session.posargs)


def _gpu_present() -> bool:
    return shutil.which("nvidia-smi") is not None or Path("/dev/nvidia0").exists()


@nox.session
@nox.parametrize("device", DEVICES)
@nox.parametrize("torch", TORCH_VERSIONS)
def conformance(session: nox.Session, torch: str, device: str) -> None:
    """The conformance suite for one torch version on one device."""
    where = f"conformance(torch={torch!r}, device='cuda')"
    if device == "cuda" and not _gpu_present():
        session.skip(f"no CUDA GPU on this machine (no nvidia-smi, no /dev/nvidia0): {where} runs where one is present")
    install_project(session, torch)
    if device == "cuda":
        probe = "import torch; print(torch.cuda.is_available())"
        if "True" not in str(session.run("python", "-c", probe, silent=True)):
            session.skip(f"torch {torch} in this environment sees no CUDA device: {where} runs where one is present")
    session.run("pytest", "conformance", f"--devices={device}", *session.posargs)


@nox.session
def golden(session: nox.Session) -> None:
    """Regenerate conformance/golden/ from the float64 spec (the only way those files change)."""
    install_project(session)
    session.run("python", "-m", "conformance.golden_files", "--write")


@nox.session
def bench(session: nox.Session) -> None:
    """pytest-benchmark suites against torch's own implementations; prints time ratios to torch."""
    install_project(session, DEFAULT_TORCH, "pytest-benchmark>=4")
    report = ROOT / "reports" / "bench.json"
    report.parent.mkdir(exist_ok=True)
    session.run("pytest", "benchmarks", f"--benchmark-json={report}", "-p", "no:randomly", *session.posargs)
    session.run("python", "benchmarks/ratios.py", str(report))


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and mypy over both packages, the conformance suite and the benchmarks."""
    install_project(session, DEFAULT_TORCH, "ruff>=0.6", "mypy>=1.10", "pytest-benchmark>=4")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "spec/src", "packages/torch_impl/src")


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: train a model with lossopt's losses and optimizers (``python -m lossopt demo``)."""
    session.install(f"torch=={DEFAULT_TORCH}")
    session.install("./packages/torch_impl")
    session.run("python", "-m", "lossopt", "demo", *session.posargs)
