"""Every job of the repository, each in its own virtual environment.

    nox -s tests                                      unit tests of both packages + conformance on the default
                                                      torch, then CI's cells of the matrix (what CI runs)
    nox -s conformance                                the matrix: every supported torch x device, one report
    nox -s "conformance(torch='2.13.0', device='cpu')"  one cell of it
    nox -s golden                                     regenerate the golden trajectories from the spec
    nox -s bench                                      benchmarks against torch, reported as ratios
    nox -s docs                                       the documentation (Sphinx, offline MathJax) into docs/_build/html
    nox -s lint                                       ruff + mypy
    nox -s demo                                       the main job: examples + comparisons -> reports/demo/
    nox -s audit_ecosystem                            audit public implementations -> reports/audit/, docs table

Every session installs what it needs from the project's own files; nothing is installed by hand.

The conformance report: every cell of the matrix writes its run record into this invocation's
``reports/conformance/run-<time>/`` and queues ``conformance_report``, which runs last, merges the
records into ``report.md`` / ``report.json`` there, prints where they are and a one-line verdict,
and fails (non-zero exit: the release is blocked) on any failure.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import nox

ROOT = Path(__file__).parent
if str(ROOT) not in sys.path:  # for conformance.report below: the `nox` script leaves the noxfile's folder off sys.path
    sys.path.insert(0, str(ROOT))
from conformance.report.runs import placeholder_run, write_record  # noqa: E402  (standard library only)

DEFAULT_TORCH = "2.13.0"  # what `tests`, `golden`, `lint`, `docs`, `demo` run against: its CPU build is local
# the release matrix, oldest supported first: each installs from requirements/torch-<version>.txt
TORCH_VERSIONS = ["2.9.1", "2.10.0", "2.11.0", "2.12.1", "2.13.0", "2.14.1", "2.15.0"]
# the cells `tests` (CI) runs besides its own: the oldest and the newest release (CPU; CUDA where a GPU is)
CI_TORCH_VERSIONS = [TORCH_VERSIONS[0], TORCH_VERSIONS[-1]]
DEVICES = ["cpu", "cuda"]
TEST_DEPS = [
    "pytest>=8",
    "hypothesis>=6.100",
    "scikit-learn>=1.3",
    "matplotlib>=3.7",
    "tqdm>=4.60",
]  # last two: lossopt[plots]

REPORTS = ROOT / "reports" / "conformance"
RUN_DIR = REPORTS / time.strftime("run-%Y%m%d-%H%M%S", time.gmtime())  # one per nox invocation
MATRIX = [(t, d) for t in TORCH_VERSIONS for d in DEVICES]
NO_GPU = "no CUDA GPU on this machine (no nvidia-smi, no /dev/nvidia0)"
# the production-hardening suite (torch.compile, AMP, skip_nonfinite, distributed, checkpoints, fuzzing)
# runs in every cell, so each torch version x device shows what it supports; among it, checkpoints
# written under the oldest torch (a committed fixture) resume under each cell's torch and device
HARDENING_TESTS = "packages/torch_impl/tests/hardening"
# the AdaBelief authors' code, the reference of conformance/test_spec_references.py (tests only)
TEST_DEPS += ["adabelief-pytorch==0.2.1"]
# the Schedule-Free, Lion and ADOPT authors' packages: conformance/test_spec_authors_references.py and the rules'
# tests in packages/torch_impl/tests (tests only)
TEST_DEPS += ["schedulefree==1.4.1", "lion-pytorch==0.2.5", "torch-adopt==0.1.0"]

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["tests", "lint"]
nox.options.error_on_missing_interpreters = True


def torch_requirement(torch_version: str) -> list[str]:
    """pip's arguments for one torch release: its pinned requirements file (``torch==<version>``)."""
    return ["-r", str(ROOT / "requirements" / f"torch-{torch_version}.txt")]


def install_project(session: nox.Session, torch_version: str = DEFAULT_TORCH, *extra: str, cache: bool = True) -> None:
    """torch first (pinned, so the packages' ``torch>=2.9`` takes it as it is), then both packages.

    ``cache=False``: pip keeps no copy of the downloads (a CUDA build of torch and its libraries is
    3-4 GB; the matrix's cells outside CI's would leave ~20 GB in pip's cache).
    """
    no_cache = [] if cache else ["--no-cache-dir"]
    session.install(*no_cache, *torch_requirement(torch_version))
    session.install(*no_cache, "./spec", "./packages/torch_impl", *TEST_DEPS, *extra)


