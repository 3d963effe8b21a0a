"""The conformance report: what every comparison with the spec measured, per run and merged.

Every call of :func:`conformance.assertions.assert_matches_spec` made inside a test is recorded in
a *cell* keyed by (entry, check, device, dtype): how many examples reached it, how many elements
were compared, and the largest absolute and relative error against the spec. A cell fails when a
test that touched it fails. ``check`` is the kind of test (the test module's name without
``test_``) and the compared quantity without its parameter index: ``steps: param`` holds
``param0``, ``param1``, ... of every single-step test.

A pytest run of the conformance suite writes one run record (JSON) and its Markdown table, by
default to ``reports/conformance/torch-<version>-<devices>.{json,md}`` under the rootdir
(``--conformance-report=PATH.json`` to choose, ``--conformance-report=none`` to write nothing).
``nox -s conformance`` writes one record per (torch, device) cell of the matrix and merges them::

    python -m conformance.report merge OUT_DIR RUN.json [RUN.json ...]

which writes ``OUT_DIR/report.json`` and ``OUT_DIR/report.md`` (rows: entry and check; columns:
torch version, device, dtype), prints where they are and a one-line verdict, and exits non-zero
when anything failed: a failing cell, a failing test, a run that ended badly or never wrote its
record. A run skipped for a reason (a CUDA cell with no GPU) is listed with the reason and blocks
nothing.

This module uses only the standard library (the merge step runs outside any test environment).
The pytest side is :class:`ReportPlugin`, registered by ``conformance/conftest.py``; tests marked
``not_in_report`` (the harness's own tests, which make comparisons fail on purpose) are not recorded.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import platform
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = 1
CellKey = tuple[str, str, str, str]  # (entry, check, device, dtype)


@dataclass
class Cell:
    """What the comparisons of one (entry, check, device, dtype) measured in one run."""

    entry: str
    check: str
    device: str
    dtype: str
    status: str = "pass"  # "pass" or "fail"
    examples: int = 0  # Hypothesis examples (or plain test calls) that reached this cell
    comparisons: int = 0  # calls of assert_matches_spec
    elements: int = 0  # elements compared
    max_abs_error: float = 0.0  # max |actual - spec| over finite elements
    max_rel_error: float = 0.0  # max |actual - spec| / |spec| over finite, non-zero spec elements
    max_tolerance_used: float = 0.0  # max |actual - spec| / (atol + rtol |spec|): 1.0 is the limit
    failed_tests: list[str] = field(default_factory=list)
    _last_example: int = field(default=-1, repr=False)

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if not k.startswith("_")}
        for key in ("max_abs_error", "max_rel_error", "max_tolerance_used"):
            data[key] = _json_float(data[key])
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cell:
        values = dict(data)
        for key in ("max_abs_error", "max_rel_error", "max_tolerance_used"):
            values[key] = float(values[key])
        values["failed_tests"] = list(values.get("failed_tests", []))
        return cls(**values)


def _json_float(value: float) -> float | str:
    return value if math.isfinite(value) else repr(value)  # "inf" / "nan": JSON has no such numbers


def check_label(test_module: str, check: str) -> str:
    """``steps: param`` from module ``test_steps`` and check ``param1`` (parameter indices merged)."""
    kind = test_module.rsplit(".", 1)[-1].removeprefix("test_")
    return f"{kind}: {_TRAILING_INDEX.sub('', check)}"


_TRAILING_INDEX = re.compile(r"(?<=[A-Za-z_])\d+$")


class Recorder:
    """Collects cells while tests run; inactive (records nothing) outside a test."""

    def __init__(self) -> None:
        self.cells: dict[CellKey, Cell] = {}
        self.touched: dict[str, set[CellKey]] = {}
        self._test: str | None = None
        self._module = ""
        self._example = 0
        self._example_marker: object = None

    def begin_test(self, nodeid: str, module: str) -> None:
        self._test, self._module = nodeid, module
        self._example += 1
        self._example_marker = None

    def end_test(self) -> None:
        self._test = None

    def record(
        self,
        *,
        entry: str,
        check: str,
        device: str,
        dtype: str,
        elements: int,
        max_abs_error: float,
        max_rel_error: float,
        tolerance_used: float,
    ) -> None:
        """Add one comparison; a no-op outside a recorded test."""
        if self._test is None:
            return
        marker = _hypothesis_example_marker()
        if marker is not self._example_marker:  # a new Hypothesis example inside the same test
            self._example_marker = marker
            self._example += 1
        key = (entry, check_label(self._module, check), device, dtype)
        cell = self.cells.get(key)
        if cell is None:
            cell = self.cells[key] = Cell(*key)
        if cell._last_example != self._example:
            cell._last_example = self._example
            cell.examples += 1
        cell.comparisons += 1
        cell.elements += elements
        cell.max_abs_error = _max(cell.max_abs_error, max_abs_error)
        cell.max_rel_error = _max(cell.max_rel_error, max_rel_error)
        cell.max_tolerance_used = _max(cell.max_tolerance_used, tolerance_used)
        self.touched.setdefault(self._test, set()).add(key)

    def mark_failed(self, nodeid: str) -> list[CellKey]:
        """Fail every cell the test ``nodeid`` touched; the keys, for the failure list."""
        keys = sorted(self.touched.get(nodeid, ()))
        for key in keys:
            cell = self.cells[key]
            cell.status = "fail"
            if nodeid not in cell.failed_tests:
                cell.failed_tests.append(nodeid)
        return keys


def _max(a: float, b: float) -> float:
    return b if math.isnan(b) or b > a else a  # NaN wins: a NaN error is the worst error


def _hypothesis_example_marker() -> object:
    """The running Hypothesis example's build context (a new object per example), else None."""
    hypothesis_control = sys.modules.get("hypothesis.control")
    if hypothesis_control is None:
        return None
    try:
        return hypothesis_control.current_build_context()
    except Exception:  # no example running: a plain test
        return None


