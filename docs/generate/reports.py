"""What the project's commands wrote under ``reports/``, shown in the pages: the conformance report, the demo's plots.

The conformance report is Markdown (``conformance/report.py`` writes it). It is not converted
here: it is copied into ``docs/_generated/`` and included with MyST's parser (``myst-parser``,
declared in ``docs/requirements.txt``), so Sphinx turns its headings, tables and code spans into
the page's own sections and tables. ``docs/conf.py`` turns MyST's raw HTML off: every character of
a report is text.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from docs.generate.common import ROOT, heading

REPORT_COPY = "conformance_report.md"  # under docs/_generated/, where the include points
ECOSYSTEM_TABLE = "ecosystem_audit.md"  # committed under docs/, written by `nox -s audit_ecosystem`


def latest_conformance_report(root: Path = ROOT) -> Path | None:
    """``$LOSSOPT_CONFORMANCE_REPORT``, else the newest ``report.md`` (or ``*.md``) under ``reports/conformance/``."""
    chosen = os.environ.get("LOSSOPT_CONFORMANCE_REPORT")
    if chosen:
        return Path(chosen) if Path(chosen).is_file() else None
    folder = root / "reports" / "conformance"
    if not folder.is_dir():
        return None
    merged = sorted(folder.rglob("report.md"), key=lambda p: p.stat().st_mtime)
    candidates = merged or sorted(folder.rglob("*.md"), key=lambda p: p.stat().st_mtime)
    return candidates[-1] if candidates else None


def conformance_report_rst(generated: Path, root: Path = ROOT) -> str:
    """The newest report, copied to ``generated/conformance_report.md`` and included as Markdown; or how to make one."""
    report = latest_conformance_report(root)
    copy = generated / REPORT_COPY
    if report is None:
        copy.unlink(missing_ok=True)
        return (
            ".. note::\n\n"
            "   No conformance report was found when these pages were built (none under\n"
            "   ``reports/conformance/``, and ``LOSSOPT_CONFORMANCE_REPORT`` not set). Make one with\n"
            "   ``nox -s conformance`` (the whole torch x device matrix, merged into\n"
            "   ``reports/conformance/run-<time>/report.md``) or one cell,\n"
            "   ``nox -s \"conformance(torch='2.13.0', device='cpu')\"``, then rebuild with ``nox -s docs``.\n\n"
        )
    try:
        shown = report.relative_to(root)
    except ValueError:
        shown = report
    generated.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(report, copy)
    return f"Report: ``{shown}``.\n\n.. include:: /_generated/{REPORT_COPY}\n   :parser: myst_parser.sphinx_\n\n"


def ecosystem_audit_rst(docs: Path) -> str:
    """The committed ecosystem table (``docs/ecosystem_audit.md``), included as Markdown; or how to make it."""
    table = docs / ECOSYSTEM_TABLE
    if not table.is_file():
        return (
            ".. note::\n\n"
            "   ``docs/ecosystem_audit.md`` is missing: run ``nox -s audit_ecosystem``, which writes it.\n\n"
        )
    return f".. include:: /{ECOSYSTEM_TABLE}\n   :parser: myst_parser.sphinx_\n\n"


# (page, section title, which PNG names), matched in this order: the optimizer plots first, so that
# ``optimizers_regression.png`` is not taken for a regression-loss plot. Sections print in this order.
PLOT_SECTIONS: tuple[tuple[str, str, Callable[[str], bool]], ...] = (
    ("optimizer", "Optimizers compared on the demo's problems", lambda n: n.startswith("optimizer")),
    (
        "loss",
        "Regression losses and their gradients against the residual",
        lambda n: any(k in n for k in ("regress", "residual", "huber", "log_cosh", "quantile", "mae")),
    ),
    ("loss", "Focal loss against cross-entropy", lambda n: "focal" in n or "cross" in n or "p_t" in n),
    ("optimizer", "Training examples", lambda n: True),
)


def demo_plot_dir(root: Path = ROOT) -> Path | None:
    """``$LOSSOPT_DEMO_DIR``, else ``reports/demo`` (``nox -s demo``), else the newest PNG folder in reports/."""
    chosen = os.environ.get("LOSSOPT_DEMO_DIR")
    if chosen:
        return Path(chosen) if Path(chosen).is_dir() else None
    reports = root / "reports"
    if any((reports / "demo").glob("*.png")):
        return reports / "demo"
    if not reports.is_dir():
        return None
    folders = {png.parent for png in reports.rglob("*.png") if "conformance" not in png.parts}
    return max(folders, key=lambda f: f.stat().st_mtime) if folders else None


def demo_plots_rst(target: Path, root: Path = ROOT) -> dict[str, str]:
    """Copy the demo's PNGs into ``target`` (under ``docs/_generated``); reST per page kind (loss, optimizer)."""
    folder = demo_plot_dir(root)
    pngs = sorted(folder.glob("*.png")) if folder else []
    if target.exists():
        shutil.rmtree(target)
    note = (
        ".. note::\n\n"
        "   No plots from ``python -m lossopt demo`` were found when these pages were built (no PNG\n"
        "   in ``reports/demo/``, and ``LOSSOPT_DEMO_DIR`` not set). Run ``nox -s demo`` (it writes\n"
        "   ``reports/demo/``), then rebuild with ``nox -s docs`` to see them here.\n\n"
    )
    out = {"loss": "", "optimizer": ""}
    placed: set[Path] = set()
    for kind, title, matches in PLOT_SECTIONS:
        chosen = [p for p in pngs if p not in placed and matches(p.stem.lower())]
        if not chosen:
            continue
        target.mkdir(parents=True, exist_ok=True)
        out[kind] += heading(title, "~") + "\n"
        for png in chosen:
            placed.add(png)
            shutil.copy2(png, target / png.name)
            out[kind] += f".. figure:: /_generated/plots/{png.name}\n   :width: 90%\n\n   ``{png.name}``\n\n"
    return {kind: text or note for kind, text in out.items()}