def cell_name(torch: str, device: str) -> str:
    return f"conformance(torch={torch!r}, device={device!r})"


def _cell_record(torch: str, device: str) -> Path:
    return RUN_DIR / f"torch-{torch}-{device}.json"


def _write_placeholder(torch: str, device: str, status: str, reason: str) -> None:
    """A run record for a cell that runs no pytest (skipped) or before pytest replaces it (error)."""
    record = placeholder_run(torch_version=torch, device=device, status=status, reason=reason)
    write_record(record, _cell_record(torch, device))


@nox.session
def tests(session: nox.Session) -> None:
    """Unit tests of both packages and the conformance suite on the default torch; then CI's cells of the matrix.

    This run is the matrix's (default torch, cpu) cell: its report record joins the others'. The
    oldest and the newest release's cells (``CI_TORCH_VERSIONS``) are queued after it, then
    ``conformance_report``; the job fails if any of them fails. The other releases' cells are
    recorded as not run, with the reason (``nox -s conformance`` runs them), and where there is no
    GPU, the CUDA cells as skipped, with the reason, here.
    """
    for torch, device in MATRIX:
        if (torch, device) == (DEFAULT_TORCH, "cpu"):
            continue
        if torch not in CI_TORCH_VERSIONS:
            reason = (
                f"not one of CI's cells (the default {DEFAULT_TORCH}, the oldest {TORCH_VERSIONS[0]}, the newest "
                f"{TORCH_VERSIONS[-1]}): `nox -s conformance` runs {cell_name(torch, device)}"
            )
            _write_placeholder(torch, device, "skipped", reason)
            continue
        if device == "cuda" and not _gpu_present():  # skip here: no venv to build for a cell that cannot run
            reason = f"{NO_GPU}: {cell_name(torch, device)} runs where one is present"
            _write_placeholder(torch, device, "skipped", reason)
            session.log(f"skipping {cell_name(torch, device)}: {reason}")
            continue
        session.notify(cell_name(torch, device))
    session.notify("conformance_report", posargs=[])
    install_project(session)
    _write_placeholder(DEFAULT_TORCH, "cpu", "error", "pytest ended without writing its report")
    session.run(
        "pytest",
        "spec/tests",
        "packages/torch_impl/tests",
        "conformance",
        "docs/tests",
        "--devices=cpu",
        f"--conformance-report={_cell_record(DEFAULT_TORCH, 'cpu')}",
        *session.posargs,
    )


def _gpu_present() -> bool:
    return shutil.which("nvidia-smi") is not None or Path("/dev/nvidia0").exists()


@nox.session
@nox.parametrize("device", DEVICES)
@nox.parametrize("torch", TORCH_VERSIONS)
def conformance(session: nox.Session, torch: str, device: str) -> None:
    """The conformance suite for one torch version on one device; its record joins this run's report.

    The cell's virtual environment is removed when its pytest ends (passed or not): a CUDA build of
    torch is 5-7 GB, the seven CPU cells ~40 GB together.
    """
    session.notify("conformance_report", posargs=[])
    where = cell_name(torch, "cuda")
    if device == "cuda" and not _gpu_present():
        reason = f"{NO_GPU}: {where} runs where one is present"
        _write_placeholder(torch, device, "skipped", reason)
        session.skip(reason)
    _write_placeholder(torch, device, "error", "the session ended before pytest wrote its report (install failed?)")
    try:
        install_project(session, torch, cache=torch in CI_TORCH_VERSIONS or torch == DEFAULT_TORCH)
        if device == "cuda":
            probe = "import torch; print(torch.cuda.is_available())"
            if "True" not in str(session.run("python", "-c", probe, silent=True)):
                reason = f"torch {torch} in this environment sees no CUDA device: {where} runs where one is present"
                _write_placeholder(torch, device, "skipped", reason)
                session.skip(reason)
        session.run(
            "pytest",
            "conformance",
            HARDENING_TESTS,
            f"--devices={device}",
            f"--conformance-report={_cell_record(torch, device)}",
            *session.posargs,
        )
    finally:
        _remove_venv(session)


def _remove_venv(session: nox.Session) -> None:
    location = getattr(session.virtualenv, "location", None)
    if location and Path(location).is_dir() and Path(location).resolve().is_relative_to(ROOT / ".nox"):
        shutil.rmtree(location, ignore_errors=True)
        session.log(f"removed {location} (the cell's virtual environment)")


