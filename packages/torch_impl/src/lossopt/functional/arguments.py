"""Type and finiteness gate for the losses' Python hyperparameters (smooth, margin, weights, ...).

The range checks of each loss (``margin must be >= 0; got -1.0``) compare numbers; this gate runs
first so that a string, ``None``, a list or a tensor raises ``TypeError`` naming the argument instead
of an unrelated ``TypeError`` from ``>=``, and ``inf`` (which every ``>= 0`` check lets through, and
which turns the loss into NaN) raises ``ValueError`` naming it. The input fuzzer
(``packages/torch_impl/tests/hardening/test_fuzz_factories.py``) checks every argument.
"""

from __future__ import annotations

import math
import numbers
from typing import cast

import torch

INT64 = (-(2**63), 2**63 - 1)


def finite_number(value: float) -> bool:
    """``math.isfinite`` by comparison: also traceable by ``torch.compile(dynamic=True)``, where a float argument
    is symbolic and ``math.isfinite`` would break the graph (the comparison becomes a guard)."""
    return bool(abs(value) < math.inf)


def check_number(name: str, value: object) -> None:
    """``value`` is a real number: a Python or NumPy int or float, not ``bool`` (``delta=True`` would be 1), not a
    string, ``None``, a list or a tensor; else ``TypeError`` naming the argument and the type received.

    The one type rule of every numeric loss argument; each loss's range check (``ValueError``) follows it.
    An integer must fit in int64 (torch refuses larger Python ints with an ``OverflowError``).
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number; got {value!r} of type {type(value).__name__}")
    if isinstance(value, numbers.Integral):
        check_int64(name, value)


def check_real(name: str, value: object, *, finite: bool = True) -> None:
    """``value`` is a finite real number (:func:`check_number`); ``finite=False`` lets +-inf through (NaN never)."""
    check_number(name, value)
    if value != value or (finite and not finite_number(cast(float, value))):  # NaN; +-inf (comparisons: traceable)
        raise ValueError(f"{name} must be {'finite' if finite else 'a number (not NaN)'}; got {value!r}")


def check_int64(name: str, value: numbers.Integral) -> None:
    if not INT64[0] <= int(value) <= INT64[1]:
        raise ValueError(f"{name} must fit in int64 (|value| < 2**63; a float for larger numbers); got {value!r}")


def check_index(name: str, value: object) -> None:
    """``value`` is a class index: an integer (not ``bool``) that fits in int64."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer; got {value!r} of type {type(value).__name__}")
    check_int64(name, value)


def as_tensor_argument(name: str, value: object, dtype: torch.dtype | None = None) -> torch.Tensor:
    """``torch.as_tensor(value, dtype)`` for a non-tensor (a tensor is returned as it is), with ``TypeError``
    naming the argument when it is not numbers."""
    if isinstance(value, torch.Tensor):
        return value
    try:
        return torch.as_tensor(value, dtype=dtype)
    except (TypeError, ValueError, RuntimeError, OverflowError) as error:
        raise TypeError(f"{name} must be a tensor (or a sequence of numbers); got {value!r} ({error})") from None


def check_bool(name: str, value: object) -> None:
    """``value`` is ``True`` or ``False`` (a truthy tensor or string would silently pick a branch)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False; got {value!r}")
