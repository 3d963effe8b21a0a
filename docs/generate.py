"""The generated parts of the documentation, computed from the registries at build time.

Nothing here imports Sphinx: ``docs/conf.py`` calls :func:`generate` when a build starts, and the
tests in ``docs/tests`` call the same functions to check that every registry entry has its page
and its "differences" table. A new entry in ``lossopt.LOSSES`` / ``lossopt.OPTIMIZERS`` (and the
spec's registries) gets an API page with no edit here; its differences table is data in
``docs/differences.toml``.

Generated files (all ignored by git):

- ``reference/losses/<name>.rst`` and ``reference/optimizers/<name>.rst``: one page per entry,
  pairing the spec (``lossopt_spec``) and the torch side (``lossopt``) with autodoc;
- ``_generated/differences.inc``: one table per registered entry, from ``differences.toml``;
- ``_generated/conformance_report.inc``: the newest conformance report under ``reports/``, or a
  note saying how to make one;
- ``_generated/loss_plots.inc``, ``optimizer_plots.inc``: the plots ``python -m lossopt demo`` wrote
  (``reports/demo/``), or a note.
"""

from __future__ import annotations

import html
import inspect
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
DIFFERENCES_FILE = DOCS / "differences.toml"

# Who a "differences" row compares lossopt with; the keys are what rows write in ``against``.
AGAINST: dict[str, str] = {
    "torch": "PyTorch",
    "design": "design document",
    "authors": "the authors' code",
    "monai": "MONAI",
    "kornia": "kornia",
    "smp": "segmentation_models_pytorch (smp)",
    "timm": "timm",
    "optax": "optax",
    "pytorch_optimizer": "pytorch_optimizer",
    "torchvision": "torchvision",
    "scikit-learn": "scikit-learn",
    "keras": "Keras",
}
ROW_FIELDS = ("against", "lossopt", "other", "test")
SINGULAR = {"losses": "loss", "optimizers": "optimizer"}


# --------------------------------------------------------------------------- registries


def registered_names() -> dict[str, list[str]]:
    """Entry names by kind (``"losses"``, ``"optimizers"``): the union of lossopt's and the spec's registries."""
    import lossopt
    import lossopt_spec

    return {
        "losses": sorted(set(lossopt.LOSSES) | set(lossopt_spec.LOSSES)),
        "optimizers": sorted(set(lossopt.OPTIMIZERS) | set(lossopt_spec.OPTIMIZERS)),
    }


def _target(obj: Any) -> str:
    """The dotted path autodoc imports ``obj`` by: where it is defined, not where it is re-exported."""
    return f"{obj.__module__}.{obj.__qualname__}"


def _heading(text: str, char: str, over: bool = False) -> str:
    line = char * max(len(text), 3)
    return f"{line}\n{text}\n{line}\n" if over else f"{text}\n{line}\n"


class _Directives:
    """autodoc directives, ``:no-index:`` on every repeat of an object (two entries can share one)."""

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def __call__(self, kind: str, target: str, *options: str) -> str:
        opts = list(options)
        if (kind, target) in self.seen and ":no-index:" not in opts:
            opts.append(":no-index:")
        self.seen.add((kind, target))
        body = "".join(f"   {opt}\n" for opt in opts)
        return f".. auto{kind}:: {target}\n{body}\n"


def _field_table(rows: Iterable[tuple[str, str]]) -> str:
    lines = [".. list-table::", "   :widths: 20 80", "   :class: entry-summary", ""]
    for key, value in rows:
        lines += [f"   * - {key}", f"     - {value}"]
    return "\n".join(lines) + "\n\n"


