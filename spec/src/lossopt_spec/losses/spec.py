"""The registry record of a loss: its name, value function and gradient function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LossValue = Callable[..., np.ndarray]
LossGrad = Callable[..., np.ndarray]


@dataclass(frozen=True)
class LossSpec:
    """A loss of the spec.

    Attributes:
        name: the project-wide name (``"mse"``).
        value: ``value(predictions, targets, **kwargs) -> ndarray`` in float64.
        grad: ``grad(predictions, targets, **kwargs, grad_output=None) -> ndarray``, the
            vector-Jacobian product ``grad_output . d value / d predictions`` (shape of
            ``predictions``); ``grad_output=None`` means ones of the value's shape.
    """

    name: str
    value: LossValue
    grad: LossGrad
