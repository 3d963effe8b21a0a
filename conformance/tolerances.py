"""The one tolerance table of the conformance suite, per dtype.

The defaults are ``torch.testing.assert_close``'s. A check passes elementwise when
``|actual - expected| <= atol + rtol * |expected|``. An entry may override a (check, dtype) pair
only in ``conformance/registry.py``, with a comment saying why.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Tolerance:
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

TORCH_DTYPES: Mapping[str, torch.dtype] = {
    "float64": torch.float64,
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}

Overrides = Mapping[tuple[str, str], Tolerance]


def tolerance_for(dtype: str, check: str, overrides: Overrides | None = None) -> Tolerance:
    """The tolerance of ``check`` at ``dtype``: the entry's override if it has one, else the table's."""
    if overrides and (check, dtype) in overrides:
        return overrides[(check, dtype)]
    if dtype not in DEFAULT_TOLERANCES:
        raise KeyError(f"no tolerance for dtype {dtype!r}; known: {sorted(DEFAULT_TOLERANCES)}")
    return DEFAULT_TOLERANCES[dtype]