def loss_page(name: str, directives: _Directives | None = None) -> str:
    """The API page of the loss ``name``: the spec's value and gradient, lossopt's function and module."""
    import lossopt
    import lossopt.functional
    import lossopt_spec

    directives = directives or _Directives()
    spec = lossopt_spec.LOSSES.get(name)
    module_cls = lossopt.LOSSES.get(name)
    functional = getattr(lossopt.functional, spec.value.__name__, None) if spec is not None else None
    summary: list[tuple[str, str]] = [("name", f"``{name!r}``: ``create_loss_function({name!r}, ...)``")]
    if module_cls is not None:
        summary.append(("module", f":class:`{_target(module_cls)}`"))
    if functional is not None:
        summary.append(("function", f":func:`{_target(functional)}`"))
    if spec is not None:
        summary.append(("spec", f":func:`{_target(spec.value)}`, gradient :func:`{_target(spec.grad)}`"))
    summary.append(("differences", f":ref:`differences-{name}`"))
    parts = [f".. _api-loss-{name}:\n\n", _heading(name, "="), "\n", _field_table(summary)]
    parts.append(_heading("Specification (lossopt_spec, float64 NumPy)", "-") + "\n")
    if spec is None:
        parts.append(f"The spec has no loss {name!r} yet (``lossopt_spec.LOSSES``).\n\n")
    else:
        parts.append(directives("function", _target(spec.value)))
        parts.append(directives("function", _target(spec.grad)))
    parts.append(_heading("PyTorch (lossopt)", "-") + "\n")
    if functional is not None:
        parts.append(directives("function", _target(functional)))
    if module_cls is not None:
        parts.append(directives("class", _target(module_cls), ":members: forward"))
    if functional is None and module_cls is None:
        parts.append(f"lossopt has no loss {name!r} yet (``lossopt.LOSSES``).\n\n")
    return "".join(parts)


def _defaults_table(defaults: Mapping[str, Any]) -> str:
    if not defaults:
        return ""
    lines = [
        ".. list-table:: Hyperparameters and defaults (the spec rule's, equal to the constructor's)",
        "   :header-rows: 1",
        "   :widths: 40 60",
        "",
        "   * - argument",
        "     - default",
    ]
    for key, value in defaults.items():
        lines += [f"   * - ``{key}``", f"     - ``{value!r}``"]
    return "\n".join(lines) + "\n\n"


def optimizer_page(name: str, directives: _Directives | None = None) -> str:
    """The API page of the optimizer ``name``: the spec rule (module equations, init, update), lossopt's class."""
    import lossopt
    import lossopt_spec

    directives = directives or _Directives()
    rule = lossopt_spec.OPTIMIZERS.get(name)
    cls = lossopt.OPTIMIZERS.get(name)
    summary: list[tuple[str, str]] = [("name", f"``{name!r}``: ``create_optimizer({name!r}, params, ...)``")]
    if cls is not None:
        summary.append(("class", f":class:`{_target(cls)}`"))
    if rule is not None:
        summary.append(("spec rule", f"``lossopt_spec.OPTIMIZERS[{name!r}]`` in :mod:`{rule.update.__module__}`"))
        keys = ", ".join(f"``{key}``" for key in rule.state_keys) or "none"
        summary.append(("state", f"{keys} per parameter (torch.optim's names)"))
    summary.append(("differences", f":ref:`differences-{name}`"))
    parts = [f".. _api-optimizer-{name}:\n\n", _heading(name, "="), "\n", _field_table(summary)]
    parts.append(_heading("Specification (lossopt_spec, float64 NumPy)", "-") + "\n")
    if rule is None:
        parts.append(f"The spec has no rule {name!r} yet (``lossopt_spec.OPTIMIZERS``).\n\n")
    else:
        parts.append(_defaults_table(rule.defaults))
        parts.append(directives("module", rule.update.__module__, ":no-index:"))
        parts.append(directives("function", _target(rule.init)))
        parts.append(directives("function", _target(rule.update)))
    parts.append(_heading("PyTorch (lossopt)", "-") + "\n")
    if cls is None:
        parts.append(f"lossopt has no optimizer {name!r} yet (``lossopt.OPTIMIZERS``).\n\n")
    else:
        parts.append(directives("class", _target(cls), ":members: step"))
    return "".join(parts)


def api_pages() -> dict[str, str]:
    """Relative path under ``docs/`` -> text, for every page of the API reference generated from the registries."""
    names = registered_names()
    directives = _Directives()
    pages = {f"reference/losses/{name}.rst": loss_page(name, directives) for name in names["losses"]}
    pages |= {f"reference/optimizers/{name}.rst": optimizer_page(name, directives) for name in names["optimizers"]}
    return pages


