"""The sigmoid focal loss (binary and multi-label classification) and its gradient.

Mirrored statement for statement by ``lossopt.functional.classification.sigmoid``; equation tags match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from lossopt_spec.losses.classification.checks import check_gamma, check_unit_interval
from lossopt_spec.losses.reduction import Reduction, check_reduction, float_pair, is_number, reduce, reduce_grad
from lossopt_spec.losses.signature import Upstream, gradient_of, with_options


def check_sigmoid_alpha(alpha: float | None) -> None:
    """The torchvision alpha: a number in [0, 1], or ``None`` for no class weighting."""
    if alpha is None:
        return
    if not (is_number(alpha) and 0 <= alpha <= 1):
        raise ValueError(
            f"alpha must be a number in [0, 1] or None (no weighting; torchvision's alpha=-1); got {alpha!r}"
        )


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) without overflow."""
    result: np.ndarray = np.logaddexp(0.0, x)
    return result


@dataclass(frozen=True)
class SigmoidFocalOptions(Reduction):
    """The options of :func:`sigmoid_focal_loss`: torchvision's ``alpha`` and ``gamma``, then the reduction."""

    alpha: float | None = 0.25
    gamma: float = 2.0


def _check(options: SigmoidFocalOptions) -> None:
    check_reduction(options.reduction)
    check_sigmoid_alpha(options.alpha)
    check_gamma(options.gamma)


@with_options(SigmoidFocalOptions)
def sigmoid_focal_loss(predictions: np.ndarray, targets: np.ndarray, options: SigmoidFocalOptions) -> np.ndarray:
    """Sigmoid focal loss for binary and multi-label classification (Lin et al. 2017).

    Lin, Goyal, Girshick, He, Dollár, *Focal Loss for Dense Object Detection*, ICCV 2017,
    https://arxiv.org/abs/1708.02002 (eq. 5 with the alpha of section 3.1), as
    ``torchvision.ops.sigmoid_focal_loss`` implements it.

    With logits :math:`x`, targets :math:`t \\in [0, 1]` (hard 0/1 labels or soft labels),
    :math:`p = \\sigma(x)`:

    .. math::

        ce &= t\\,\\mathrm{softplus}(-x) + (1 - t)\\,\\mathrm{softplus}(x)     \\tag{1} \\\\
        q &= 1 - p_t = t\\,\\sigma(-x) + (1 - t)\\,\\sigma(x)     \\tag{2} \\\\
        \\alpha_t &= \\alpha t + (1 - \\alpha)(1 - t) \\quad (1 \\text{ if } \\alpha \\text{ is None})  \\tag{3} \\\\
        \\ell &= \\alpha_t\\, q^{\\gamma}\\, ce     \\tag{4}

    then reduced by ``reduction`` (``"mean"`` is the plain mean over all elements).

    Alpha conventions: here (torchvision's) ``alpha`` weights the *positive* label and
    ``1 - alpha`` the negative one (default 0.25, the paper's value for gamma = 2). The softmax
    :func:`focal_loss` instead takes ``alpha`` as a per-class weight (a scalar multiplies every
    class, default 1.0), so ``alpha=0.25`` there scales the whole loss, not the positives.

    Args:
        predictions: logits, any shape.
        targets: same shape, values in [0, 1].
        alpha: weight of the positive label in [0, 1], or ``None`` for no weighting.
        gamma: focusing exponent, >= 0; ``gamma = 0`` gives (alpha-weighted) binary cross-entropy.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Differs from torchvision: ``reduction`` defaults to ``"mean"`` (torchvision: ``"none"``);
    no weighting is ``alpha=None`` (torchvision: any ``alpha < 0``, refused here as a likely
    mistake); targets outside [0, 1] are refused; :math:`1 - p_t` is computed as (2), accurate
    where :math:`p_t` rounds to 1, instead of ``1 - p_t``; and the gradient is finite for every
    gamma >= 0 (torchvision's autograd gives NaN for gamma < 1 where :math:`p_t` = 1).
    """
    _check(options)
    alpha, gamma = options.alpha, options.gamma
    predictions, targets = float_pair(predictions, targets)
    check_unit_interval("targets", targets)
    x, t = predictions, targets
    ce = t * _softplus(-x) + (1.0 - t) * _softplus(x)  # (1) ce = t softplus(-x) + (1 - t) softplus(x)
    q = t * expit(-x) + (1.0 - t) * expit(x)  # (2) q = 1 - p_t
    alpha_t = 1.0 if alpha is None else alpha * t + (1.0 - alpha) * (1.0 - t)  # (3) alpha_t
    elementwise = alpha_t * q**gamma * ce  # (4) l = alpha_t q^gamma ce
    return reduce(elementwise, options.reduction)


@gradient_of(sigmoid_focal_loss)
def sigmoid_focal_loss_grad(
    predictions: np.ndarray, targets: np.ndarray, options: SigmoidFocalOptions, grad_output: Upstream
) -> np.ndarray:
    """Vector-Jacobian product of :func:`sigmoid_focal_loss` with respect to the logits.

    With :math:`dce/dx = p - t` and :math:`dq/dx = p (1 - p)(1 - 2t) = \\rho\\, q`:

    .. math::

        \\frac{\\partial \\ell}{\\partial x} = \\alpha_t\\, q^{\\gamma}
            \\left(\\gamma\\, \\rho\\, ce + p - t\\right),
        \\qquad \\rho = \\frac{p (1 - p)(1 - 2t)}{q}     \\tag{4'}

    :math:`|\\rho| \\le 1` everywhere, and where :math:`q = 0` (hard target, saturated logit)
    its limit is :math:`1 - 2t`; so the gradient is finite for every gamma >= 0, unlike the
    chain rule through :math:`q^{\\gamma}` whose :math:`\\gamma q^{\\gamma - 1}` is infinite there.
    """
    _check(options)
    alpha, gamma = options.alpha, options.gamma
    predictions, targets = float_pair(predictions, targets)
    check_unit_interval("targets", targets)
    upstream = reduce_grad(predictions.shape, options.reduction, grad_output)
    x, t = predictions, targets
    p, one_minus_p = expit(x), expit(-x)
    ce = t * _softplus(-x) + (1.0 - t) * _softplus(x)  # (1)
    q = t * one_minus_p + (1.0 - t) * p  # (2)
    alpha_t = 1.0 if alpha is None else alpha * t + (1.0 - alpha) * (1.0 - t)  # (3)
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.where(q > 0, p * one_minus_p * (1.0 - 2.0 * t) / q, 1.0 - 2.0 * t)  # (4') rho = q'/q
    grad: np.ndarray = upstream * alpha_t * q**gamma * (gamma * rho * ce + (p - t))  # (4') dl/dx
    return grad