RECORDER = Recorder()


@contextmanager
def recording_into(recorder: Recorder) -> Iterator[Recorder]:
    """Record into ``recorder`` instead of the global one for the duration (used by the report's tests)."""
    global RECORDER
    previous, RECORDER = RECORDER, recorder
    try:
        yield recorder
    finally:
        RECORDER = previous


def record(**kwargs: Any) -> None:
    """Record one comparison into the active recorder (see :meth:`Recorder.record`)."""
    RECORDER.record(**kwargs)


# ---------------------------------------------------------------------------------------------
# Run records


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
    one blocks the release.
    """
    run = new_run(torch_version=torch_version, devices=[device], cell_name=f"torch {torch_version}, {device}")
    run.update(status=status, reason=reason, finished=_now())
    return run


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def write_run(run: Mapping[str, Any], path: Path) -> tuple[Path, Path]:
    """Write ``run`` as ``path`` (JSON) and its table next to it (``.md``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(run, indent=2, sort_keys=True) + "\n")
    markdown = path.with_suffix(".md")
    markdown.write_text(render_markdown([run]))
    return path, markdown


def load_runs(paths: Iterable[Path]) -> list[dict[str, Any]]:
    runs = []
    for path in paths:
        run = json.loads(Path(path).read_text())
        if run.get("schema") != SCHEMA:
            raise ValueError(f"{path}: report schema {run.get('schema')!r}, expected {SCHEMA}")
        run["_path"] = str(path)
        runs.append(run)
    return runs


# ---------------------------------------------------------------------------------------------
# Merging and verdict

Column = tuple[str, str, str]  # (torch, device, dtype)


