"""Hyperparameter checks shared by the optimizers.

Every message names the argument, the value received and what is allowed, in torch.optim's
words: ``Invalid learning rate: -0.1 (must be >= 0)``.
"""

from __future__ import annotations

import math

import torch


def _as_float(name: str, value: object) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"Invalid {name}: a tensor {name} must have one element; got shape {tuple(value.shape)}")
        return float(value.item())
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"Invalid {name}: {value!r} (must be a real number)")
    check_int64(name, value)
    return float(value)


def check_int64(name: str, value: object) -> None:
    """An ``int`` hyperparameter fits in int64: torch refuses larger Python ints as scalars (OverflowError)."""
    if isinstance(value, int) and not -(2**63) <= value < 2**63:
        raise ValueError(f"Invalid {name}: {value!r} (an integer must fit in int64; pass a float)")


def check_non_negative(name: str, value: object) -> None:
    """``value`` is a finite real number >= 0."""
    number = _as_float(name, value)
    if not (math.isfinite(number) and number >= 0.0):
        raise ValueError(f"Invalid {name}: {value} (must be >= 0)")


def check_in_unit_interval(name: str, value: object) -> None:
    """``value`` is a real number in [0, 1)."""
    number = _as_float(name, value)
    if not 0.0 <= number < 1.0:
        raise ValueError(f"Invalid {name}: {value} (must be in [0, 1))")


def check_in_closed_unit_interval(name: str, value: object) -> None:
    """``value`` is a real number in [0, 1]."""
    number = _as_float(name, value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"Invalid {name}: {value} (must be in [0, 1])")


class SparseGradientError(ValueError, RuntimeError):
    """A sparse gradient reached an optimizer that needs dense ones.

    A ``ValueError`` (an invalid input) that is also the ``RuntimeError`` ``torch.optim`` raises for
    the same case, so code written against either keeps catching it.
    """


def host_value(counter: torch.Tensor) -> float:
    """The value of a per-parameter ``step`` counter kept on the CPU (``capturable=False``).

    Reading a CPU tensor is a host read, not a host-device synchronisation; the counters live on the
    CPU exactly so that this read is free (as in ``torch.optim``). Device counters (``capturable``,
    ``fused``) are never read: their kernels use tensor arithmetic.
    """
    if not counter.is_cpu:
        raise RuntimeError(f"a step counter on {counter.device} would need a device sync to read; use capturable=True")
    return float(counter)


def check_flags(**flags: object) -> None:
    """Each flag is ``True`` or ``False``; ``foreach`` and ``fused`` may also be ``None`` (the default kernel).

    A truthy non-bool (``differentiable=1``, ``amsgrad="no"``) would silently pick a code path.
    """
    for name, value in flags.items():
        nullable = name in ("foreach", "fused")
        if isinstance(value, bool) or (nullable and value is None):
            continue
        allowed = "True, False or None" if nullable else "True or False"
        raise TypeError(f"Invalid {name}: {value!r} (must be {allowed})")
