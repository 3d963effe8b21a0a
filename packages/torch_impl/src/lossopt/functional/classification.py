"""Classification losses: sigmoid focal (binary / multi-label).

Mirrors ``lossopt_spec.losses.classification`` statement for statement; equation tags match.
Value checks (targets in [0, 1], class indices in range) follow :mod:`lossopt.functional._checks`:
on CPU tensors by default, on every device with ``set_value_checks("always")``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch.autograd.function import once_differentiable
from torch.nn import functional

from lossopt.functional._checks import check_unit_interval
from lossopt.functional._reduction import check_floating, check_reduction, check_same_shape, compute_dtype, reduce


def _float_pair(predictions: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    check_floating("predictions", predictions)
    if not isinstance(targets, torch.Tensor):
        raise TypeError(f"targets must be a torch.Tensor; got {type(targets).__name__}")
    check_same_shape(predictions, targets)
    dtype = compute_dtype(predictions.dtype)
    return predictions.to(dtype), targets.to(dtype)


def check_gamma(gamma: float) -> None:
    """``gamma`` is the focusing exponent: a finite number >= 0."""
    if not (isinstance(gamma, int | float) and math.isfinite(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be a finite number >= 0; got {gamma!r}")


def check_sigmoid_alpha(alpha: float | None) -> None:
    """The torchvision alpha: a number in [0, 1], or ``None`` for no class weighting."""
    if alpha is None:
        return
    if not (isinstance(alpha, int | float) and 0 <= alpha <= 1):
        raise ValueError(
            f"alpha must be a number in [0, 1] or None (no weighting; torchvision's alpha=-1); got {alpha!r}"
        )


class _SigmoidFocal(torch.autograd.Function):
    """Elementwise sigmoid focal loss with the finite gradient (4') of the spec."""

    @staticmethod
    def forward(x: torch.Tensor, t: torch.Tensor, alpha: float | None, gamma: float) -> torch.Tensor:
        ce = t * functional.softplus(-x) + (1.0 - t) * functional.softplus(x)  # (1) ce
        q = t * torch.sigmoid(-x) + (1.0 - t) * torch.sigmoid(x)  # (2) q = 1 - p_t
        elementwise = q.pow(gamma) * ce
        if alpha is not None:
            elementwise = elementwise * (alpha * t + (1.0 - alpha) * (1.0 - t))  # (3) alpha_t
        return elementwise  # (4) l = alpha_t q^gamma ce

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        x, t, alpha, gamma = inputs
        ctx.save_for_backward(x, t)
        ctx.alpha, ctx.gamma = alpha, gamma

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, None, None, None]:
        x, t = ctx.saved_tensors
        alpha, gamma = ctx.alpha, ctx.gamma
        p, one_minus_p = torch.sigmoid(x), torch.sigmoid(-x)
        ce = t * functional.softplus(-x) + (1.0 - t) * functional.softplus(x)  # (1)
        q = t * one_minus_p + (1.0 - t) * p  # (2)
        sign = 1.0 - 2.0 * t
        rho = torch.where(q > 0, p * one_minus_p * sign / q, sign)  # (4') rho = q'/q
        grad = grad_output * q.pow(gamma) * (gamma * rho * ce + (p - t))  # (4') dl/dx
        if alpha is not None:
            grad = grad * (alpha * t + (1.0 - alpha) * (1.0 - t))  # (3)
        return grad, None, None, None


def sigmoid_focal_loss(
    predictions: torch.Tensor,
    targets: torch.Tensor,
    alpha: float | None = 0.25,
    gamma: float = 2.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Sigmoid focal loss for binary and multi-label classification (Lin et al. 2017, arXiv:1708.02002).

    .. math::

        \\ell = \\alpha_t\\, (1 - p_t)^{\\gamma}\\, \\mathrm{BCE}(x, t), \\qquad
        \\alpha_t = \\alpha t + (1 - \\alpha)(1 - t), \\quad p_t = p t + (1 - p)(1 - t)

    as ``torchvision.ops.sigmoid_focal_loss``; equations (1)-(4) in ``lossopt_spec``.

    Alpha conventions: ``alpha`` (torchvision's) weights the *positive* label and ``1 - alpha``
    the negative one; :func:`focal_loss` (softmax) takes ``alpha`` as a per-class weight instead.

    Args:
        predictions: logits, any shape; float16/bfloat16 computed in float32.
        targets: same shape, probabilities in [0, 1] (hard 0/1 or soft labels).
        alpha: weight of the positive label in [0, 1], or ``None`` for no weighting.
        gamma: focusing exponent, >= 0.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``predictions.shape`` for ``"none"``, else 0-d, in ``predictions.dtype``.

    Differs from torchvision: ``reduction`` defaults to ``"mean"``; ``alpha=None`` (not
    ``alpha < 0``) disables weighting; targets outside [0, 1] are refused (checked on CPU tensors
    by default, see :func:`lossopt.functional.set_value_checks`); the gradient is finite for every
    gamma >= 0 (a custom backward, not autograd through ``(1 - p_t) ** gamma``); no gradient flows
    to ``targets``.

    Example:
        >>> import torch
        >>> from lossopt.functional import sigmoid_focal_loss
        >>> # x = 0: p = 0.5, ce = log 2, q = 0.5; alpha_t = 0.25 -> 0.25 * 0.25 * 0.6931 = 0.0433
        >>> sigmoid_focal_loss(torch.tensor([0.0]), torch.tensor([1.0]))
        tensor(0.0433)
    """
    check_reduction(reduction)
    check_sigmoid_alpha(alpha)
    check_gamma(gamma)
    out_dtype = predictions.dtype
    x, t = _float_pair(predictions, targets)
    check_unit_interval("targets", t)
    elementwise: torch.Tensor = _SigmoidFocal.apply(x, t, alpha, float(gamma))  # type: ignore[no-untyped-call]  # (1)-(4)
    return reduce(elementwise, reduction).to(out_dtype)