@nox.session(venv_backend="none")
def conformance_report(session: nox.Session) -> None:
    """Merge this invocation's conformance records into one report; fail when anything failed.

    Queued by every conformance cell (and by ``tests``), so it runs last. With arguments, merges
    the run records given: ``nox -s conformance_report -- reports/conformance/run-*/torch-*.json``.
    """
    records = [Path(p) for p in session.posargs] or sorted(RUN_DIR.glob("torch-*.json"))
    out_dir = RUN_DIR if not session.posargs else records[0].parent
    session.run(sys.executable, "-m", "conformance.report", "merge", str(out_dir), *map(str, records))


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
    if not session.posargs:  # linear_cross_entropy's peak memory (separate processes) and its time in
        # interleaved rounds, a steadier ratio on a shared machine than the pytest-benchmark groups above
        session.run("python", "-m", "benchmarks.linear_cross_entropy_memory", "--rounds", "5")


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation into docs/_build/html: Sphinx, warnings as errors, equations by a local MathJax.

    API pages and "differences" tables are generated from the registries at build time; the pages
    load nothing from the network. ``nox -s docs -- -b linkcheck`` etc. pass options to sphinx-build.
    """
    session.install(*torch_requirement(DEFAULT_TORCH))
    session.install("./spec", "./packages/torch_impl", "-r", "docs/requirements.txt")
    out = ROOT / "docs" / "_build" / "html"
    session.run("sphinx-build", "-W", "--keep-going", "-E", "-b", "html", "docs", str(out), *session.posargs)
    if shutil.which("chromium"):  # optional: open every page and report equations MathJax refuses
        session.run("python", "-m", "docs.check_build", str(out), "--render")
    else:
        session.run("python", "-m", "docs.check_build", str(out))
        session.log("no chromium here: equations were not rendered to check them (apt-get install chromium)")
    session.log(f"documentation: {out / 'index.html'}")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format) and mypy over both packages, the conformance suite and the benchmarks."""
    install_project(session, DEFAULT_TORCH, "ruff>=0.6", "mypy>=1.10", "pytest-benchmark>=4")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", "spec/src", "packages/torch_impl/src")


@nox.session
def demo(session: nox.Session) -> None:
    """The main job: ``python -m lossopt demo``: the training examples and the loss and optimizer
    comparisons, written as PNG plots and a Markdown summary to reports/demo (or ``-- --output DIR``)."""
    session.install(*torch_requirement(DEFAULT_TORCH))
    session.install("./packages/torch_impl[plots]")
    output = ROOT / "reports" / "demo"
    session.run("python", "-m", "lossopt", "demo", "--output", str(output), *session.posargs)
    session.log(f"demo report: {output / 'summary.md'} and the PNG plots beside it")


# The ecosystem audit (audit_ecosystem): public implementations of the spec's rules and losses, each
# pinned exactly. timm imports torchvision, which imports only beside the torch it was built for.
ECOSYSTEM_TORCH = ["torch==2.14.1", "torchvision==0.29.1"]
ECOSYSTEM_PACKAGES = [
    "pytorch_optimizer==4.1.0",
    "timm==1.0.31",
    "torch-optimizer==0.3.0",
    "adabelief-pytorch==0.2.1",
    "schedulefree==1.4.1",
    "lion-pytorch==0.2.5",
    "torch-adopt==0.1.0",
    "monai==1.6.1",
    "kornia==0.9.0",
    "segmentation-models-pytorch==0.6.0",
]


@nox.session
def audit_ecosystem(session: nox.Session) -> None:
    """Audit the public implementations of conformance/ecosystem/candidates.toml (CPU, about 2 minutes).

    Writes reports/audit/ecosystem.md and ecosystem.json, and the table's committed copy,
    docs/ecosystem_audit.md, which the documentation publishes (commit it after a run).
    ``nox -s audit_ecosystem -- --examples 200`` draws more examples per audit.
    """
    session.install(*ECOSYSTEM_TORCH)
    session.install("./spec[audit]", "./packages/torch_impl", *ECOSYSTEM_PACKAGES)
    out = ROOT / "reports" / "audit"
    docs_copy = ROOT / "docs" / "ecosystem_audit.md"
    session.run("python", "-m", "conformance.ecosystem", str(out), "--docs", str(docs_copy), *session.posargs)
