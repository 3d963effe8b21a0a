"""Checks the classification losses share: class-index targets and the focusing exponent.

Mirrors ``lossopt_spec.losses.classification.checks``. Value checks (class indices in range) follow
:mod:`lossopt.functional._checks`: on CPU tensors by default, on every device with
``set_value_checks("always")``.
"""

from __future__ import annotations

import torch

from lossopt.functional._checks import value_checks_apply
from lossopt.functional.arguments import check_real, finite_number


def check_gamma(gamma: float) -> None:
    """``gamma`` is the focusing exponent: a finite number >= 0."""
    if not (isinstance(gamma, (int, float)) and finite_number(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be a finite number >= 0; got {gamma!r}")
    check_real("gamma", gamma)


def is_index(targets: torch.Tensor) -> bool:
    """Whether ``targets`` are class indices (an integer tensor), not probabilities."""
    return not targets.is_floating_point() and not targets.is_complex() and targets.dtype != torch.bool


def check_targets_tensor(targets: torch.Tensor) -> None:
    """``TypeError`` unless ``targets`` is a tensor."""
    if not isinstance(targets, torch.Tensor):
        raise TypeError(f"targets must be a torch.Tensor; got {type(targets).__name__}")


def index_targets(predictions: torch.Tensor, targets: torch.Tensor, ignore_index: int | None) -> torch.Tensor:
    """Check class-index targets: shape (N, d1, ...) for logits (N, C, d1, ...), values in [0, C) or ignore_index."""
    shape = tuple(predictions.shape)
    expected = shape[:1] + shape[2:] if predictions.ndim > 1 else ()
    if tuple(targets.shape) != expected:
        raise ValueError(
            f"class-index targets must have shape (N, d1, ...) = {expected} for predictions {shape}; "
            f"got targets {tuple(targets.shape)}"
        )
    check_class_indices(targets, shape[1] if predictions.ndim > 1 else shape[0], ignore_index)
    return targets.long()


def check_class_indices(targets: torch.Tensor, classes: int, ignore_index: int | None) -> None:
    """``ValueError`` naming the first target outside [0, C) (other than ``ignore_index``), when value checks apply."""
    if not value_checks_apply(targets):
        return
    bad = (targets < 0) | (targets >= classes)
    if ignore_index is not None:
        bad &= targets != ignore_index
    if bool(bad.any()):
        index = tuple(int(i) for i in torch.nonzero(bad)[0].tolist())
        allowed = f"[0, {classes})" + (f" or ignore_index={ignore_index}" if ignore_index is not None else "")
        raise ValueError(f"targets must be class indices in {allowed}; got {int(targets[index])} at index {index}")
