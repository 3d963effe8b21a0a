"""Telling "computes in lower precision than asked" from other divergences.

Two signs, checked on the whole diverging tensor:

1. every value the candidate holds is a number of a narrower dtype (float32, bfloat16, float16)
   while the spec's values are not all such numbers: the candidate rounded its result to it
   (a kernel that computes in float32 and casts back);
2. (float32 arithmetic in a float64 audit only: for bfloat16 and float16 the band would take in
   real bugs of a percent) the errors, relative to the change the step made (``|candidate - spec| / |spec - before|``),
   sit at that dtype's rounding level (the median between 1/64 and 8 of its machine epsilons)
   and scatter as rounding does (spread over at least 4 elements, their standard deviation at
   least 15% of their mean): an update computed in float32 and added to float64 parameters. A
   planted bug gives a ratio that is too large, or the same ratio everywhere (weight decay after
   the update: ``lr * weight_decay`` for every element).

Either names the narrower dtype in the divergence (``precision``) and in the report. The
verdict is still "diverges": the candidate does not compute what was asked.

Imports torch (bfloat16 has no NumPy type): only an audit that runs imports this module.
"""

from __future__ import annotations

import numpy as np
import torch

NARROWER = {
    "float64": ("float32", "bfloat16", "float16"),
    "float32": ("bfloat16", "float16"),
    "bfloat16": (),
    "float16": (),
}
EPS = {name: float(torch.finfo(getattr(torch, name)).eps) for name in ("float32", "bfloat16", "float16")}


def _representable(values: np.ndarray, dtype: str) -> np.ndarray:
    """Elementwise: whether each float64 value is exactly a number of ``dtype``."""
    rounded = torch.from_numpy(np.ascontiguousarray(values)).to(getattr(torch, dtype)).double().numpy()
    return np.asarray((rounded == values) | ~np.isfinite(values))


def lower_precision(
    candidate: np.ndarray, spec: np.ndarray, before: np.ndarray | None, dtype: str, out_of_tolerance: np.ndarray
) -> str:
    """The narrower dtype the candidate's values point to (``"float32"``), or ``""``; see the module docstring.

    ``before``: the tensor's value before the step (``None`` for a state entry the step created).
    """
    candidate = np.asarray(candidate, dtype=np.float64)
    spec = np.asarray(spec, dtype=np.float64)
    for narrow in NARROWER.get(dtype, ()):
        if candidate.size and _representable(candidate, narrow).all() and not _representable(spec, narrow).all():
            return narrow
    if before is None or np.shape(before) != spec.shape:
        return ""
    change = np.abs(spec - np.asarray(before, dtype=np.float64))
    bad = out_of_tolerance & np.isfinite(candidate) & np.isfinite(spec) & (change > 0)
    if int(bad.sum()) < 4:
        return ""
    ratio = np.abs(candidate[bad] - spec[bad]) / change[bad]
    median, spread = float(np.median(ratio)), float(np.std(ratio) / np.mean(ratio))
    if dtype == "float64" and EPS["float32"] / 64 <= median <= EPS["float32"] * 8 and spread >= 0.15:
        return "float32"
    return ""


def precision_detail(narrow: str, dtype: str) -> str:
    return (
        f"lower precision: the candidate's values or errors are those of {narrow} arithmetic "
        f"(machine epsilon {EPS[narrow]:.1e}), not of the {dtype} asked"
    )
