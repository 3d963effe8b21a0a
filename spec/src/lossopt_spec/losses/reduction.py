"""Reductions shared by every loss: ``"none"``, ``"mean"`` and ``"sum"``.

For elementwise losses :math:`\\ell_i` over :math:`n` elements:

.. math::

    L_{none} = (\\ell_i)_i, \\qquad L_{sum} = \\sum_i \\ell_i, \\qquad L_{mean} = \\frac{1}{n} \\sum_i \\ell_i

and the vector-Jacobian product of the reduction with an upstream gradient :math:`\\bar g` is
:math:`\\bar g_i`, :math:`\\bar g` broadcast, and :math:`\\bar g / n` respectively. Also the
check of the elementwise losses' inputs (:func:`float_pair`).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

REDUCTIONS = ("none", "mean", "sum")


@dataclass(frozen=True)
class Reduction:
    """The option of every loss: how its elementwise values are reduced (``"none"`` | ``"mean"`` | ``"sum"``).

    The base of each loss's options (:mod:`lossopt_spec.losses.signature`), so ``reduction`` follows
    the options the loss declares itself.
    """

    reduction: str = "mean"


def is_number(value: object) -> bool:
    """Whether ``value`` is a real number a hyperparameter may be: a Python or NumPy int or float, not ``bool``.

    The spec refuses anything else with the range check's ``ValueError``; the package raises ``TypeError``
    naming the type first (``lossopt.functional.arguments.check_number``).
    """
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_reduction(reduction: str) -> None:
    """Raise ``ValueError`` naming the argument when ``reduction`` is not a known reduction."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}; got {reduction!r}")


def reduce(elementwise: np.ndarray, reduction: str) -> np.ndarray:
    """Reduce elementwise losses; returns a 0-d array for ``"mean"`` and ``"sum"``."""
    check_reduction(reduction)
    if reduction == "none":
        return elementwise
    total = np.sum(elementwise)
    if reduction == "sum":
        return np.asarray(total)
    if elementwise.size == 0:  # the mean of nothing: NaN, as torch
        return np.asarray(np.nan)
    return np.asarray(total / elementwise.size)


def reduce_grad(shape: tuple[int, ...], reduction: str, grad_output: np.ndarray | None) -> np.ndarray:
    """The upstream gradient of each element of the unreduced loss, of shape ``shape``."""
    check_reduction(reduction)
    if grad_output is None:
        grad_output = np.ones(shape if reduction == "none" else ())
    grad_output = np.asarray(grad_output, dtype=np.float64)
    if reduction == "none":
        return np.broadcast_to(grad_output, shape)
    count = float(np.prod(shape, dtype=np.int64))
    scale = 1.0 if reduction == "sum" else (1.0 / count if count else np.nan)  # no element: nothing to scale
    return np.broadcast_to(grad_output * scale, shape)


def float_pair(predictions: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both as float64 arrays; ``ValueError`` naming both shapes when they differ."""
    predictions = np.asarray(predictions, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    if predictions.shape != targets.shape:
        raise ValueError(
            f"predictions and targets must have the same shape; got predictions {predictions.shape} "
            f"and targets {targets.shape}"
        )
    return predictions, targets
