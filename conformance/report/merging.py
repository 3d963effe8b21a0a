"""Merging run records: the (entry, check) x (torch, device, dtype) table, the verdict, the Markdown report.

Standard library only: the merge step runs outside any test environment.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.report.recording import Cell, larger_error
from conformance.report.runs import SCHEMA, load_runs

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
            into.max_abs_error = larger_error(into.max_abs_error, cell.max_abs_error)
            into.max_rel_error = larger_error(into.max_rel_error, cell.max_rel_error)
            into.max_tolerance_used = larger_error(into.max_tolerance_used, cell.max_tolerance_used)
            into.failed_tests += [t for t in cell.failed_tests if t not in into.failed_tests]
    return table


def blocking_problems(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Everything that blocks a release, one sentence each; empty when the release may go."""
    problems = []
    if not [run for run in runs if run["status"] != "skipped"]:
        problems.append("no conformance run executed (every cell skipped or none ran)")
    for run in runs:
        name = run_name(run)
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


def run_name(run: Mapping[str, Any]) -> str:
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
            f"| {run_name(run)} | {run['torch']} | {', '.join(run['devices'])} | {status} | {tests['passed']} "
            f"| {tests['failed'] + tests['error']} | {tests['skipped']} | {duration} |"
        )
    features = [run for run in runs if run.get("torch_features")]
    if features:
        lines += ["", "What each torch offered (lossopt._torch_compat) and the kernels its optimizers ran on CPU:", ""]
        lines += [f"- {_features_text(r)}" for r in features]
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
        lines += [f"- {run_name(run)}: `{f['test']}`: {f['message']}" for run, f in failures]
    return "\n".join(lines) + "\n"


def _features_text(run: Mapping[str, Any]) -> str:
    features = run["torch_features"]
    fused = ", ".join(
        f"{name}{'+grad_scale' if f['grad_scale'] else ''}" for name, f in features["fused"].items() if f["available"]
    )
    text = (
        f"torch {run['torch']}: foreach ops {'yes' if features['foreach'] else 'no'}, fused kernels "
        f"[{fused or 'none'}] on {', '.join(features['fused_devices'])}"
    )
    if "linear_cross_entropy" in features:
        text += f", F.linear_cross_entropy {'yes' if features['linear_cross_entropy'] else 'no'}"
    math = features.get("cpu_math")
    if math:
        mode = f", MKL_CBWR={math['mkl_cbwr']}" if math.get("mkl_cbwr") else ""
        text += (
            f"; CPU math: {math['cpu_capability']}, MKL {'yes' if math['mkl'] else 'no'}{mode}, "
            f"sqrt fingerprint {math['sqrt_fingerprint']}"
        )
    paths = features.get("kernel_paths")
    if paths:
        text += "; kernels: " + ", ".join(
            f"{rule} {' > '.join(chains['default'])} (fused=True: {' > '.join(chains['fused'])})"
            for rule, chains in paths.items()
        )
    return text


def _merged_skips(runs: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    skips: dict[str, int] = {}
    for run in runs:
        if run["status"] == "skipped":
            reason = f"{run_name(run)}: {run['reason']}"
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
