"""Classification losses: sigmoid focal (binary / multi-label), cross-entropy, softmax focal, hinge.

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

from lossopt.functional._checks import check_unit_interval, value_checks_apply
from lossopt.functional.arguments import check_index, check_real, finite_number
from lossopt.functional.reduction import check_floating, check_reduction, check_same_shape, compute_dtype, reduce


def _float_pair(predictions: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    check_floating("predictions", predictions)
    if not isinstance(targets, torch.Tensor):
        raise TypeError(f"targets must be a torch.Tensor; got {type(targets).__name__}")
    check_same_shape(predictions, targets)
    dtype = compute_dtype(predictions.dtype)
    return predictions.to(dtype), targets.to(dtype)


def check_gamma(gamma: float) -> None:
    """``gamma`` is the focusing exponent: a finite number >= 0."""
    if not (isinstance(gamma, int | float) and finite_number(gamma) and gamma >= 0):
        raise ValueError(f"gamma must be a finite number >= 0; got {gamma!r}")
    check_real("gamma", gamma)


def check_sigmoid_alpha(alpha: float | None) -> None:
    """The torchvision alpha: a number in [0, 1], or ``None`` for no class weighting."""
    if alpha is None:
        return
    if not (isinstance(alpha, int | float) and 0 <= alpha <= 1):
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
    x, t = _float_pair(predictions, targets)
    check_unit_interval("targets", t)
    value: torch.Tensor = _SigmoidFocal.apply(x, t, alpha, float(gamma), reduction)  # type: ignore[no-untyped-call]  # (1)-(4)
    return value.to(out_dtype)


# --- class-index targets ------------------------------------------------------------------------


def check_label_smoothing(label_smoothing: float) -> None:
    if not (isinstance(label_smoothing, int | float) and 0 <= label_smoothing <= 1):
        raise ValueError(f"label_smoothing must be a number in [0, 1]; got {label_smoothing!r}")
    check_real("label_smoothing", label_smoothing)


def _is_index(targets: torch.Tensor) -> bool:
    return not targets.is_floating_point() and not targets.is_complex() and targets.dtype != torch.bool


def _logits(predictions: torch.Tensor) -> torch.Tensor:
    check_floating("predictions", predictions)
    if predictions.ndim < 1:
        raise ValueError(
            f"predictions must be logits of shape (N, C, d1, ...) or (C,); got shape {tuple(predictions.shape)}"
        )
    return predictions.to(compute_dtype(predictions.dtype))


def _check_targets_tensor(targets: torch.Tensor) -> None:
    if not isinstance(targets, torch.Tensor):
        raise TypeError(f"targets must be a torch.Tensor; got {type(targets).__name__}")


def _index_targets(predictions: torch.Tensor, targets: torch.Tensor, ignore_index: int | None) -> torch.Tensor:
    """Check class-index targets: shape (N, d1, ...) for logits (N, C, d1, ...), values in [0, C) or ignore_index."""
    shape = tuple(predictions.shape)
    expected = shape[:1] + shape[2:] if predictions.ndim > 1 else ()
    if tuple(targets.shape) != expected:
        raise ValueError(
            f"class-index targets must have shape (N, d1, ...) = {expected} for predictions {shape}; "
            f"got targets {tuple(targets.shape)}"
        )
    check_class_indices(targets, shape[1] if predictions.ndim > 1 else shape[0], ignore_index)
    return targets.long()


def check_class_indices(targets: torch.Tensor, classes: int, ignore_index: int | None) -> None:
    """``ValueError`` naming the first target outside [0, C) (other than ``ignore_index``), when value checks apply."""
    if not value_checks_apply(targets):
        return
    bad = (targets < 0) | (targets >= classes)
    if ignore_index is not None:
        bad &= targets != ignore_index
    if bool(bad.any()):
        index = tuple(int(i) for i in torch.nonzero(bad)[0].tolist())
        allowed = f"[0, {classes})" + (f" or ignore_index={ignore_index}" if ignore_index is not None else "")
        raise ValueError(f"targets must be class indices in {allowed}; got {int(targets[index])} at index {index}")


def _class_weight(weight: torch.Tensor | None, classes: int, like: torch.Tensor) -> torch.Tensor | None:
    if weight is None:
        return None
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
    check_index("ignore_index", ignore_index)
    out_dtype = predictions.dtype
    x = _logits(predictions)
    _check_targets_tensor(targets)
    classes = x.shape[1] if x.ndim > 1 else x.shape[0]
    w = _class_weight(weight, classes, x)
    if _is_index(targets):
        t = _index_targets(x, targets, ignore_index)
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
        check_real("alpha", alpha)
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
        return elementwise.masked_fill_(~valid, 0.0), logp

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
    for gamma < 1 where :math:`p_t = 1` (KNOWN_DEFECTS #10); ``ignore_index`` and per-class
    ``alpha`` added.

    Example:
        >>> import torch
        >>> from lossopt.functional import focal_loss
        >>> # equal logits over 4 classes: p_t = 1/4, (3/4)^2 * log 4 = 0.7798
        >>> focal_loss(torch.zeros(2, 4), torch.tensor([0, 3]))
        tensor(0.7798)
    """
    check_reduction(reduction)
    check_gamma(gamma)
    check_index("ignore_index", ignore_index)
    out_dtype = predictions.dtype
    x = _logits(predictions)
    _check_targets_tensor(targets)
    if not _is_index(targets):
        dtype = str(targets.dtype).removeprefix("torch.")
        raise ValueError(f"focal_loss takes class-index targets (an integer array); got dtype {dtype}")
    classes = x.shape[1] if x.ndim > 1 else x.shape[0]
    alphas = check_focal_alpha(alpha, classes, x)
    t = _index_targets(x, targets, ignore_index)
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


