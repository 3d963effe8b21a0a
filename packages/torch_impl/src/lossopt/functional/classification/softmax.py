"""Losses of logits against class indices (or class probabilities): cross-entropy and the softmax focal loss.

Mirrors ``lossopt_spec.losses.classification.softmax`` statement for statement; equation tags match.
Value checks (targets in [0, 1], class indices in range) follow :mod:`lossopt.functional._checks`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.autograd.function import once_differentiable
from torch.nn import functional

from lossopt.functional._checks import check_unit_interval, value_checks_apply
from lossopt.functional.arguments import check_index, check_number, finite_number
from lossopt.functional.classification.checks import check_gamma, check_targets_tensor, index_targets, is_index
from lossopt.functional.reduction import check_floating, check_reduction, check_tensor, compute_dtype, output_dtype


def check_label_smoothing(label_smoothing: float) -> None:
    check_number("label_smoothing", label_smoothing)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"label_smoothing must be a number in [0, 1]; got {label_smoothing!r}")


def _logits(predictions: torch.Tensor, targets: torch.Tensor, ignore_index: int) -> tuple[torch.Tensor, int]:
    """The logits in the compute dtype and their number of classes, once ``ignore_index`` is an integer
    (``targets`` must be a tensor)."""
    check_index("ignore_index", ignore_index)
    check_floating("predictions", predictions)
    if predictions.ndim < 1:
        raise ValueError(
            f"predictions must be logits of shape (N, C, d1, ...) or (C,); got shape {tuple(predictions.shape)}"
        )
    x = predictions.to(compute_dtype(predictions.dtype))
    check_targets_tensor(targets)
    return x, x.shape[1] if x.ndim > 1 else x.shape[0]


def _class_weight(weight: torch.Tensor | None, classes: int, like: torch.Tensor) -> torch.Tensor | None:
    if weight is None:
        return None
    check_tensor("weight", weight)
    if tuple(weight.shape) != (classes,):
        raise ValueError(f"weight must have shape (C,) = ({classes},); got {tuple(weight.shape)}")
    return weight.to(like.dtype)


def cross_entropy_loss(
    predictions: torch.Tensor,
    targets: torch.Tensor,
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> torch.Tensor:
    """Cross-entropy of logits against class indices or class probabilities: ``torch.nn.functional.cross_entropy``.

    .. math::

        \\ell = -\\sum_c a_c \\log\\mathrm{softmax}(x)_c     \\tag{2}

    with :math:`a = (1 - \\varepsilon) w_t e_t + \\tfrac{\\varepsilon}{C} w` for a class index
    :math:`t` (0 where :math:`t` is ``ignore_index``) and :math:`a = w \\odot ((1 - \\varepsilon) t +
    \\tfrac{\\varepsilon}{C})` for probabilities; ``"mean"`` divides by the weight of the targets
    not ignored (class indices) or by :math:`N d_1 \\cdots` (probabilities). Every target ignored
    gives NaN for ``"mean"`` with a zero gradient, as torch.

    Args:
        predictions: logits ``(N, C, d1, ...)`` or ``(C,)``; float16/bfloat16 computed in float32.
        targets: class indices (an integer tensor of shape ``(N, d1, ...)``) or probabilities
            (a float tensor of the logits' shape, values in [0, 1]).
        weight: per-class weights ``(C,)`` or ``None``.
        ignore_index: the class index that contributes nothing (class-index targets only).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        label_smoothing: :math:`\\varepsilon \\in [0, 1]`.

    Returns:
        ``(N, d1, ...)`` for ``"none"``, else 0-d, in ``predictions.dtype``.

    Differs from torch: class indices out of range raise ``ValueError`` naming the first one
    (torch: ``IndexError`` on CPU, a device-side assert on CUDA) and probability targets outside
    [0, 1] are refused; both checks run on CPU tensors by default, everywhere with
    ``lossopt.functional.set_value_checks("always")``.

    Example:
        >>> import torch
        >>> from lossopt.functional import cross_entropy_loss
        >>> # equal logits over 4 classes: -log(1/4) = log 4 = 1.3863
        >>> cross_entropy_loss(torch.zeros(2, 4), torch.tensor([0, 3]))
        tensor(1.3863)
    """
    check_reduction(reduction)
    check_label_smoothing(label_smoothing)
    out_dtype = output_dtype("predictions", predictions)
    x, classes = _logits(predictions, targets, ignore_index)
    w = _class_weight(weight, classes, x)
    if is_index(targets):
        t = index_targets(x, targets, ignore_index)
    else:
        if targets.shape != x.shape:
            raise ValueError(
                "probability targets must have the shape of predictions; got predictions "
                f"{tuple(x.shape)} and targets {tuple(targets.shape)}"
            )
        t = targets.to(x.dtype)
        check_unit_interval("targets", t)
    # (1), (2): torch's kernels, whose semantics the spec derives independently
    value = functional.cross_entropy(
        x, t, w, ignore_index=ignore_index, reduction=reduction, label_smoothing=float(label_smoothing)
    )
    return value.to(out_dtype)


def check_focal_alpha(alpha: float | torch.Tensor, classes: int, like: torch.Tensor) -> float | torch.Tensor:
    """The softmax focal ``alpha``: a number >= 0 (every class) as a float, or a ``(C,)`` tensor of per-class
    weights >= 0 moved to ``like``'s device and dtype (its values checked under the value-check policy)."""
    if isinstance(alpha, torch.Tensor) and alpha.ndim > 0:
        if tuple(alpha.shape) != (classes,):
            raise ValueError(
                f"alpha must be a number or have shape (C,) = ({classes},); got shape {tuple(alpha.shape)}"
            )
        if value_checks_apply(alpha):
            bad = ~(torch.isfinite(alpha) & (alpha >= 0))
            if bool(bad.any()):
                index = (int(torch.nonzero(bad)[0][0]),)
                raise ValueError(f"alpha must be finite and >= 0; got {float(alpha[index])!r} at index {index}")
        return alpha.to(like.device, like.dtype)
    if not isinstance(alpha, torch.Tensor):
        check_number("alpha", alpha)  # a list of per-class weights: TypeError (pass a (C,) tensor)
    value = float(alpha)
    if not (finite_number(value) and value >= 0):
        raise ValueError(f"alpha must be a finite number >= 0 or a (C,) array of them; got {alpha!r}")
    return value


class _SoftmaxFocal(torch.autograd.Function):
    r"""Elementwise softmax focal loss (5)-(6) with the finite gradient (6') of the spec.

    Saves only :math:`\log p` (as ``log_softmax`` does for cross-entropy); the backward writes
    :math:`\partial\ell/\partial l\, (e_t - \mathrm{softmax}(x))` into one logits-sized buffer.
    """

    @staticmethod
    def forward(
        x: torch.Tensor, safe: torch.Tensor, valid: torch.Tensor, alpha_t: float | torch.Tensor, gamma: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        logp = torch.log_softmax(x, dim=1)  # (1) log p = log_softmax(x)
        logp_t = logp.gather(1, safe.unsqueeze(1)).squeeze(1)  # (5) l = log p_t
        q = torch.expm1(logp_t).neg_()  # (5) q = 1 - p_t
        elementwise = q.pow_(gamma).mul_(logp_t).mul_(-alpha_t)  # (6) l = -alpha_t q^gamma log p_t
        # out of place: torch 2.11's Dynamo gives zero gradients to a Function output mutated in place
        return elementwise.masked_fill(~valid, 0.0), logp

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: tuple[torch.Tensor, torch.Tensor]) -> None:
        _, safe, valid, alpha_t, gamma = inputs
        ctx.save_for_backward(output[1], safe, valid, *([alpha_t] if isinstance(alpha_t, torch.Tensor) else []))
        ctx.alpha = alpha_t if not isinstance(alpha_t, torch.Tensor) else None
        ctx.gamma = gamma
        ctx.mark_non_differentiable(output[1])

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_output: torch.Tensor, _: torch.Tensor) -> tuple[torch.Tensor, None, None, None, None]:
        logp, safe, valid, *rest = ctx.saved_tensors
        alpha_t = ctx.alpha if ctx.alpha is not None else rest[0]
        gamma = ctx.gamma
        logp_t = logp.gather(1, safe.unsqueeze(1)).squeeze(1)
        q = torch.expm1(logp_t).neg_()  # (5)
        p = torch.exp(logp_t)
        rho = torch.where(q > 0, logp_t / q, -1.0)  # (6') rho = l / q
        dl = q.pow(gamma).mul_(gamma * p * rho - 1.0).mul_(alpha_t)  # (6') dloss/dl
        dl = dl.mul_(grad_output).masked_fill_(~valid, 0.0).unsqueeze(1)  # ignored elements: exactly 0
        grad = torch.exp(logp).mul_(dl.neg())  # (6') -dl softmax(x), the one logits-sized buffer
        return grad.scatter_add_(1, safe.unsqueeze(1), dl), None, None, None, None  # (6') + dl e_t


