"""Checks the classification losses share: probability and class-index targets, the focusing exponent.

Mirrored by ``lossopt.functional.classification.checks``. Error messages are part of the contract:
the torch side raises the same ``ValueError`` text for the same input
(``conformance/test_loss_errors.py``).
"""

from __future__ import annotations

import math

import numpy as np

from lossopt_spec.losses.reduction import is_number


def first_index(mask: np.ndarray) -> tuple[int, ...]:
    """The index of the first true element of ``mask``."""
    return tuple(int(i) for i in np.argwhere(mask)[0])


def check_unit_interval(name: str, values: np.ndarray) -> None:
    """``ValueError`` naming the argument, the first value outside [0, 1] and its index."""
    bad = ~((values >= 0) & (values <= 1))
    if bad.any():
        index = first_index(bad)
        raise ValueError(f"{name} must be probabilities in [0, 1]; got {float(values[index])!r} at index {index}")


def check_gamma(gamma: float) -> None:
    """``gamma`` is the focusing exponent: a finite number >= 0."""
    if not (is_number(gamma) and math.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be a finite number >= 0; got {gamma!r}")


def is_index(targets: np.ndarray) -> bool:
    """Whether ``targets`` are class indices (an integer array), not probabilities."""
    return np.asarray(targets).dtype.kind in "iu"


def index_targets(predictions: np.ndarray, targets: np.ndarray, ignore_index: int | None) -> np.ndarray:
    """Check class-index targets: shape (N, d1, ...) for logits (N, C, d1, ...), values in [0, C) or ignore_index."""
    targets = np.asarray(targets)
    expected = predictions.shape[:1] + predictions.shape[2:] if predictions.ndim > 1 else ()
    if targets.shape != expected:
        raise ValueError(
            f"class-index targets must have shape (N, d1, ...) = {expected} for predictions {predictions.shape}; "
            f"got targets {targets.shape}"
        )
    check_class_indices(targets, predictions.shape[1] if predictions.ndim > 1 else predictions.shape[0], ignore_index)
    return targets.astype(np.int64)


def check_class_indices(targets: np.ndarray, classes: int, ignore_index: int | None, *, name: str = "targets") -> None:
    """``ValueError`` naming the argument (``name``), the first target outside [0, C) (other than
    ``ignore_index``) and its index."""
    bad = ((targets < 0) | (targets >= classes)) & (targets != ignore_index)
    if bad.any():
        index = first_index(bad)
        allowed = f"[0, {classes})" + (f" or ignore_index={ignore_index}" if ignore_index is not None else "")
        raise ValueError(f"{name} must be class indices in {allowed}; got {int(targets[index])} at index {index}")


def expand_class_axis(per_element: np.ndarray) -> np.ndarray:
    """(N, d1, ...) -> (N, 1, d1, ...), to broadcast along the class axis."""
    return np.expand_dims(per_element, 1)