def merged_cells(runs: Sequence[Mapping[str, Any]]) -> dict[tuple[str, str], dict[Column, Cell]]:
    """(entry, check) -> (torch, device, dtype) -> cell, cells of the same key combined across runs."""
    table: dict[tuple[str, str], dict[Column, Cell]] = {}
    for run in runs:
        for data in run["cells"]:
            cell = Cell.from_json(data)
            column = (run["torch"], cell.device, cell.dtype)
            row = table.setdefault((cell.entry, cell.check), {})
            if column not in row:
                row[column] = cell
                continue
            into = row[column]
            into.status = "fail" if "fail" in (into.status, cell.status) else "pass"
            into.examples += cell.examples
            into.comparisons += cell.comparisons
            into.elements += cell.elements
            into.max_abs_error = _max(into.max_abs_error, cell.max_abs_error)
            into.max_rel_error = _max(into.max_rel_error, cell.max_rel_error)
            into.max_tolerance_used = _max(into.max_tolerance_used, cell.max_tolerance_used)
            into.failed_tests += [t for t in cell.failed_tests if t not in into.failed_tests]
    return table


def blocking_problems(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Everything that blocks a release, one sentence each; empty when the release may go."""
    problems = []
    if not [run for run in runs if run["status"] != "skipped"]:
        problems.append("no conformance run executed (every cell skipped or none ran)")
    for run in runs:
        name = _run_name(run)
        if run["status"] == "error":
            problems.append(f"{name}: {run.get('reason') or 'the run ended without writing its report'}")
        elif run["status"] == "failed":
            problems.append(
                f"{name}: pytest exit status {run['exit_status']}, {run['tests']['failed']} failed, "
                f"{run['tests']['error']} errors"
            )
        for cell in run["cells"]:
            if cell["status"] == "fail":
                problems.append(f"{name}: {cell['entry']} / {cell['check']} [{cell['device']}, {cell['dtype']}] failed")
    return problems


def _run_name(run: Mapping[str, Any]) -> str:
    return run.get("cell") or f"torch {run['torch']}, {'+'.join(run['devices'])}"


def verdict(runs: Sequence[Mapping[str, Any]]) -> str:
    """One line: PASSED or FAILED (release blocked), with the counts behind it."""
    executed = [run for run in runs if run["status"] != "skipped"]
    skipped = [run for run in runs if run["status"] == "skipped"]
    cells = [cell for run in runs for cell in run["cells"]]
    passed_tests = sum(run["tests"]["passed"] for run in runs)
    failed_tests = sum(run["tests"]["failed"] + run["tests"]["error"] for run in runs)
    failed_cells = [cell for cell in cells if cell["status"] == "fail"]
    problems = blocking_problems(runs)
    counts = (
        f"{len(executed)} run(s) on torch {', '.join(sorted({r['torch'] for r in executed})) or '-'}; "
        f"{passed_tests} tests passed, {failed_tests} failed; {len(cells) - len(failed_cells)}/{len(cells)} "
        f"report cells pass; {len(skipped)} matrix cell(s) skipped"
    )
    if problems:
        return f"conformance FAILED, release blocked: {problems[0]} ({len(problems)} problem(s); {counts})"
    return f"conformance PASSED: {counts}"


# ---------------------------------------------------------------------------------------------
# Markdown


def _fmt(value: float) -> str:
    return "0" if value == 0 else f"{value:.1e}"


def _cell_text(cell: Cell | None) -> str:
    if cell is None:
        return "·"
    mark = "pass" if cell.status == "pass" else "**FAIL**"
    return (
        f"{mark} {cell.examples} ex, abs {_fmt(cell.max_abs_error)}, rel {_fmt(cell.max_rel_error)}, "
        f"tol {cell.max_tolerance_used:.2g}"
    )


def render_markdown(runs: Sequence[Mapping[str, Any]]) -> str:
    """The report as Markdown: verdict, runs, the (entry, check) x (torch, device, dtype) table, failures."""
    lines = ["# lossopt conformance report", "", f"**{verdict(runs)}**", ""]
    lines += ["## Runs", "", "| run | torch | devices | status | passed | failed | skipped | time |"]
    lines += ["| --- | --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for run in runs:
        tests = run["tests"]
        duration = f"{run['duration_s']:.0f} s" if run.get("duration_s") is not None else "-"
        status = run["status"] + (f": {run['reason']}" if run.get("reason") else "")
        lines.append(
            f"| {_run_name(run)} | {run['torch']} | {', '.join(run['devices'])} | {status} | {tests['passed']} "
            f"| {tests['failed'] + tests['error']} | {tests['skipped']} | {duration} |"
        )
    features = [run for run in runs if run.get("torch_features")]
    if features:
        lines += [
            "",
            "Private torch APIs found (lossopt._torch_compat): " + "; ".join(_features_text(r) for r in features),
        ]
    table = merged_cells(runs)
    columns = sorted({column for row in table.values() for column in row})
    lines += ["", "## Cells", ""]
    if table:
        lines += [
            "Each cell: pass/FAIL, examples run (Hypothesis examples, or test calls for golden trajectories), "
            "the largest absolute and relative error against the spec (relative over non-zero spec values, so "
            "an underflow to 0 reads as 1.0), and the largest share of the tolerance used "
            "(|error| / (atol + rtol |spec|): 1 is the limit). `·`: not checked there.",
            "",
            "| entry | check | " + " | ".join(f"{t}<br>{d}<br>{dt}" for t, d, dt in columns) + " |",
            "| --- | --- | " + " | ".join("---" for _ in columns) + " |",
        ]
        for (entry, check), row in sorted(table.items()):
            lines.append(f"| {entry} | {check} | " + " | ".join(_cell_text(row.get(c)) for c in columns) + " |")
    else:
        lines.append("No comparisons were recorded.")
    skips = _merged_skips(runs)
    if skips:
        lines += ["", "## Skipped", "", "| count | reason |", "| ---: | --- |"]
        lines += [f"| {count} | {reason} |" for reason, count in sorted(skips.items(), key=lambda kv: -kv[1])]
    failures = [(run, f) for run in runs for f in run["failures"]]
    problems = blocking_problems(runs)
    if problems or failures:
        lines += ["", "## Failures", ""]
        lines += [f"- {p}" for p in problems]
        lines += [f"- {_run_name(run)}: `{f['test']}`: {f['message']}" for run, f in failures]
    return "\n".join(lines) + "\n"


def _features_text(run: Mapping[str, Any]) -> str:
    features = run["torch_features"]
    fused = ", ".join(
        f"{name}{'+grad_scale' if f['grad_scale'] else ''}" for name, f in features["fused"].items() if f["available"]
    )
    return (
        f"torch {run['torch']}: foreach ops {'yes' if features['foreach'] else 'no'}, fused kernels "
        f"[{fused or 'none'}] on {', '.join(features['fused_devices'])}"
    )


def _merged_skips(runs: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    skips: dict[str, int] = {}
    for run in runs:
        if run["status"] == "skipped":
            reason = f"{_run_name(run)}: {run['reason']}"
            skips[reason] = skips.get(reason, 0) + 1
        for reason, count in run["skips"].items():
            skips[reason] = skips.get(reason, 0) + count
    return skips


def merge(out_dir: Path, run_paths: Sequence[Path]) -> tuple[Path, Path, str, bool]:
    """Merge run records into ``out_dir/report.{json,md}``; (json path, md path, verdict, passed)."""
    runs = load_runs(run_paths)
    out_dir.mkdir(parents=True, exist_ok=True)
    line = verdict(runs)
    passed = not blocking_problems(runs)
    report = {
        "schema": SCHEMA,
        "verdict": line,
        "passed": passed,
        "runs": [{k: v for k, v in run.items() if k != "_path"} for run in runs],
        "table": [
            {"entry": entry, "check": check, "torch": column[0], **cell.to_json()}
            for (entry, check), row in sorted(merged_cells(runs).items())
            for column, cell in sorted(row.items())
        ],
    }
    json_path = out_dir / "report.json"
    json_path.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    md_path = out_dir / "report.md"
    md_path.write_text(render_markdown(runs))
    return json_path, md_path, line, passed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.report", description="Merge conformance run records.")
    sub = parser.add_subparsers(dest="command", required=True)
    merge_parser = sub.add_parser("merge", help="merge run records into OUT_DIR/report.{json,md}; exit 1 on failure")
    merge_parser.add_argument("out_dir", type=Path)
    merge_parser.add_argument("runs", type=Path, nargs="*")
    args = parser.parse_args(argv)
    if not args.runs:
        print(f"conformance FAILED, release blocked: no run records to merge into {args.out_dir}")
        return 1
    json_path, md_path, line, passed = merge(args.out_dir, args.runs)
    print(f"conformance report: {md_path} (JSON: {json_path})")
    print(line)
    return 0 if passed else 1


# ---------------------------------------------------------------------------------------------
# pytest plugin (registered by conformance/conftest.py; hooks found by name, so no pytest import here)


class ReportPlugin:
    """Feeds :data:`RECORDER` from the test run and writes the run record at the end."""

    def __init__(
        self,
        path: Path | None,
        *,
        torch_version: str,
        devices: Sequence[str],
        torch_features: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = path
        self.run = new_run(torch_version=torch_version, devices=devices)
        if torch_features is not None:
            self.run["torch_features"] = dict(torch_features)
        self.recorder = Recorder()
        self._previous: Recorder | None = None
        self._start = _dt.datetime.now(_dt.UTC)
        self.written: tuple[Path, Path] | None = None

    def pytest_sessionstart(self, session: Any) -> None:
        global RECORDER
        self._previous, RECORDER = RECORDER, self.recorder

    def pytest_runtest_setup(self, item: Any) -> None:
        if item.get_closest_marker("not_in_report") is None:
            module = getattr(getattr(item, "module", None), "__name__", "")
            self.recorder.begin_test(item.nodeid, module)

    def pytest_runtest_logreport(self, report: Any) -> None:
        tests = self.run["tests"]
        if report.when == "teardown":
            self.recorder.end_test()
        if report.skipped and report.when in ("setup", "call"):
            tests["skipped"] += 1
            reason = _skip_reason(report)
            self.run["skips"][reason] = self.run["skips"].get(reason, 0) + 1
        elif report.failed:
            tests["failed" if report.when == "call" else "error"] += 1
            self.recorder.mark_failed(report.nodeid)
            message = str(getattr(report, "longrepr", "") or "")
            last = [line for line in message.splitlines() if line.startswith("E ")]
            self.run["failures"].append(
                {"test": report.nodeid, "when": report.when, "message": (last[0][1:].strip() if last else "")[:500]}
            )
        elif report.passed and report.when == "call":
            tests["passed"] += 1

    def pytest_sessionfinish(self, session: Any, exitstatus: int) -> None:
        global RECORDER
        if self._previous is not None:
            RECORDER = self._previous
        finished = _dt.datetime.now(_dt.UTC)
        self.run.update(
            finished=finished.isoformat(timespec="seconds"),
            duration_s=round((finished - self._start).total_seconds(), 1),
            exit_status=int(exitstatus),
            cells=[cell.to_json() for _, cell in sorted(self.recorder.cells.items())],
        )
        failed_cells = any(cell["status"] == "fail" for cell in self.run["cells"])
        self.run["status"] = "passed" if int(exitstatus) == 0 and not failed_cells else "failed"
        if self.path is not None:
            self.written = write_run(self.run, self.path)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.written is None:
            return
        terminalreporter.write_sep("-", "conformance report")
        terminalreporter.write_line(f"{self.written[1]} (JSON: {self.written[0]})")
        terminalreporter.write_line(verdict([self.run]))


def _skip_reason(report: Any) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


if __name__ == "__main__":
    sys.exit(main())
