"""Comparisons of torch results with the spec, with failure messages that reproduce the failure.

A message names the entry, the check, the first index out of tolerance, both values, the
tolerance, the context (step, impl, dtype, device) and ends with the call that failed::

    sgd: param1[3]=0.412 vs spec 0.409 (rtol=1.3e-06, atol=1e-05; 1 of 5 elements outside)
    [step 4, impl=foreach, dtype=float32, device=cpu] call: sgd(lr=0.1, momentum=0.9)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from conformance import report
from conformance.tolerances import Tolerance
from lossopt_spec.audit.bridge import to_numpy
from lossopt_spec.tolerances import finite_errors, within

__all__ = ["assert_matches_spec", "format_call", "format_context", "format_value", "to_numpy"]


def format_value(value: Any) -> str:
    """A value as it would be written in a call: arrays in full up to 32 elements, else summarized."""
    if isinstance(value, torch.Tensor):
        value = to_numpy(value)
    if isinstance(value, np.ndarray):
        if value.size <= 32:
            return np.array_repr(value, precision=17, max_line_width=10_000)
        return f"<array shape={value.shape} min={value.min():.6g} max={value.max():.6g}>"
    if isinstance(value, float):
        return repr(value)
    return repr(value)


def format_call(name: str, arguments: Mapping[str, Any]) -> str:
    """``name(key=value, ...)`` with :func:`format_value` for each argument."""
    return f"{name}(" + ", ".join(f"{k}={format_value(v)}" for k, v in arguments.items()) + ")"


def format_context(context: Mapping[str, Any]) -> str:
    """``[step 4, impl=foreach, dtype=float32]``: ``step`` written as a word, the rest as key=value."""
    parts = [f"step {v}" if k == "step" else f"{k}={v}" for k, v in context.items()]
    return "[" + ", ".join(parts) + "]"


def _label(check: str, index: tuple[int, ...]) -> str:
    return f"{check}[{', '.join(str(i) for i in index)}]" if index else check


def assert_matches_spec(
    actual: torch.Tensor | np.ndarray | float,
    expected: np.ndarray | float,
    *,
    entry: str,
    check: str,
    tolerance: Tolerance,
    context: Mapping[str, Any],
    call: str,
) -> None:
    """Fail, with the message described in the module docstring, unless ``actual`` matches ``expected``.

    Shapes must be equal; NaN must be where the spec has NaN, and infinities equal. Every call
    made inside a test is recorded for the conformance report (:mod:`conformance.report`): the
    largest absolute and relative error, keyed by entry, check, device and dtype.
    """
    got = to_numpy(actual)
    want = np.asarray(expected, dtype=np.float64)
    where = f"{format_context(context)} call: {call}"
    if got.shape != want.shape:
        raise AssertionError(f"{entry}: {check} has shape {got.shape} vs spec {want.shape} {where}")
    close = within(got, want, tolerance)  # infinities must be equal, NaN where NaN
    _record(got, want, close, actual, entry=entry, check=check, tolerance=tolerance, context=context)
    if close.all():
        return
    bad = np.argwhere(~close)
    index = tuple(int(i) for i in bad[0])
    raise AssertionError(
        f"{entry}: {_label(check, index)}={got[index]:.9g} vs spec {want[index]:.9g} "
        f"({tolerance}; {len(bad)} of {want.size} elements outside) {where}"
    )


def _record(
    got: np.ndarray,
    want: np.ndarray,
    close: np.ndarray,
    actual: object,
    *,
    entry: str,
    check: str,
    tolerance: Tolerance,
    context: Mapping[str, Any],
) -> None:
    """Errors of one comparison into the report: over finite pairs, and infinite where a pair is not close."""
    finite = np.isfinite(got) & np.isfinite(want)
    diff, rel = finite_errors(got, want)
    with np.errstate(all="ignore"):
        used = np.where(diff > 0, diff / (tolerance.atol + tolerance.rtol * np.abs(np.where(finite, want, 0.0))), 0.0)
    unmatched = bool((~close & ~finite).any())  # NaN vs number, inf vs -inf: no finite error describes it
    worst = np.inf if unmatched else 0.0
    dtype = context.get("dtype") or (
        str(actual.dtype).removeprefix("torch.") if hasattr(actual, "dtype") else "float64"
    )
    device = context.get("device") or (actual.device.type if isinstance(actual, torch.Tensor) else "cpu")
    report.record(
        entry=entry,
        check=check,
        device=str(device),
        dtype=str(dtype),
        elements=int(want.size),
        max_abs_error=max(float(diff.max(initial=0.0)), worst),
        max_rel_error=max(float(rel.max(initial=0.0)), worst),
        tolerance_used=max(float(used.max(initial=0.0)), worst),
    )