# --------------------------------------------------------------------------- differences


@dataclass(frozen=True)
class Difference:
    """One row: where lossopt differs from ``against``, and the test that shows it (``path::test_name``).

    ``when`` (optional, ``"name:keyword"`` or ``"name"``): the row describes a feature that not every
    build has; it is shown, and its test checked, only where :func:`unmet` finds nothing missing.
    """

    against: str
    lossopt: str
    other: str
    test: str
    when: str = ""


def unmet(token: str) -> str | None:
    """Why ``token`` (a registered ``name``, or ``name:keyword`` its class takes) is not in this build, or None."""
    import lossopt

    name, _, keyword = token.partition(":")
    cls = lossopt.LOSSES.get(name) or lossopt.OPTIMIZERS.get(name)
    if cls is None:
        return f"{name!r} is not registered"
    if keyword and keyword not in inspect.signature(cls.__init__).parameters:
        return f"{cls.__name__} takes no {keyword!r}"
    return None


def shown(row: Difference) -> bool:
    """Whether this build has what the row describes."""
    return not row.when or unmet(row.when) is None


@dataclass(frozen=True)
class EntryDifferences:
    """The differences table of one entry: a one-line summary and its rows."""

    name: str
    summary: str
    rows: tuple[Difference, ...]


def load_differences(path: Path = DIFFERENCES_FILE) -> dict[str, EntryDifferences]:
    """Parse ``differences.toml``: ``[<name>]`` with ``summary`` and ``[[<name>.rows]]`` of :data:`ROW_FIELDS`."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    entries = {}
    for name, table in data.items():
        rows = tuple(
            Difference(**{key: str(row.get(key, "")).strip() for key in (*ROW_FIELDS, "when")})
            for row in table.get("rows", [])
        )
        entries[name] = EntryDifferences(name=name, summary=str(table.get("summary", "")).strip(), rows=rows)
    return entries


def pointer_problem(pointer: str, root: Path = ROOT) -> str | None:
    """Why ``pointer`` (``path/to/test_x.py::test_name``) names no test in the repository, or None when it does."""
    path, sep, test = pointer.partition("::")
    if not sep or not test:
        return f"{pointer!r} is not of the form path/to/test_file.py::test_name"
    file = root / path
    if not file.is_file():
        return f"{path} does not exist"
    function = test.split("[", 1)[0].split("::")[-1]
    if not re.search(rf"^\s*(async\s+)?def {re.escape(function)}\(", file.read_text(encoding="utf-8"), re.MULTILINE):
        return f"{path} has no test function {function!r}"
    return None


def documentation_problems(
    names: Mapping[str, Iterable[str]],
    differences: Mapping[str, EntryDifferences],
    pages: Mapping[str, str],
    check_pointers: bool = True,
    root: Path = ROOT,
) -> list[str]:
    """One sentence per registered entry lacking its API page or its differences table, or with a bad row."""
    problems = []
    for kind, entries in names.items():
        for name in entries:
            page = f"reference/{kind}/{name}.rst"
            if page not in pages:
                problems.append(f"{SINGULAR[kind]} {name!r} has no API page ({page})")
            elif "\n.. auto" not in pages[page]:
                problems.append(
                    f"{SINGULAR[kind]} {name!r}: its API page documents no object from lossopt or lossopt_spec"
                )
            table = differences.get(name)
            if table is None or not table.rows:
                problems.append(
                    f"{SINGULAR[kind]} {name!r} has no table in docs/differences.toml (add [{name}] with rows)"
                )
                continue
            for index, row in enumerate(table.rows):
                if not shown(row):
                    continue
                where = f"{SINGULAR[kind]} {name!r}, differences row {index} ({row.against})"
                empty = [key for key in ROW_FIELDS if not getattr(row, key)]
                if empty:
                    problems.append(f"{where}: empty field(s) {empty}")
                if row.against not in AGAINST:
                    problems.append(f"{where}: unknown 'against' {row.against!r}; one of {sorted(AGAINST)}")
                if check_pointers and row.test:
                    why = pointer_problem(row.test, root)
                    if why:
                        problems.append(f"{where}: its test pointer names no test: {why}")
    return problems


def _rst_cell(text: str) -> str:
    """A table cell: reST inline markup as written, continuation lines indented for the list-table."""
    return text.replace("\n", " ")


def differences_rst(names: Mapping[str, Iterable[str]], differences: Mapping[str, EntryDifferences]) -> str:
    """One section and table per registered entry (losses, then optimizers), labelled ``differences-<name>``."""
    parts = []
    for kind, entries in names.items():
        parts.append(_heading(kind.capitalize(), "-") + "\n")
        for name in entries:
            page = f"api-{SINGULAR[kind]}-{name}"
            parts.append(f".. _differences-{name}:\n\n{_heading(name, '~')}\n")
            table = differences.get(name)
            if table is None or not table.rows:
                parts.append(f"No table yet for ``{name}``. API: :ref:`{page}`.\n\n")
                continue
            parts.append(f"{table.summary} API: :ref:`{page}`.\n\n" if table.summary else f"API: :ref:`{page}`.\n\n")
            lines = [
                ".. list-table::",
                "   :header-rows: 1",
                "   :widths: 16 42 42",
                "   :class: differences",
                "",
                "   * - against",
                "     - lossopt (and the test that shows it)",
                "     - the other",
            ]
            for row in filter(shown, table.rows):
                lines += [
                    f"   * - {AGAINST.get(row.against, row.against)}",
                    f"     - {_rst_cell(row.lossopt)}",
                    "",
                    "       .. container:: test-pointer",
                    "",
                    f"          ``{row.test}``",
                    f"     - {_rst_cell(row.other)}",
                ]
            parts.append("\n".join(lines) + "\n\n")
    return "".join(parts)


# --------------------------------------------------------------------------- conformance report


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


_INLINE_CODE = re.compile(r"`([^`]+)`")
_BOLD = re.compile(r"\*\*([^*]+)\*\*")


def _md_inline(text: str) -> str:
    text = html.escape(text).replace("&lt;br&gt;", "<br>")  # line breaks in table headers, nothing else
    text = _INLINE_CODE.sub(r"<code>\1</code>", text)
    return _BOLD.sub(r"<strong>\1</strong>", text)


def markdown_to_html(markdown: str) -> str:
    """The Markdown a report writes (headings, pipe tables, lists, paragraphs, code spans) as escaped HTML."""
    out: list[str] = []
    lines = markdown.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        if not line.strip():
            i += 1
            continue
        if line.startswith("```"):
            block = []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                block.append(lines[i])
                i += 1
            out.append("<pre>" + html.escape("\n".join(block)) + "</pre>")
            i += 1
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", line)
        if heading:
            level = min(len(heading.group(1)) + 2, 6)  # under the page's own title and section
            out.append(f"<h{level}>{_md_inline(heading.group(2))}</h{level}>")
            i += 1
            continue
        if line.lstrip().startswith("|"):
            rows = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                rows.append(cells)
                i += 1
            has_header = len(rows) > 1 and all(re.fullmatch(r":?-{2,}:?", c) for c in rows[1] if c)
            body = [rows[0], *rows[2:]] if has_header else rows
            table = ['<table class="docutils align-default conformance-report">']
            for index, cells in enumerate(body):
                tag = "th" if has_header and index == 0 else "td"
                table.append("<tr>" + "".join(f"<{tag}>{_md_inline(c)}</{tag}>" for c in cells) + "</tr>")
            table.append("</table>")
            out.append("\n".join(table))
            continue
        if re.match(r"^\s*[-*]\s+", line):
            items = []
            while i < len(lines) and re.match(r"^\s*[-*]\s+", lines[i]):
                items.append(re.sub(r"^\s*[-*]\s+", "", lines[i]))
                i += 1
            out.append("<ul>" + "".join(f"<li>{_md_inline(item)}</li>" for item in items) + "</ul>")
            continue
        paragraph = []
        while i < len(lines) and lines[i].strip() and not re.match(r"^(#|\||```|\s*[-*]\s)", lines[i].lstrip()):
            paragraph.append(lines[i].strip())
            i += 1
        if not paragraph:  # a line no rule above consumed: keep it as text
            paragraph.append(lines[i].strip())
            i += 1
        out.append("<p>" + _md_inline(" ".join(paragraph)) + "</p>")
    return "\n".join(out)


def conformance_report_rst(root: Path = ROOT) -> str:
    """The newest report, embedded (as HTML, escaped), or how to make one."""
    report = latest_conformance_report(root)
    if report is None:
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
    body = markdown_to_html(report.read_text(encoding="utf-8"))
    indented = "\n".join("   " + line if line else "" for line in body.splitlines())
    return f"Report: ``{shown}``.\n\n.. raw:: html\n\n{indented}\n\n"


# --------------------------------------------------------------------------- demo plots


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
    import shutil

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
        out[kind] += _heading(title, "~") + "\n"
        for png in chosen:
            placed.add(png)
            shutil.copy2(png, target / png.name)
            out[kind] += f".. figure:: /_generated/plots/{png.name}\n   :width: 90%\n\n   ``{png.name}``\n\n"
    return {kind: text or note for kind, text in out.items()}


# --------------------------------------------------------------------------- equations


def display_math_tex(text: str) -> str | None:
    """The TeX for a display-math block whose lines carry ``\\tag``, or None when Sphinx's wrapping is fine.

    Sphinx wraps a multi-line block in ``split``, where MathJax refuses ``\\tag`` ("\\tag not allowed
    in split environment"): the docstrings tag each line of their equations, ``(1)``, ``(2)``.
    Such a part goes into ``align*`` (which takes a ``\\tag`` per line) instead; the others keep
    Sphinx's form. Parts are separated by blank lines, as Sphinx separates them.
    """
    parts = [part for part in text.split("\n\n") if part.strip()]
    if not any("\\tag" in part and "\\\\" in part for part in parts):
        return None
    out = []
    for part in parts:
        if "\\tag" in part and "\\\\" in part:
            out.append("\\begin{align*}" + part + "\\end{align*}")
        elif "\\\\" in part:
            out.append("\\[\\begin{split}" + part + "\\end{split}\\]")
        else:
            out.append("\\[" + part + "\\]")
    return "\n".join(out)


# --------------------------------------------------------------------------- entry point


def _write_if_changed(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def generate(docs: Path = DOCS, root: Path = ROOT) -> dict[str, str]:
    """Write every generated file under ``docs`` and return the API pages written."""
    pages = api_pages()
    for kind in ("losses", "optimizers"):  # drop pages of entries no longer registered
        for stale in (docs / "reference" / kind).glob("*.rst"):
            if f"reference/{kind}/{stale.name}" not in pages:
                stale.unlink()
    for relative, text in pages.items():
        _write_if_changed(docs / relative, text)
    generated = docs / "_generated"
    _write_if_changed(generated / "differences.inc", differences_rst(registered_names(), load_differences()))
    _write_if_changed(generated / "conformance_report.inc", conformance_report_rst(root))
    plots = demo_plots_rst(generated / "plots", root)
    _write_if_changed(generated / "loss_plots.inc", plots["loss"])
    _write_if_changed(generated / "optimizer_plots.inc", plots["optimizer"])
    _write_if_changed(generated / "signatures.inc", factory_signatures_rst())
    _write_if_changed(generated / "loss_guide.inc", loss_guide_rst())
    _write_if_changed(generated / "optimizer_guide.inc", optimizer_guide_rst())
    return pages


def factory_signatures_rst() -> str:
    """Every registered name with the constructor signature its factory call accepts."""
    import lossopt

    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 15 85",
        "",
        "   * - name",
        "     - keyword arguments",
    ]
    for registry in (lossopt.LOSSES, lossopt.OPTIMIZERS):
        for name, cls in sorted(registry.items()):
            params = list(inspect.signature(cls.__init__).parameters.values())[1:]
            shown = ", ".join(
                p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
                for p in params
                if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
            )
            lines += [f"   * - ``{name}``", f"     - ``{shown}``" if shown else "     - (none)"]
    return "\n".join(lines) + "\n\n"


# --------------------------------------------------------------------------- guides

# name -> (task, when to choose it). Rows for names not registered in this build say so; a
# registered name missing here still gets a row ("see its page"), so the table never lags.
LOSS_GUIDE: dict[str, tuple[str, str]] = {
    "mse": ("regression", "Gaussian noise, no outliers; penalizes large residuals quadratically."),
    "mae": ("regression", "Median regression, robust to outliers; gradient is the sign of the residual."),
    "huber": ("regression", "Quadratic near zero, linear beyond ``delta``: MSE's smoothness with MAE's robustness."),
    "log_cosh": ("regression", "A smooth MAE: ~x²/2 near 0, ~|x| - log 2 far out; finite for every finite input."),
    "quantile": ("regression", "Predict a quantile (or several at once): prediction intervals, asymmetric costs."),
    "cross_entropy": (
        "classification",
        "The default for C classes: weights, ignore_index, label smoothing, soft targets.",
    ),
    "focal": ("classification", "Many easy examples drowning a few hard ones (dense detection, imbalance)."),
    "sigmoid_focal": ("classification", "Binary / multi-label focal loss, torchvision's alpha convention."),
    "hinge": ("classification", "Margin classifiers (SVM-style), binary or multi-class."),
    "dice": ("segmentation", "Overlap of masks, insensitive to the background's size; per sample and class."),
    "iou": ("segmentation", "Jaccard: like Dice, penalizes partial overlap more."),
    "tversky": ("segmentation", "Dice with separate weights on false positives (alpha) and negatives (beta)."),
    "bce_dice": ("segmentation", "Pixel-wise BCE for stable early gradients plus Dice for overlap."),
    "focal_dice": ("segmentation", "Sigmoid focal plus Dice, for masks with very rare foreground."),
    "contrastive": ("embedding", "Pairs (margin) or supervised contrastive (temperature) over a batch."),
    "triplet": ("embedding", "Anchor, positive, negative with a margin."),
    "cosine_embedding": ("embedding", "Pairs labelled similar / dissimilar by cosine similarity."),
    "kl_divergence": ("distributions", "Distillation, matching a target distribution (log-probability inputs)."),
    "multi_task": ("multi-task", "A weighted sum of named task losses (and learned uncertainty weighting)."),
}

OPTIMIZER_GUIDE: dict[str, str] = {
    "sgd": "Momentum SGD (Nesterov optional), plus warmup, clipping and a cyclical lr.",
    "adam": "Adam with L2 (coupled) weight decay, plus warmup, clipping, bias correction switch.",
    "adamw": "Adam with decoupled weight decay: the default for transformers; warmup and clipping built in.",
    "radam": "Adam whose adaptive step is rectified while the variance estimate is young.",
    "adabelief": "Adam with the variance of the gradient around its mean (the 'belief') in place of g².",
}


def loss_guide_rst() -> str:
    """The "which loss" table: every guide row and every registered loss, linked where registered."""
    registered = set(registered_names()["losses"])
    names = list(LOSS_GUIDE) + sorted(registered - set(LOSS_GUIDE))
    lines = [
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 26 14 60",
        "",
        "   * - loss",
        "     - task",
        "     - choose it for",
    ]
    for name in names:
        task, why = LOSS_GUIDE.get(name, ("", "See its page."))
        shown = f":ref:`{name} <api-loss-{name}>`" if name in registered else f"``{name}`` (not in this build)"
        lines += [f"   * - {shown}", f"     - {task}", f"     - {why}"]
    return "\n".join(lines) + "\n\n"


def optimizer_guide_rst() -> str:
    """The optimizers table: every guide row and every registered optimizer, linked where registered."""
    registered = set(registered_names()["optimizers"])
    names = list(OPTIMIZER_GUIDE) + sorted(registered - set(OPTIMIZER_GUIDE))
    lines = [".. list-table::", "   :header-rows: 1", "   :widths: 18 82", "", "   * - optimizer", "     - what it is"]
    for name in names:
        shown = f":ref:`{name} <api-optimizer-{name}>`" if name in registered else f"``{name}`` (not in this build)"
        lines += [f"   * - {shown}", f"     - {OPTIMIZER_GUIDE.get(name, 'See its page.')}"]
    return "\n".join(lines) + "\n\n"
