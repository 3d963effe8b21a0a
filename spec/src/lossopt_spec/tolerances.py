"""The one tolerance table for comparisons with the spec, per dtype, and the elementwise rule.

Both the audit (:mod:`lossopt_spec.audit`) and the conformance suite (``conformance/``, which
may override a (check, dtype) pair only in its registry, with a comment saying why) read it.
Each dtype's row has two columns:

- ``conformance``: ``torch.testing.assert_close``'s defaults, for the suite, whose trajectories
  let rounding accumulate over up to 200 steps;
- ``audit``: the audit's defaults. The audit runs in lock-step (each step starts the spec from the
  candidate's own parameters and state), so one comparison holds the rounding of one step only.
  In float64 that is a few ulps of the operands, and the conformance tolerance (1e-7) would
  hide real bugs: weight decay applied after AdamW's update instead of before changes a parameter
  by :math:`\\gamma^2 \\lambda \\, m / \\sqrt{v} \\approx 10^{-8}` at the defaults. ``rtol=1e-10``
  catches it; ``atol=1e-12`` covers rounding where a result cancels to near zero (a momentum
  buffer :math:`\\mu b + g` with gradients up to :math:`10^3`: :math:`10^3 \\times 2^{-52} \\approx 2 \\cdot 10^{-13}`),
  and every ``torch.optim`` rule and loss audited passes at it (``conformance/test_audit.py``).
  Below float64 the audit uses the conformance column: there one step's rounding is already
  the size of those tolerances.

An element passes when

.. math:: |\\text{actual} - \\text{expected}| \\le \\text{atol} + \\text{rtol}\\,|\\text{expected}|

with ``expected`` finite, or when both are equal (infinities of the same sign), or both NaN.

NumPy only: importing this module imports no torch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np


class Tolerance(NamedTuple):
    """``rtol`` and ``atol`` of one comparison; ``str()`` gives ``rtol=1.3e-06, atol=1e-05``."""

    rtol: float
    atol: float

    def __str__(self) -> str:
        return f"rtol={self.rtol:g}, atol={self.atol:g}"


class DtypeTolerances(NamedTuple):
    """One row of :data:`TOLERANCE_TABLE`: the conformance suite's tolerance and the audit's."""

    conformance: Tolerance
    audit: Tolerance


TOLERANCE_TABLE: Mapping[str, DtypeTolerances] = {
    "float64": DtypeTolerances(Tolerance(rtol=1e-7, atol=1e-7), audit=Tolerance(rtol=1e-10, atol=1e-12)),
    "float32": DtypeTolerances(Tolerance(rtol=1.3e-6, atol=1e-5), audit=Tolerance(rtol=1.3e-6, atol=1e-5)),
    "float16": DtypeTolerances(Tolerance(rtol=1e-3, atol=1e-5), audit=Tolerance(rtol=1e-3, atol=1e-5)),
    "bfloat16": DtypeTolerances(Tolerance(rtol=1.6e-2, atol=1e-5), audit=Tolerance(rtol=1.6e-2, atol=1e-5)),
}

# the table's columns, by dtype
DEFAULT_TOLERANCES: Mapping[str, Tolerance] = {dtype: row.conformance for dtype, row in TOLERANCE_TABLE.items()}
AUDIT_TOLERANCES: Mapping[str, Tolerance] = {dtype: row.audit for dtype, row in TOLERANCE_TABLE.items()}


def within(actual: np.ndarray, expected: np.ndarray, tolerance: Tolerance) -> np.ndarray:
    """Elementwise (boolean array): whether ``actual`` matches ``expected`` by the rule above."""
    with np.errstate(all="ignore"):
        bound = tolerance.atol + tolerance.rtol * np.abs(expected)
        close = np.isfinite(expected) & (np.abs(actual - expected) <= bound)
    return np.asarray(close | (actual == expected) | (np.isnan(actual) & np.isnan(expected)))


def finite_errors(actual: np.ndarray, expected: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(absolute, relative) error per element: ``|actual - expected|`` and that over ``|expected|``.

    0 where either side is not finite, and the relative error 0 where ``expected`` is 0.
    """
    finite = np.isfinite(actual) & np.isfinite(expected)
    with np.errstate(all="ignore"):
        absolute = np.where(finite, np.abs(actual - expected), 0.0)
        relative = np.where(finite & (expected != 0), absolute / np.abs(expected), 0.0)
    return absolute, relative
