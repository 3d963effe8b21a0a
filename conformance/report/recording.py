"""Recording while tests run: every comparison with the spec into a cell keyed by (entry, check, device, dtype).

:func:`record` (called by :func:`conformance.assertions.assert_matches_spec`) adds a comparison to
the active :class:`Recorder`; outside a test it records nothing. Standard library only.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

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
        cell.max_abs_error = larger_error(cell.max_abs_error, max_abs_error)
        cell.max_rel_error = larger_error(cell.max_rel_error, max_rel_error)
        cell.max_tolerance_used = larger_error(cell.max_tolerance_used, tolerance_used)
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


def larger_error(a: float, b: float) -> float:
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
