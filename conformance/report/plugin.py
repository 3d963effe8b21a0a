"""The pytest plugin (registered by ``conformance/conftest.py``): feeds the recorder, writes the run record.

Hooks are found by name, so this module imports no pytest. Tests marked ``not_in_report`` (the
harness's own tests, which make comparisons fail on purpose) are not recorded.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from conformance.report import recording
from conformance.report.merging import render_markdown, verdict
from conformance.report.recording import Recorder
from conformance.report.runs import new_run, write_record


def write_run(run: Mapping[str, Any], path: Path) -> tuple[Path, Path]:
    """Write ``run`` as ``path`` (JSON) and its table next to it (``.md``)."""
    write_record(run, path)
    markdown = path.with_suffix(".md")
    markdown.write_text(render_markdown([run]))
    return path, markdown


class ReportPlugin:
    """Feeds :data:`conformance.report.recording.RECORDER` from the test run and writes the run record at the end."""

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
        self._previous, recording.RECORDER = recording.RECORDER, self.recorder

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
        if self._previous is not None:
            recording.RECORDER = self._previous
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
