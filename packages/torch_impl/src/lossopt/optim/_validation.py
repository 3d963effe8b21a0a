"""Hyperparameter checks shared by the optimizers.

Every message names the argument, the value received and what is allowed, in torch.optim's
words: ``Invalid learning rate: -0.1 (must be >= 0)``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch


class ArgumentTypeError(TypeError, ValueError):
    """A hyperparameter of the wrong type: a ``TypeError``, and also the ``ValueError`` earlier versions raised."""


def _type_error(name: str, value: object, allowed: str) -> ArgumentTypeError:
    return ArgumentTypeError(f"Invalid {name}: {value!r} ({allowed}; got {type(value).__name__})")


def real(name: str, value: object, *, tensor: bool = False) -> Any:
    """``value`` as a Python float: Python and NumPy numbers (not ``bool``); with ``tensor``, a one-element real
    tensor is kept as it is (a tensor learning rate). Anything else is a ``TypeError`` naming the type."""
    if tensor and isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"Invalid {name}: a tensor {name} must have one element; got shape {tuple(value.shape)}")
        if value.is_complex() or value.dtype == torch.bool:
            raise _type_error(name, value, f"must be a real number or a real one-element tensor, not {value.dtype}")
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _type_error(name, value, "must be a real number")
    check_int64(name, value)
    return float(value)


def integer(name: str, value: object, minimum: int) -> int:
    """``value`` as a Python int >= ``minimum``: Python and NumPy integers (not ``bool``, not floats)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _type_error(name, value, f"must be an integer >= {minimum}")
    if value < minimum:
        raise ValueError(f"Invalid {name}: {value!r} (must be an integer >= {minimum})")
    check_int64(name, value)
    return int(value)


def check_int64(name: str, value: object) -> None:
    """An integer hyperparameter fits in int64: torch refuses larger Python ints as scalars (OverflowError)."""
    if isinstance(value, numbers.Integral) and not -(2**63) <= int(value) < 2**63:
        raise ValueError(f"Invalid {name}: {value!r} (an integer must fit in int64; pass a float)")


def check_non_negative(name: str, value: object, *, tensor: bool = False) -> Any:
    """``value`` is a finite real number >= 0; returned as a float (a tensor kept, with ``tensor``)."""
    number = real(name, value, tensor=tensor)
    if not (math.isfinite(float(number)) and float(number) >= 0.0):
        raise ValueError(f"Invalid {name}: {value} (must be >= 0)")
    return number


def check_in_unit_interval(name: str, value: object) -> float:
    """``value`` is a real number in [0, 1) (a one-element tensor is read once, here)."""
    number = float(real(name, value, tensor=True))
    if not 0.0 <= number < 1.0:
        raise ValueError(f"Invalid {name}: {value} (must be in [0, 1))")
    return number


def check_in_open_unit_interval(name: str, value: object, why: str = "") -> float:
    """``value`` is a real number in (0, 1) (a one-element tensor is read once, here); ``why`` ends the message."""
    number = float(real(name, value, tensor=True))
    if not 0.0 < number < 1.0:
        raise ValueError(f"Invalid {name}: {value} (must be in (0, 1){why})")
    return number


def check_in_closed_unit_interval(name: str, value: object) -> float:
    """``value`` is a real number in [0, 1]."""
    number = real(name, value)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"Invalid {name}: {value} (must be in [0, 1])")
    return float(number)


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
    """``betas`` is a pair of numbers (or one-element tensors, read once here), each in [0, 1); the message names
    the index. Returned as Python floats."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"Invalid betas: {betas!r} (must be a pair (beta1, beta2), each in [0, 1))")
    first, second = (check_in_unit_interval(f"beta parameter at index {i}", beta) for i, beta in enumerate(betas))
    return first, second


def check_adam_family(lr: object, betas: object, eps: object, weight_decay: object) -> dict[str, Any]:
    """The checks of the Adam family's shared hyperparameters; their values as the optimizer keeps them."""
    return {
        "lr": check_non_negative("learning rate", lr, tensor=True),
        "betas": check_betas(betas),
        "eps": check_non_negative("epsilon value", eps),
        "weight_decay": check_non_negative("weight_decay value", weight_decay),
    }


