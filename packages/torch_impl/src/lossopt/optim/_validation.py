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


def check_kernel_flags(foreach: object, fused: object, differentiable: object) -> None:
    """At most one of ``fused`` and ``foreach``; no ``fused`` under autograd (the fused kernels have none)."""
    if fused and foreach:
        raise ValueError(
            f"Invalid fused/foreach: fused={fused}, foreach={foreach} (at most one of them may be True; foreach "
            "and fused cannot both be True, as fused=True already is the multi-tensor kernel)"
        )
    if fused and differentiable:
        raise ValueError("Invalid fused: True with differentiable=True (the fused kernels have no autograd; use one)")


def check_betas(betas: object) -> tuple[float, float]:
    """``betas`` is a pair of numbers, each in [0, 1); the message names the index."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas!r} (must be a pair (beta1, beta2), each in [0, 1))")
    for index, beta in enumerate(betas):
        check_in_unit_interval(f"beta parameter at index {index}", beta)
    return float(betas[0]), float(betas[1])


def check_adam_family(lr: object, betas: object, eps: object, weight_decay: object) -> tuple[float, float]:
    """The checks of the Adam family's shared hyperparameters; returns ``betas`` as a checked pair."""
    check_non_negative("learning rate", lr)
    checked = check_betas(betas)
    check_non_negative("epsilon value", eps)
    check_non_negative("weight_decay value", weight_decay)
    return checked


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_schedule_clip(
    warmup_steps: object, max_grad_norm: object, use_cyclical_lr: object, cycle_length: object
) -> None:
    """Validate the schedule and clipping hyperparameters; raise ``ValueError`` naming the bad one."""
    if not _is_int(warmup_steps) or warmup_steps < 0:  # type: ignore[operator]
        raise ValueError(f"Invalid warmup_steps: {warmup_steps!r} (must be an integer >= 0)")
    if max_grad_norm is not None:
        if isinstance(max_grad_norm, bool) or not isinstance(max_grad_norm, (int, float)):
            raise ValueError(f"Invalid max_grad_norm: {max_grad_norm!r} (must be None or a finite number > 0)")
        check_int64("max_grad_norm", max_grad_norm)
        if not (math.isfinite(max_grad_norm) and max_grad_norm > 0):
            raise ValueError(f"Invalid max_grad_norm: {max_grad_norm!r} (must be None or a finite number > 0)")
    if not isinstance(use_cyclical_lr, bool):
        raise ValueError(f"Invalid use_cyclical_lr: {use_cyclical_lr!r} (must be True or False)")
    if not _is_int(cycle_length) or cycle_length < 1:  # type: ignore[operator]
        raise ValueError(f"Invalid cycle_length: {cycle_length!r} (must be an integer >= 1)")


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
