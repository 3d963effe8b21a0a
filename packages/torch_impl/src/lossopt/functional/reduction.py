"""Reductions shared by every loss: ``"none"``, ``"mean"`` and ``"sum"``; and input checks.

Mirrors ``lossopt_spec.losses.reduction``. Half-precision inputs are computed and reduced in
float32 (:func:`compute_dtype`) and the result is returned in the input's dtype, so a sum over a
512x512 float16 mask cannot overflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

REDUCTIONS = ("none", "mean", "sum")


@dataclass(frozen=True)
class Reduction:
    """The option of every loss: how its elementwise values are reduced (``"none"`` | ``"mean"`` | ``"sum"``);
    the base of a loss's options dataclass (:func:`lossopt._signatures.option_parameters`)."""

    reduction: str = "mean"


_UPCAST = {torch.float16: torch.float32, torch.bfloat16: torch.float32}


def check_reduction(reduction: str) -> None:
    """Raise ``ValueError`` naming the argument when ``reduction`` is not a known reduction."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}; got {reduction!r}")


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype a loss computes in: float32 for float16/bfloat16, else ``dtype``."""
    return _UPCAST.get(dtype, dtype)


def reduce(elementwise: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce elementwise losses; a 0-d tensor for ``"mean"`` and ``"sum"``."""
    check_reduction(reduction)
    if reduction == "none":
        # compiled, a new tensor (inductor fuses the copy into its producer): torch 2.11's Dynamo gives zero
        # gradients to an autograd.Function whose output is an intermediate it mutated in place
        return elementwise.clone() if torch.compiler.is_compiling() else elementwise
    if reduction == "sum":
        return elementwise.sum()
    return elementwise.mean()


def shape_of(tensor: torch.Tensor) -> tuple[int, ...]:
    """``tensor.shape`` as a plain tuple, for messages (``(2, 3)``, not ``torch.Size([2, 3])``)."""
    return tuple(tensor.shape)


def check_same_shape(predictions: torch.Tensor, targets: torch.Tensor) -> None:
    """Raise ``ValueError`` naming both shapes when they differ."""
    if predictions.shape != targets.shape:
        raise ValueError(
            f"predictions and targets must have the same shape; got predictions {tuple(predictions.shape)} "
            f"and targets {tuple(targets.shape)}"
        )


def check_tensor(name: str, value: object) -> None:
    """Raise ``TypeError`` naming the argument when it is not a tensor (a list of numbers included: convert it)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(value).__name__}")


def check_floating(name: str, tensor: torch.Tensor) -> None:
    """Raise ``TypeError`` naming the argument when it is not a floating-point tensor."""
    check_tensor(name, tensor)
    if not tensor.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor; got dtype {tensor.dtype}")


def output_dtype(name: str, tensor: torch.Tensor) -> torch.dtype:
    """The dtype a loss returns, ``tensor``'s, once :func:`check_floating` accepts it."""
    check_floating(name, tensor)
    return tensor.dtype


def float_pair(predictions: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both in the compute dtype of ``predictions`` (a floating-point tensor of the targets' shape)."""
    check_floating("predictions", predictions)
    check_tensor("targets", targets)
    check_same_shape(predictions, targets)
    dtype = compute_dtype(predictions.dtype)
    return predictions.to(dtype), targets.to(dtype)
