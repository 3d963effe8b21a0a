"""The sigmoid focal loss (binary and multi-label classification), with its gradient in one ``autograd.Function``.

Mirrors ``lossopt_spec.losses.classification.sigmoid`` statement for statement; equation tags match.
Targets are checked to lie in [0, 1] under :func:`lossopt.functional.set_value_checks` (CPU tensors
by default).
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import once_differentiable
from torch.nn import functional

from lossopt.functional._checks import check_unit_interval
from lossopt.functional.arguments import check_real
from lossopt.functional.classification.checks import check_gamma
from lossopt.functional.reduction import check_reduction, float_pair, reduce


def check_sigmoid_alpha(alpha: float | None) -> None:
    """The torchvision alpha: a number in [0, 1], or ``None`` for no class weighting."""
    if alpha is None:
        return
    if not (isinstance(alpha, (int, float)) and 0 <= alpha <= 1):
        raise ValueError(
            f"alpha must be a number in [0, 1] or None (no weighting; torchvision's alpha=-1); got {alpha!r}"
        )
    check_real("alpha", alpha)


class _SigmoidFocal(torch.autograd.Function):
    """Elementwise sigmoid focal loss (1)-(4) and its gradient (4'), computed together in the forward.

    The forward shares ``p``, ``1 - p``, ``q`` and ``ce`` between the value and the gradient factor
    :math:`\\alpha_t q^{\\gamma - 1} (\\gamma q' \\mathrm{ce} + q (p - t))` (with :math:`q' = (1 - 2t) p (1 - p)`,
    the spec's (4') multiplied out) and keeps only that factor: the backward is one multiplication.
    About 15 elementwise passes in all instead of ~45 (value and backward recomputed through autograd).
    For ``gamma < 1``, :math:`q^{\\gamma - 1}` is taken at ``max(q, tiny)``: finite, and multiplied by
    :math:`q' = 0` where ``q`` is 0, as the spec's ``rho`` (4').
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, x: torch.Tensor, t: torch.Tensor, alpha: float | None, gamma: float, reduction: str
    ) -> torch.Tensor:
        want_grad = ctx.needs_input_grad[0]
        ce = functional.softplus(x).addcmul_(x, t, value=-1.0)  # (1) ce = softplus(x) - x t
        p = torch.sigmoid(x)
        one_minus_p = torch.neg(x).sigmoid_()  # 1 - p without cancellation
        q = torch.lerp(p, one_minus_p, t)  # (2) q = t (1 - p) + (1 - t) p, exact at t = 0 and 1
        factor = None
        if want_grad:
            slope = one_minus_p.mul_(p)  # p (1 - p)
            slope = slope.addcmul_(slope, t, value=-2.0).mul_(ce)  # q' ce = (1 - 2t) p (1 - p) ce
            factor = p.sub_(t)  # p - t, the gradient of ce
        if gamma == 0.0:
            elementwise = ce  # (4) q^0 = 1
        elif gamma == 1.0:
            if factor is not None:
                factor = factor.mul_(q).add_(slope)  # (4') q' ce + q (p - t)
            elementwise = ce.mul_(q)  # (4)
        elif gamma == 2.0:
            if factor is not None:
                factor = factor.mul_(q).add_(slope, alpha=2.0).mul_(q)  # (4') q (2 q' ce + q (p - t))
            elementwise = ce.mul_(q).mul_(q)  # (4)
        else:
            power = torch.clamp(q, min=torch.finfo(q.dtype).tiny).pow_(gamma - 1.0)  # q^(gamma - 1), finite
            if factor is not None:
                factor = factor.mul_(q).add_(slope, alpha=gamma).mul_(power)  # (4') q^(gamma-1) (gamma q' ce + ...)
            elementwise = ce.mul_(q).mul_(power)  # (4) q^gamma ce
        if alpha is not None:
            alpha_t = torch.mul(t, 2.0 * alpha - 1.0, out=q).add_(1.0 - alpha)  # (3) alpha_t, into q's buffer
            elementwise = elementwise.mul_(alpha_t)  # (4) l = alpha_t q^gamma ce
            if factor is not None:
                factor = factor.mul_(alpha_t)
        ctx.save_for_backward(factor)
        ctx.reduction = reduction
        return reduce(elementwise, reduction)  # reduced here: the backward scales by a number, no expanded tensor

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor | None, None, None, None, None]:  # type: ignore[override]
        (factor,) = ctx.saved_tensors
        upstream = grad_output / factor.numel() if ctx.reduction == "mean" else grad_output
        return factor * upstream, None, None, None, None  # (4') dl/dx


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
    x, t = float_pair(predictions, targets)
    check_unit_interval("targets", t)
    value: torch.Tensor = _SigmoidFocal.apply(x, t, alpha, float(gamma), reduction)  # type: ignore[no-untyped-call]  # (1)-(4)
    return value.to(out_dtype)