def focal_loss(
    predictions: torch.Tensor,
    targets: torch.Tensor,
    alpha: float | torch.Tensor = 1.0,
    gamma: float = 2.0,
    reduction: str = "mean",
    *,
    ignore_index: int = -100,
) -> torch.Tensor:
    """Softmax (multi-class) focal loss (Lin et al. 2017, arXiv:1708.02002).

    .. math::

        \\ell = -\\alpha_t (1 - p_t)^{\\gamma} \\log p_t     \\tag{6}

    per element (0 where the target is ``ignore_index``); ``"mean"`` divides by the number of
    targets not ignored (NaN when none is, with a zero gradient, as cross-entropy). With
    ``gamma=0`` and ``alpha=1`` it equals :func:`cross_entropy_loss`. The gradient is finite for
    every gamma >= 0 (a custom backward, equation (6'), which also needs one logits-sized buffer
    where ``log_softmax`` + ``nll_loss`` need two).

    Alpha conventions: ``alpha`` is a per-class weight (a number applies to every class, a
    ``(C,)`` tensor one per class); :func:`sigmoid_focal_loss` takes torchvision's alpha, the
    weight of the positive label.

    Args:
        predictions: logits ``(N, C, d1, ...)`` or ``(C,)``; float16/bfloat16 computed in float32.
        targets: class indices, an integer tensor ``(N, d1, ...)``.
        alpha: a number >= 0 or a ``(C,)`` tensor of per-class weights.
        gamma: focusing exponent >= 0.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.
        ignore_index: the class index that contributes nothing.

    Differs from the original design: ``(1 - pt) ** gamma`` through autograd gives NaN gradients
    for gamma < 1 where :math:`p_t = 1` (here the gradient is finite for every gamma >= 0);
    ``ignore_index`` and per-class ``alpha`` added.

    Example:
        >>> import torch
        >>> from lossopt.functional import focal_loss
        >>> # equal logits over 4 classes: p_t = 1/4, (3/4)^2 * log 4 = 0.7798
        >>> focal_loss(torch.zeros(2, 4), torch.tensor([0, 3]))
        tensor(0.7798)
    """
    check_reduction(reduction)
    check_gamma(gamma)
    out_dtype = output_dtype("predictions", predictions)
    x, classes = _logits(predictions, targets, ignore_index)
    if not is_index(targets):
        dtype = str(targets.dtype).removeprefix("torch.")
        raise ValueError(f"focal_loss takes class-index targets (an integer array); got dtype {dtype}")
    alphas = check_focal_alpha(alpha, classes, x)
    t = index_targets(x, targets, ignore_index)
    if x.ndim == 1:
        x, t = x.unsqueeze(0), t.unsqueeze(0)
    valid = t != ignore_index
    safe = t.masked_fill(~valid, 0)
    alpha_t = alphas[safe] if isinstance(alphas, torch.Tensor) else alphas  # (6) alpha_t
    elementwise: torch.Tensor
    elementwise, _ = _SoftmaxFocal.apply(x, safe, valid, alpha_t, float(gamma))  # type: ignore[no-untyped-call]
    if reduction == "none":
        value = elementwise.squeeze(0) if predictions.ndim == 1 else elementwise
    elif reduction == "sum":
        value = elementwise.sum()
    else:
        value = elementwise.sum() / valid.sum()  # 0 / 0 = NaN when every target is ignored
    return value.to(out_dtype)
