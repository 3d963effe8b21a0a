"""The overlap sums every segmentation loss is computed from, and the loss built on them.

Mirrors ``lossopt_spec.losses.segmentation.overlap``; equation tags match. The overlap sums (1) and
their backward are one ``autograd.Function`` (:class:`_Overlaps`) that keeps only the probabilities
and the targets as given (integer class indices in ``"multiclass"``: no one-hot tensor is built or
kept; the class sums use ``scatter_add``). The scores (2)-(5) are computed by autograd on the small
``(N, C)`` sums. Sums are taken in float32 for float16/bfloat16 inputs. Class indices, float and integer
targets (probabilities in [0, 1]; bool masks need no check) and class weights are value-checked under
``lossopt.functional.set_value_checks`` (CPU tensors by default).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from lossopt.functional._autocast import autocast_off
from lossopt.functional._checks import check_unit_interval, value_checks_apply
from lossopt.functional.arguments import as_tensor_argument
from lossopt.functional.classification import sigmoid_focal_loss
from lossopt.functional.reduction import check_tensor, compute_dtype, output_dtype, reduce, shape_of
from lossopt.functional.segmentation.options import SegmentationOptions, check_shared_options

# A score S(I, P, T) of the overlap sums; autograd gives its derivatives.
Score = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


@dataclass(frozen=True)
class OverlapTerms:
    """What a loss adds up per sample and class: ``overlap_weight * (1 - score)^gamma`` plus
    ``pixel_weight`` times the mean per-pixel loss, BCE or, with ``focal=(alpha, gamma)``, the sigmoid
    focal loss (no pixel term when ``pixel_weight`` is 0)."""

    score: Score
    gamma: float = 1.0
    overlap_weight: float = 1.0
    pixel_weight: float = 0.0
    focal: tuple[float | None, float] | None = None


def _flatten(
    predictions: torch.Tensor, targets: torch.Tensor, mode: str, ignore_index: int | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Logits ``(N, C, M)`` in the compute dtype; targets ``(N, C, M)`` float, or ``(N, M)`` int64
    class indices in multiclass (ignored pixels set to 0); the multiclass mask ``(N, M)`` or None."""
    if not isinstance(predictions, torch.Tensor) or not predictions.is_floating_point():
        raise TypeError(
            f"predictions must be a floating-point tensor; got {getattr(predictions, 'dtype', predictions)}"
        )
    check_tensor("targets", targets)
    dtype = compute_dtype(predictions.dtype)
    if mode == "multiclass":
        if predictions.dim() < 2:
            raise ValueError(
                f"predictions must have shape (N, C, *spatial) in mode 'multiclass'; got {shape_of(predictions)}"
            )
        expected = (predictions.shape[0], *predictions.shape[2:])
        if shape_of(targets) != expected:
            raise ValueError(
                f"targets must have shape (N, *spatial) = {expected} for predictions {shape_of(predictions)} in mode "
                f"'multiclass'; got targets {shape_of(targets)}"
            )
        if targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool:
            raise ValueError(f"targets must hold integer class indices in mode 'multiclass'; got dtype {targets.dtype}")
        n, c = predictions.shape[:2]
        m = math.prod(predictions.shape[2:])  # explicit, so that an empty batch reshapes too
        labels = targets.reshape(n, m).long()
        ignored = labels == ignore_index if ignore_index is not None else None
        if value_checks_apply(labels):  # reads the labels on the host: CPU tensors only by default
            bad = (labels < 0) | (labels >= c)
            if ignored is not None:
                bad &= ~ignored
            if bool(bad.any()):
                raise ValueError(
                    f"targets must hold class indices in [0, {c}) or ignore_index={ignore_index!r}; "
                    f"got {int(labels[bad][0])}"
                )
        mask = None
        if ignored is not None:
            mask = (~ignored).to(dtype)
            labels = labels.masked_fill(ignored, 0)
        return predictions.reshape(n, c, m).to(dtype), labels, mask
    if predictions.dim() < (1 if mode == "binary" else 2):
        raise ValueError(f"predictions must have shape (N, C, *spatial) in mode {mode!r}; got {shape_of(predictions)}")
    if targets.shape != predictions.shape:
        raise ValueError(
            f"targets must have the shape of predictions in mode {mode!r}; got predictions {shape_of(predictions)} "
            f"and targets {shape_of(targets)}"
        )
    if targets.dtype != torch.bool:  # soft or hard labels, float or integer: probabilities (a 0/255 mask fails)
        check_unit_interval("targets", targets)  # reads them on the host: CPU tensors only by default
    n = predictions.shape[0]
    c = 1 if mode == "binary" else predictions.shape[1]
    m = math.prod(predictions.shape[1:]) // c if c else 0
    return predictions.reshape(n, c, m).to(dtype), targets.reshape(n, c, m).to(dtype), None


