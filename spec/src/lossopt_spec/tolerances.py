"""The one tolerance table for comparisons with the spec, per dtype, and the elementwise rule.

Both the audit (:mod:`lossopt_spec.audit`) and the conformance suite (``conformance/``, which
may override a (check, dtype) pair only in its registry, with a comment saying why) read it.
The defaults are ``torch.testing.assert_close``'s. An element passes when

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


DEFAULT_TOLERANCES: Mapping[str, Tolerance] = {
    "float64": Tolerance(rtol=1e-7, atol=1e-7),
    "float32": Tolerance(rtol=1.3e-6, atol=1e-5),
    "float16": Tolerance(rtol=1e-3, atol=1e-5),
    "bfloat16": Tolerance(rtol=1.6e-2, atol=1e-5),
}


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
