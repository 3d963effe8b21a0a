"""The "differences" tables: ``docs/differences.toml`` read, checked against the registries, rendered.

Each registered entry has a table; each row says what lossopt does, what the other library (or
the design document) does, and names the test that shows it. :func:`documentation_problems`
says, one sentence each, what is missing or malformed; ``docs/tests`` fails on any.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from docs.generate.common import DOCS, ROOT, SINGULAR, heading, unmet

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
    "liger": "Liger-Kernel",
}
ROW_FIELDS = ("against", "lossopt", "other", "test")


@dataclass(frozen=True)
class Difference:
    """One row: where lossopt differs from ``against``, and the test that shows it (``path::test_name``).

    ``when`` (optional, ``"name:keyword"`` or ``"name"``): the row describes a feature that not every
    build has; it is shown, and its test checked, only where :func:`~docs.generate.common.unmet`
    finds nothing missing.
    """

    against: str
    lossopt: str
    other: str
    test: str
    when: str = ""


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
        parts.append(heading(kind.capitalize(), "-") + "\n")
        for name in entries:
            page = f"api-{SINGULAR[kind]}-{name}"
            parts.append(f".. _differences-{name}:\n\n{heading(name, '~')}\n")
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
