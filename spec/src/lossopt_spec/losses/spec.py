"""The registry record of a loss: its name, value function and gradient function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

LossValue = Callable[..., np.ndarray]
# one VJP; a tuple in argument order for several differentiable inputs; a dict by task for multi_task
LossGrad = Callable[..., np.ndarray | tuple[np.ndarray, ...] | dict[str, np.ndarray]]


@dataclass(frozen=True)
class LossSpec:
    """A loss of the spec.

    Attributes:
        name: the project-wide name (``"mse"``).
        value: ``value(predictions, targets, **kwargs) -> ndarray`` in float64.
        grad: ``grad(predictions, targets, **kwargs, grad_output=None) -> ndarray``, the
            vector-Jacobian product ``grad_output . d value / d predictions`` (shape of
            ``predictions``); ``grad_output=None`` means ones of the value's shape. A loss with several
            differentiable inputs (triplet, cosine embedding) returns a tuple of VJPs in argument
            order; ``multi_task`` returns a dict keyed by task.
    """

    name: str
    value: LossValue
    grad: LossGrad
