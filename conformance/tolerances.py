"""The conformance suite's tolerances: the table of :mod:`lossopt_spec.tolerances`, and per-entry overrides.

The defaults, per dtype, are ``torch.testing.assert_close``'s, in one table shared with the audit
(``lossopt_spec.tolerances.DEFAULT_TOLERANCES``). A check passes elementwise when
``|actual - expected| <= atol + rtol * |expected|``. An entry may override a (check, dtype) pair
only in ``conformance/registry.py``, with a comment saying why.
"""

from __future__ import annotations

from collections.abc import Mapping

from lossopt_spec.tolerances import DEFAULT_TOLERANCES, Tolerance

Overrides = Mapping[tuple[str, str], Tolerance]

__all__ = ["DEFAULT_TOLERANCES", "Overrides", "Tolerance", "tolerance_for"]


def tolerance_for(dtype: str, check: str, overrides: Overrides | None = None) -> Tolerance:
    """The tolerance of ``check`` at ``dtype``: the entry's override if it has one, else the table's."""
    if overrides and (check, dtype) in overrides:
        return overrides[(check, dtype)]
    if dtype not in DEFAULT_TOLERANCES:
        raise KeyError(f"no tolerance for dtype {dtype!r}; known: {sorted(DEFAULT_TOLERANCES)}")
    return DEFAULT_TOLERANCES[dtype]
