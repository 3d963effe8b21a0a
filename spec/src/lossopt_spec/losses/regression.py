"""Regression losses: mean squared error.

Later losses of this family (MAE, Huber, log-cosh, quantile) live here too, mirrored by
``lossopt.functional.regression``.
"""

from __future__ import annotations

import numpy as np

from lossopt_spec.losses._reduction import reduce, reduce_grad


def _as_pair(predictions: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    predictions = np.asarray(predictions, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    if predictions.shape != targets.shape:
        raise ValueError(
            f"predictions and targets must have the same shape; got predictions {predictions.shape} "
            f"and targets {targets.shape}"
        )
    return predictions, targets


def mse_loss(predictions: np.ndarray, targets: np.ndarray, reduction: str = "mean") -> np.ndarray:
    """Mean squared error.

    With prediction :math:`\\hat y` and target :math:`y` of the same shape, the elementwise loss is

    .. math::

        \\ell_i = (\\hat y_i - y_i)^2     \\tag{1}

    then reduced by ``reduction`` (``"none"``, ``"mean"``, ``"sum"``).

    Args:
        predictions: array of any shape.
        targets: array of the same shape (no broadcasting, unlike ``torch.nn.functional.mse_loss``,
            which only warns).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        float64 array: ``predictions.shape`` for ``"none"``, else 0-d.

    Differs from torch: shapes must match exactly; torch broadcasts with a ``UserWarning``.
    """
    predictions, targets = _as_pair(predictions, targets)
    residual = predictions - targets
    elementwise = residual * residual  # (1) l = (y_hat - y)^2
    return reduce(elementwise, reduction)


def mse_loss_grad(
    predictions: np.ndarray,
    targets: np.ndarray,
    reduction: str = "mean",
    *,
    grad_output: np.ndarray | None = None,
) -> np.ndarray:
    """Vector-Jacobian product of :func:`mse_loss` with respect to ``predictions``.

    .. math::

        \\frac{\\partial \\ell_i}{\\partial \\hat y_i} = 2 (\\hat y_i - y_i)     \\tag{1'}

    times the upstream gradient of each element (``grad_output``, divided by :math:`n` for ``"mean"``).
    """
    predictions, targets = _as_pair(predictions, targets)
    upstream = reduce_grad(predictions.shape, reduction, grad_output)
    grad: np.ndarray = upstream * 2.0 * (predictions - targets)  # (1') dl/dy_hat = 2 (y_hat - y)
    return grad