LOG_BLOCK = 64  # sigma(|x|) >= 1/2, so a product of 64 of them stays >= 2^-64, far from float32's underflow


def _bce_sums(x: torch.Tensor, t: torch.Tensor, buffer: torch.Tensor) -> torch.Tensor:
    """(6) sum_i BCE(x_i, t_i) per sample and class.

    :math:`\\mathrm{BCE}(x, t) = \\mathrm{softplus}(x) - x t` and
    :math:`\\mathrm{softplus}(x) = \\max(x, 0) - \\log \\sigma(|x|)` with
    :math:`\\sigma(|x|) \\in [1/2, 1]`. The sum of the logarithms is the
    logarithm of products of ``LOG_BLOCK`` factors: one logarithm per block instead of a softplus
    (an exponential and a logarithm) per pixel, half the time on CPU. :math:`\\max(x, 0) - x t` is
    formed per pixel (0 exactly for a confident correct logit) and the logarithm term keeps the
    absolute error of a rounding of :math:`\\sigma(|x|)` (~eps), as softplus' own. The passes write
    into ``buffer`` (x's shape): a fresh tensor of that size costs page faults on CPU.
    """
    n, c, m = x.shape
    linear = torch.clamp(x, min=0.0, out=buffer).addcmul_(x, t, value=-1.0).sum(dim=2)  # sum max(x, 0) - x t
    confidence = torch.abs(x, out=buffer).sigmoid_()  # sigma(|x|)
    block = 1 if torch.compiler.is_compiling() else math.gcd(m, LOG_BLOCK)  # compiled: fused, no product needed
    log_confidence = confidence.reshape(n, c, m // block, block).prod(dim=3).log_().sum(dim=2)
    return linear - log_confidence


class _Overlaps(torch.autograd.Function):
    """(1) I, P, T per sample and class, and the BCE sum when asked; backward (1') and (6')."""

    @staticmethod
    @autocast_off  # vecdot / bmm in float32 under autocast: the BCE sum cancels terms of size |x|
    def forward(  # type: ignore[override]
        ctx: Any, x: torch.Tensor, t: torch.Tensor, mask: torch.Tensor | None, multiclass: bool, with_bce: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        n, c, _ = x.shape
        if multiclass:
            p = torch.softmax(x, dim=1)
            picked = p.gather(1, t[:, None, :])[:, 0, :]  # p of the target class, (N, M)
            ones = torch.ones_like(picked) if mask is None else mask
            if mask is not None:
                picked = picked * mask
            # out of place (scatter_add): torch 2.11's Dynamo gives zero gradients to a Function output mutated in place
            intersection = x.new_zeros(n, c).scatter_add(1, t, picked)  # (1) I = sum m p t
            if mask is None:
                predicted = p.sum(dim=2)  # (1) P = sum m p
            else:
                predicted = torch.bmm(p, mask[:, :, None])[:, :, 0]  # (1) P = sum m p
            target = x.new_zeros(n, c).scatter_add_(1, t, ones)  # (1) T = sum m t
            bce = x.new_zeros(n, c)
        else:
            p = torch.sigmoid(x)
            # one product buffer for the dot products: a multiply and a cascade sum, twice as fast as
            # linalg.vecdot on CPU and as precise (a BLAS dot would change the summation order)
            product = torch.mul(p, t)
            intersection = product.sum(dim=2)  # (1) I = sum p t
            predicted = p.sum(dim=2)  # (1) P = sum p
            target = t.sum(dim=2)  # (1) T = sum t
            if with_bce:
                bce = _bce_sums(x, t, product)  # (6)
            else:
                bce = x.new_zeros(n, c)
        ctx.save_for_backward(p, t, mask)
        ctx.multiclass = multiclass
        ctx.with_bce = with_bce
        ctx.mark_non_differentiable(target)
        return intersection, predicted, target, bce

    @staticmethod
    @autocast_off
    def backward(  # type: ignore[override]
        ctx: Any, g_i: torch.Tensor, g_p: torch.Tensor, _g_t: torch.Tensor, g_b: torch.Tensor
    ) -> tuple[torch.Tensor, None, None, None, None]:
        p, t, mask = ctx.saved_tensors
        if ctx.multiclass:
            # (1') dl/dp = m (dl/dI [t == c] + dl/dP): dl/dP broadcast, dl/dI added at the target class
            grad_p = g_p[:, :, None].expand_as(p) if mask is None else g_p[:, :, None] * mask[:, None, :]
            at_target = g_i.gather(1, t)
            if mask is not None:
                at_target = at_target * mask
            grad_p = grad_p.contiguous().scatter_add_(1, t[:, None, :], at_target[:, None, :])
            grad_x = torch.ops.aten._softmax_backward_data(grad_p, p, 1, p.dtype)
            return grad_x, None, None, None, None
        # (1') dl/dp = dl/dI t + dl/dP: a multiplication and an addition, each with one per-row (stride 0) operand,
        # run vectorized on CPU where addcmul with two such operands does not
        grad_p = torch.mul(t, g_i[:, :, None]).add_(g_p[:, :, None])
        grad_x = torch.ops.aten.sigmoid_backward.grad_input(
            grad_p, p, grad_input=grad_p
        )  # sigma' = p (1 - p), in place
        if ctx.with_bce:
            g_b = g_b[:, :, None]
            grad_x = grad_x.addcmul_(g_b, p).addcmul_(g_b, t, value=-1.0)  # (6') dBCE/dx = p - t, in place
        return grad_x, None, None, None, None


def _class_weights(
    weight: torch.Tensor | None, c: int, include_background: bool, like: torch.Tensor
) -> torch.Tensor | None:
    """Weights of the kept classes normalised to mean 1, shape ``(C',)``; None for no weights."""
    if weight is None:
        return None
    weight = as_tensor_argument("weight", weight).to(device=like.device, dtype=like.dtype)
    if shape_of(weight) != (c,):
        raise ValueError(f"weight must have shape (C,) = ({c},); got {shape_of(weight)}")
    kept = weight if include_background else weight[1:]
    if value_checks_apply(kept) and (bool((kept < 0).any()) or not bool(kept.sum() > 0)):
        raise ValueError(
            f"weight must be non-negative with a positive sum over the classes kept; got {weight.tolist()}"
        )
    return kept * (kept.numel() / kept.sum())


def overlap_loss(
    predictions: torch.Tensor, targets: torch.Tensor, terms: OverlapTerms, options: SegmentationOptions
) -> torch.Tensor:
    """``pixel_weight * pixel + overlap_weight * (1 - S)^gamma`` per sample and class, weighted and reduced.

    The pixel term is BCE (folded into :class:`_Overlaps`) or, with ``focal=(alpha, gamma)``, the
    sigmoid focal loss (:func:`lossopt.functional.sigmoid_focal_loss`, its own autograd).
    """
    mode, batch, include_background = options.mode, options.batch, options.include_background
    check_shared_options(options)
    out_dtype = output_dtype("predictions", predictions)
    x, t, mask = _flatten(predictions, targets, mode, options.ignore_index)
    c = x.shape[1]
    if not include_background and c < 2:
        raise ValueError(f"include_background=False needs at least 2 classes; predictions have C={c}")
    w = _class_weights(options.weight, c, include_background, x)
    pixel_weight, focal = terms.pixel_weight, terms.focal
    with_bce = pixel_weight != 0.0 and focal is None
    intersection, predicted, target, bce = _Overlaps.apply(x, t, mask, mode == "multiclass", with_bce)  # type: ignore[no-untyped-call]
    if pixel_weight != 0.0 and focal is not None:
        bce = sigmoid_focal_loss(x, t, focal[0], focal[1], reduction="none").sum(dim=2)  # (8) focal per pixel
    if batch:
        intersection, predicted, target, bce = (v.sum(dim=0) for v in (intersection, predicted, target, bce))
    s = terms.score(intersection, predicted, target)  # (2), (3) or (4)
    base = (1.0 - s).clamp_min(0.0)
    if terms.gamma == 1.0:
        overlap = base  # (5) l = (1 - S)^gamma
    else:
        positive = base > 0  # (5) with the gradient 0 at S = 1 (finite for gamma < 1)
        overlap = torch.where(positive, torch.where(positive, base, 1.0) ** terms.gamma, 0.0)
    per_class = terms.overlap_weight * overlap
    if pixel_weight != 0.0:
        count = x.shape[2] * (x.shape[0] if batch else 1)
        scale = pixel_weight / max(count, 1)  # no pixels: the pixel term is 0 (an empty sum), the loss its overlap term
        per_class = per_class + bce * scale  # (7) l = w_p pixel + w_d l_overlap
    if not include_background:
        per_class = per_class[..., 1:]
    elementwise = per_class if w is None else per_class * w
    return reduce(elementwise, options.reduction).to(out_dtype)