def check_schedule_clip(
    warmup_steps: object, max_grad_norm: object, use_cyclical_lr: object, cycle_length: object
) -> dict[str, Any]:
    """The schedule and clipping hyperparameters checked and converted; the error names the bad one."""
    if max_grad_norm is not None:
        allowed = "must be None or a finite number > 0"
        if isinstance(max_grad_norm, bool) or not isinstance(max_grad_norm, numbers.Real):
            raise _type_error("max_grad_norm", max_grad_norm, allowed)
        check_int64("max_grad_norm", max_grad_norm)
        if not (math.isfinite(float(max_grad_norm)) and float(max_grad_norm) > 0):
            raise ValueError(f"Invalid max_grad_norm: {max_grad_norm!r} ({allowed})")
        max_grad_norm = float(max_grad_norm)
    check_flags(use_cyclical_lr=use_cyclical_lr)
    return {
        "warmup_steps": integer("warmup_steps", warmup_steps, 0),
        "max_grad_norm": max_grad_norm,
        "use_cyclical_lr": use_cyclical_lr,
        "cycle_length": integer("cycle_length", cycle_length, 1),
    }


def check_flags(**flags: object) -> None:
    """Each flag is ``True`` or ``False``; ``foreach`` and ``fused`` may also be ``None`` (the default kernel).

    A truthy non-bool (``differentiable=1``, ``amsgrad="no"``) would silently pick a code path.
    """
    for name, value in flags.items():
        nullable = name in ("foreach", "fused")
        if isinstance(value, bool) or (nullable and value is None):
            continue
        allowed = "True, False or None" if nullable else "True or False"
        raise ArgumentTypeError(f"Invalid {name}: {value!r} (must be {allowed})")


ADJUST_LR_FNS = (None, "original", "match_rms_adamw")
NS_DTYPES = (torch.bfloat16, torch.float16, torch.float32, torch.float64)


def check_muon_arguments(coefficients: object, steps: object, adjust_lr_fn: object, ns_dtype: object) -> dict[str, Any]:
    """Muon's ``ns_coefficients`` (three finite numbers), ``ns_steps`` (an integer in [1, 99], torch's limit),
    ``adjust_lr_fn`` and ``ns_dtype``; their values as the optimizer keeps them."""
    allowed = "must be three finite numbers (a, b, c)"
    if not isinstance(coefficients, (tuple, list)) or len(coefficients) != 3:
        raise ValueError(f"Invalid ns_coefficients: {coefficients!r} ({allowed})")
    values = tuple(real(f"ns_coefficients[{i}]", c) for i, c in enumerate(coefficients))
    if not all(math.isfinite(c) for c in values):
        raise ValueError(f"Invalid ns_coefficients: {coefficients!r} ({allowed})")
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral):
        raise _type_error("ns_steps", steps, "must be an integer in [1, 99]")
    if not 1 <= int(steps) < 100:
        raise ValueError(f"Invalid ns_steps: {steps!r} (must be an integer in [1, 99])")
    if adjust_lr_fn not in ADJUST_LR_FNS or isinstance(adjust_lr_fn, bool):
        raise ValueError(f"Invalid adjust_lr_fn: {adjust_lr_fn!r} (must be None, 'original' or 'match_rms_adamw')")
    if ns_dtype is not None and ns_dtype not in NS_DTYPES:
        names = ", ".join(str(d) for d in NS_DTYPES)
        raise ValueError(f"Invalid ns_dtype: {ns_dtype!r} (must be None, the parameter's dtype, or one of {names})")
    return {"ns_coefficients": values, "ns_steps": int(steps)}


def refuse_in_muon_group(param: torch.Tensor, index: int, group: int) -> None:
    """A Muon group's parameter is a real tensor of at least 2 dims (``ValueError`` naming it and the fix)."""
    where = f"Invalid parameter {index} of param group {group} (a Muon group)"
    fix = "put it in a group with use_muon=False (AdamW's step), e.g. with lossopt.optim.muon.muon_groups(params)"
    if param.ndim < 2:
        raise ValueError(
            f"{where}: shape {tuple(param.shape)} has {param.ndim} dim{'' if param.ndim == 1 else 's'} (must have at "
            f"least 2: Muon orthogonalises matrices, a tensor as its (shape[0], -1) view); {fix}"
        )
    if param.is_complex():
        raise ValueError(
            f"{where}: a complex tensor ({param.dtype}) (must be real: Muon orthogonalises real matrices, as "
            f"torch.optim.Muon, which refuses complex parameters); train its torch.view_as_real view, or {fix}"
        )
