"""Regression losses: mean squared error, mean absolute error, Huber, log-cosh, quantile (pinball).

Mirrored by ``lossopt.functional.regression``; equation tags match.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lossopt_spec.losses.reduction import Reduction, check_reduction, float_pair, is_number, reduce, reduce_grad
from lossopt_spec.losses.signature import Upstream, gradient_of, with_options


@with_options(Reduction)
def mse_loss(predictions: np.ndarray, targets: np.ndarray, options: Reduction) -> np.ndarray:
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
    predictions, targets = float_pair(predictions, targets)
    residual = predictions - targets
    elementwise = residual * residual  # (1) l = (y_hat - y)^2
    return reduce(elementwise, options.reduction)


@gradient_of(mse_loss)
def mse_loss_grad(
    predictions: np.ndarray, targets: np.ndarray, options: Reduction, grad_output: Upstream
) -> np.ndarray:
    """Vector-Jacobian product of :func:`mse_loss` with respect to ``predictions``.

    .. math::

        \\frac{\\partial \\ell_i}{\\partial \\hat y_i} = 2 (\\hat y_i - y_i)     \\tag{1'}

    times the upstream gradient of each element (``grad_output``, divided by :math:`n` for ``"mean"``).
    """
    predictions, targets = float_pair(predictions, targets)
    upstream = reduce_grad(predictions.shape, options.reduction, grad_output)
    grad: np.ndarray = upstream * 2.0 * (predictions - targets)  # (1') dl/dy_hat = 2 (y_hat - y)
    return grad


@with_options(Reduction)
def mae_loss(predictions: np.ndarray, targets: np.ndarray, options: Reduction) -> np.ndarray:
    """Mean absolute error (L1).

    .. math::

        \\ell_i = |\\hat y_i - y_i|     \\tag{2}

    Same arguments, shapes and differences from torch as :func:`mse_loss`
    (``torch.nn.functional.l1_loss`` broadcasts with a warning).
    """
    predictions, targets = float_pair(predictions, targets)
    elementwise = np.abs(predictions - targets)  # (2) l = |y_hat - y|
    return reduce(elementwise, options.reduction)


@gradient_of(mae_loss)
def mae_loss_grad(
    predictions: np.ndarray, targets: np.ndarray, options: Reduction, grad_output: Upstream
) -> np.ndarray:
    """VJP of :func:`mae_loss`: :math:`\\mathrm{sign}(\\hat y_i - y_i)`, 0 where the residual is 0 (as torch). (2')"""
    predictions, targets = float_pair(predictions, targets)
    upstream = reduce_grad(predictions.shape, options.reduction, grad_output)
    grad: np.ndarray = upstream * np.sign(predictions - targets)  # (2') dl/dy_hat = sign(y_hat - y)
    return grad


def check_delta(delta: float) -> None:
    """Huber's ``delta`` is a finite number > 0."""
    if not (is_number(delta) and math.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be a finite number > 0; got {delta!r}")


@dataclass(frozen=True)
class HuberOptions(Reduction):
    """The options of :func:`huber_loss`: the threshold ``delta``, then the reduction."""

    delta: float = 1.0


@with_options(HuberOptions)
def huber_loss(predictions: np.ndarray, targets: np.ndarray, options: HuberOptions) -> np.ndarray:
    """Huber loss (Huber 1964, *Robust Estimation of a Location Parameter*, Ann. Math. Statist. 35(1)).

    With residual :math:`r = \\hat y - y`:

    .. math::

        \\ell = \\begin{cases} \\tfrac12 r^2 & |r| \\le \\delta \\\\
                               \\delta (|r| - \\tfrac12 \\delta) & |r| > \\delta \\end{cases}     \\tag{3}

    equal to ``torch.nn.functional.huber_loss(..., delta=delta)``.

    Differs from the original design: its ``F.smooth_l1_loss(beta=delta)`` is Huber / delta,
    which equals Huber only at delta = 1; this is the true Huber loss.
    """
    delta = options.delta
    check_delta(delta)
    predictions, targets = float_pair(predictions, targets)
    residual = predictions - targets
    magnitude = np.abs(residual)
    elementwise = np.where(
        magnitude <= delta, 0.5 * residual * residual, delta * (magnitude - 0.5 * delta)
    )  # (3) l = r^2 / 2 or delta (|r| - delta / 2)
    return reduce(elementwise, options.reduction)


@gradient_of(huber_loss)
def huber_loss_grad(
    predictions: np.ndarray, targets: np.ndarray, options: HuberOptions, grad_output: Upstream
) -> np.ndarray:
    """VJP of :func:`huber_loss`: :math:`\\mathrm{clip}(r, -\\delta, \\delta)`. (3')"""
    check_delta(options.delta)
    predictions, targets = float_pair(predictions, targets)
    upstream = reduce_grad(predictions.shape, options.reduction, grad_output)
    grad: np.ndarray = upstream * np.clip(
        predictions - targets, -options.delta, options.delta
    )  # (3') dl/dy_hat = clip(r)
    return grad


LOG_COSH_SWITCH = 20.0  # beyond it log cosh(a) = a - log 2 to within e^-40 (relative 1e-18)


@with_options(Reduction)
def log_cosh_loss(predictions: np.ndarray, targets: np.ndarray, options: Reduction) -> np.ndarray:
    """Log-cosh loss, a smooth approximation of the absolute error.

    With :math:`a = |\\hat y - y|` and :math:`m = \\min(a, 20)`:

    .. math::

        \\ell = \\log\\cosh a = \\log\\left(1 + 2 \\sinh^2 \\tfrac{m}{2}\\right) + (a - m)     \\tag{4}

    since :math:`\\cosh m = 1 + 2\\sinh^2(m/2)` and, for :math:`a \\ge 20`,
    :math:`\\log\\cosh a - \\log\\cosh 20 = a - 20` up to :math:`e^{-40}`. The form never
    overflows (the original :math:`\\log\\cosh` is ``inf`` from :math:`a \\approx 89.5` in float32)
    and keeps full relative precision for small residuals, where :math:`\\ell \\approx a^2/2`
    (the alternative :math:`a + \\log(1 + e^{-2a}) - \\log 2` loses it to cancellation).

    Differs from the original design: ``log(cosh(x))`` overflows to ``inf`` for
    :math:`|x| \\gtrsim 89.5` in float32; this form is finite for every finite input.
    """
    predictions, targets = float_pair(predictions, targets)
    magnitude = np.abs(predictions - targets)
    clipped = np.minimum(magnitude, LOG_COSH_SWITCH)
    half_sinh = np.sinh(0.5 * clipped)
    elementwise = np.log1p(2.0 * half_sinh * half_sinh) + (magnitude - clipped)  # (4) l = log cosh |r|
    return reduce(elementwise, options.reduction)


@gradient_of(log_cosh_loss)
def log_cosh_loss_grad(
    predictions: np.ndarray, targets: np.ndarray, options: Reduction, grad_output: Upstream
) -> np.ndarray:
    """VJP of :func:`log_cosh_loss`: :math:`\\tanh(\\hat y - y)`. (4')"""
    predictions, targets = float_pair(predictions, targets)
    upstream = reduce_grad(predictions.shape, options.reduction, grad_output)
    grad: np.ndarray = upstream * np.tanh(predictions - targets)  # (4') dl/dy_hat = tanh(r)
    return grad


def quantile_levels(quantile: float | Sequence[float] | np.ndarray) -> np.ndarray:
    """The quantile levels as a float64 array (0-d or 1-d), each in the open interval (0, 1)."""
    levels = np.asarray(quantile, dtype=np.float64)
    if levels.ndim > 1:
        raise ValueError(f"quantile must be a number or a 1-D sequence of numbers; got shape {levels.shape}")
    bad = ~((levels > 0) & (levels < 1))
    if bad.any():
        if levels.ndim == 0:
            raise ValueError(f"quantile must be in the open interval (0, 1); got {float(levels)!r}")
        index = int(np.argwhere(bad)[0][0])
        raise ValueError(f"quantile must be in the open interval (0, 1); got {float(levels[index])!r} at index {index}")
    return levels


def _quantile_pair(predictions: np.ndarray, targets: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For several levels, ``predictions`` is ``(*, Q)`` and ``targets`` ``(*)``: targets gain a last axis."""
    if levels.ndim == 0:
        return float_pair(predictions, targets)
    predictions = np.asarray(predictions, dtype=np.float64)
    targets = np.asarray(targets, dtype=np.float64)
    expected = (*targets.shape, levels.size)
    if predictions.shape != expected:
        raise ValueError(
            f"with {levels.size} quantiles, predictions must have shape targets.shape + ({levels.size},); got "
            f"predictions {predictions.shape} and targets {targets.shape}"
        )
    return predictions, targets[..., None]


@dataclass(frozen=True)
class QuantileOptions(Reduction):
    """The options of :func:`quantile_loss`: the level(s), then the reduction."""

    quantile: float | Sequence[float] | np.ndarray = 0.5


@with_options(QuantileOptions)
def quantile_loss(predictions: np.ndarray, targets: np.ndarray, options: QuantileOptions) -> np.ndarray:
    """Quantile (pinball) loss (Koenker & Bassett 1978, *Regression Quantiles*, Econometrica 46(1)).

    With :math:`u = y - \\hat y` and level :math:`q \\in (0, 1)`:

    .. math::

        \\ell = \\max(q u, (q - 1) u) = \\tfrac12 |u| + (q - \\tfrac12) u     \\tag{5}

    minimised in expectation by the :math:`q`-quantile of :math:`y`: ``quantile=0.9`` fits the
    90th percentile. ``quantile=0.5`` is half the absolute error. Same as scikit-learn's
    ``mean_pinball_loss(y, y_hat, alpha=q)`` for ``"mean"``.

    Several quantiles: ``quantile`` a sequence of Q levels, ``predictions`` of shape ``(*, Q)``
    (one prediction per level, the last axis) and ``targets`` of shape ``(*)``; ``"none"``
    returns ``(*, Q)``, one loss per quantile, and ``"mean"`` / ``"sum"`` reduce over all of it
    (``loss(..., reduction="none").mean(axis=tuple(range(ndim - 1)))`` gives each level's mean).

    Differs from the original design: its ``diff = predictions - targets`` inverts the residual,
    so its ``quantile=0.9`` fits the 10th percentile; the two agree at 0.5.
    """
    levels = quantile_levels(options.quantile)
    predictions, targets = _quantile_pair(predictions, targets, levels)
    check_reduction(options.reduction)
    residual = targets - predictions  # (5) u = y - y_hat
    elementwise = np.maximum(levels * residual, (levels - 1.0) * residual)  # (5) l = max(q u, (q - 1) u)
    return reduce(elementwise, options.reduction)


@gradient_of(quantile_loss)
def quantile_loss_grad(
    predictions: np.ndarray, targets: np.ndarray, options: QuantileOptions, grad_output: Upstream
) -> np.ndarray:
    """VJP of :func:`quantile_loss` w.r.t. the predictions.

    .. math::

        \\frac{\\partial \\ell}{\\partial \\hat y} =
            \\begin{cases} 1 - q & \\hat y > y \\\\ -q & \\hat y \\le y \\end{cases}     \\tag{5'}

    taking, at a tie, the derivative from below (:math:`-q`), as torch's
    ``where(y_hat > y, 1 - q, -q)`` does; both are in the subdifferential :math:`[-q, 1 - q]`.
    """
    levels = quantile_levels(options.quantile)
    predictions, targets = _quantile_pair(predictions, targets, levels)
    check_reduction(options.reduction)
    upstream = reduce_grad(predictions.shape, options.reduction, grad_output)
    grad: np.ndarray = upstream * np.where(predictions > targets, 1.0 - levels, -levels)  # (5') dl/dy_hat
    return grad