# --- hinge --------------------------------------------------------------------------------------


def check_margin(margin: float) -> None:
    if not (isinstance(margin, int | float) and finite_number(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0; got {margin!r}")
    check_real("margin", margin)


def _hinge_case(predictions: torch.Tensor, targets: torch.Tensor) -> str:
    """``"binary"`` for targets of the logits' shape, ``"multiclass"`` for integer targets one axis shorter."""
    shape, target_shape = tuple(predictions.shape), tuple(targets.shape)
    if shape == target_shape:
        return "binary"
    if _is_index(targets) and predictions.ndim >= 2 and target_shape == shape[:1] + shape[2:]:
        return "multiclass"
    raise ValueError(
        f"hinge_loss takes binary targets of the predictions' shape, or class indices of shape (N, d1, ...) for "
        f"scores (N, C, d1, ...); got predictions {shape} and targets {target_shape}"
    )


def check_binary_labels(targets: torch.Tensor) -> None:
    if not value_checks_apply(targets):
        return
    bad = ~((targets == -1) | (targets == 0) | (targets == 1))
    if bool(bad.any()):
        index = tuple(int(i) for i in torch.nonzero(bad)[0].tolist())
        raise ValueError(
            f"binary targets must be labels in {{-1, 1}} or {{0, 1}}; got {float(targets[index])!r} at index {index}"
        )


def hinge_loss(
    predictions: torch.Tensor, targets: torch.Tensor, margin: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    """Hinge loss: binary (7), or multi-class in the Crammer–Singer form (8).

    .. math::

        \\ell = \\max(0, m - y x) \\quad (7), \\qquad
        \\ell = \\max\\big(0, m + \\max_{j \\ne t} x_j - x_t\\big) \\quad (8)

    Binary when ``targets`` has the predictions' shape: labels in {-1, 1} or {0, 1} (a label > 0
    is the positive class; 0 and -1 the negative one). Multi-class when ``targets`` is an integer
    tensor of class indices ``(N, d1, ...)`` for scores ``(N, C, d1, ...)``: only the strongest
    rival class is penalised (Crammer & Singer 2001; scikit-learn's multi-class ``hinge_loss``),
    its gradient shared equally among tied rivals.

    Differs from torch: ``torch.nn.functional.multi_margin_loss`` is the Weston–Watkins form (every
    violating class, divided by C). The design document's binary hinge takes {-1, 1} only.

    Example:
        >>> import torch
        >>> from lossopt.functional import hinge_loss
        >>> # y x = 0.5 -> 0.5; y x = -2 (label 0 read as -1, x = 2) -> 3
        >>> hinge_loss(torch.tensor([0.5, 2.0]), torch.tensor([1.0, 0.0]), reduction="none")
        tensor([0.5000, 3.0000])
    """
    check_reduction(reduction)
    check_margin(margin)
    check_floating("predictions", predictions)
    _check_targets_tensor(targets)
    out_dtype = predictions.dtype
    case = _hinge_case(predictions, targets)
    x = predictions.to(compute_dtype(predictions.dtype))
    if case == "binary":
        t = targets.to(x.dtype)
        check_binary_labels(t)
        y = torch.where(t > 0, 1.0, -1.0).to(x.dtype)  # (7) y = +1 for label 1, -1 for labels 0 and -1
        z = margin - y * x  # (7) z = margin - y x
    else:
        t = _index_targets(x, targets, None).unsqueeze(1)
        x_t = x.gather(1, t).squeeze(1)
        rival = x.scatter(1, t, -math.inf).amax(dim=1)  # (8) max_{j != t} x_j (amax shares ties)
        z = margin + rival - x_t  # (8) z
    return reduce(torch.relu(z), reduction).to(out_dtype)
