"""Regression losses: mean squared error, mean absolute error, Huber, log-cosh, quantile (pinball).

Log-cosh and quantile are ``torch.autograd.Function``s whose forward reduces without keeping the
elementwise loss and whose backward recomputes the residual from the saved inputs. Log-cosh runs
its passes block by block (:data:`CHUNK` elements, in cache): its reductions allocate nothing of
the input's size in the forward and only the gradient in the backward. Quantile keeps one
temporary in the forward and writes the gradient in place.

Mirrors ``lossopt_spec.losses.regression`` statement for statement; equation tags match.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.autograd.function import once_differentiable
from torch.nn import functional

from lossopt.functional._checks import value_checks_apply
from lossopt.functional.arguments import as_tensor_argument, finite_number
from lossopt.functional.reduction import check_floating, check_reduction, compute_dtype, float_pair


def mse_loss(predictions: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean squared error.

    .. math::

        \\ell_i = (\\hat y_i - y_i)^2     \\tag{1}

    reduced by ``reduction`` (``"none"``, ``"mean"``, ``"sum"``).

    Args:
        predictions: floating tensor of any shape; float16/bfloat16 are computed in float32.
        targets: tensor of the same shape (cast to the computation dtype).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Returns:
        ``predictions.shape`` for ``"none"``, else a 0-d tensor, in ``predictions.dtype``.

    Differs from ``torch.nn.functional.mse_loss``: shapes must match exactly (torch broadcasts
    with only a warning, a classic silent bug with ``(N, 1)`` against ``(N,)``); half-precision
    inputs are reduced in float32.

    Example:
        >>> import torch
        >>> from lossopt.functional import mse_loss
        >>> mse_loss(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 2.0]))
        tensor(2.5000)
    """
    check_reduction(reduction)
    out_dtype = predictions.dtype
    predictions, targets = float_pair(predictions, targets)
    # (1) l = (y_hat - y)^2, reduced: torch's fused kernel computes both in one pass (and one
    # for the backward), 2.5x faster on CPU than the two elementwise ops and the reduction.
    return functional.mse_loss(predictions, targets, reduction=reduction).to(out_dtype)


def mae_loss(predictions: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Mean absolute error (L1), :math:`\\ell_i = |\\hat y_i - y_i|` (2).

    Same arguments, shapes and dtype rules as :func:`mse_loss`; the gradient is
    :math:`\\mathrm{sign}(\\hat y - y)`, 0 at a zero residual.

    Differs from ``torch.nn.functional.l1_loss``: shapes must match exactly; half precision is
    reduced in float32.

    Example:
        >>> import torch
        >>> from lossopt.functional import mae_loss
        >>> mae_loss(torch.tensor([2.0, 0.0]), torch.tensor([1.0, 2.0]))  # (1 + 2) / 2
        tensor(1.5000)
    """
    check_reduction(reduction)
    out_dtype = predictions.dtype
    predictions, targets = float_pair(predictions, targets)
    return functional.l1_loss(predictions, targets, reduction=reduction).to(out_dtype)  # (2) l = |y_hat - y|


def check_delta(delta: float) -> None:
    """Huber's ``delta`` is a finite number > 0."""
    if not (isinstance(delta, (int, float)) and finite_number(delta) and delta > 0):
        raise ValueError(f"delta must be a finite number > 0; got {delta!r}")


def huber_loss(
    predictions: torch.Tensor, targets: torch.Tensor, delta: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    """Huber loss: :math:`\\tfrac12 r^2` for :math:`|r| \\le \\delta`, else :math:`\\delta(|r| - \\tfrac12\\delta)` (3).

    Equal to ``torch.nn.functional.huber_loss`` (whose fused kernel it calls), with exact shapes
    and float32 reduction of half inputs.

    Differs from the original design: its ``F.smooth_l1_loss(beta=delta)`` is Huber / delta, equal
    to Huber only at delta = 1.

    Example:
        >>> import torch
        >>> from lossopt.functional import huber_loss
        >>> # r = 0.5: 0.5 * 0.25 = 0.125; r = 3, delta = 2: 2 * (3 - 1) = 4
        >>> huber_loss(torch.tensor([0.5, 3.0]), torch.zeros(2), delta=2.0, reduction="none")
        tensor([0.1250, 4.0000])
    """
    check_delta(delta)
    check_reduction(reduction)
    out_dtype = predictions.dtype
    predictions, targets = float_pair(predictions, targets)
    return functional.huber_loss(predictions, targets, reduction=reduction, delta=float(delta)).to(out_dtype)  # (3)


LOG_COSH_SWITCH = 20.0  # beyond it log cosh(a) = a - log 2 to within e^-40


def _upstream(grad_output: torch.Tensor, reduction: str, numel: int) -> torch.Tensor:
    return grad_output / numel if reduction == "mean" else grad_output


# Elements per block of log-cosh's elementwise passes: a few such blocks stay in a CPU core's cache.
# Each block is ~10 intra-op parallel regions; on a CPU whose cores are all busy with other processes a
# region can wait a scheduler time slice, and log-cosh was then measured 2-5x slower than with whole-tensor
# passes (2 threads, 2 cores at load 4-6). Blocks under 2**15 elements run serially (no parallel region):
# robust there, ~20% slower on a free core (Python dispatch of ~600 blocks).
CHUNK = 1 << 17


def _blocks(numel: int, device: torch.device) -> list[tuple[int, int]]:
    """``(start, stop)`` of the blocks of :data:`CHUNK` elements on the CPU; the whole tensor, once,
    on other devices (a GPU's kernel launches, not its cache, are what a block would cost) and while
    ``torch.compile`` traces (it fuses the passes itself, and no loop depends on the shape)."""
    if torch.compiler.is_compiling() or device.type != "cpu":
        return [(0, numel)]
    return [(start, min(start + CHUNK, numel)) for start in range(0, numel, CHUNK)]


def _cosh_minus_one_(clipped: torch.Tensor) -> torch.Tensor:
    """``cosh(m) - 1 = 2 sinh^2(m / 2)`` in place, from ``u = expm1(m)``: ``u^2 / (2 (1 + u)) = 1 / (2 w (1 + w))``
    with ``w = 1 / u``. One exponential and four cheap passes instead of a sinh and two
    multiplications, every step a product, quotient or sum of positive numbers: relative error
    a few eps, as the sinh form. ``m = 0`` gives ``w = inf`` and exactly 0."""
    w = clipped.expm1_().reciprocal_()
    return torch.div(0.5, w.addcmul_(w, w), out=w)  # type: ignore[call-overload]


class _LogCosh(torch.autograd.Function):
    """Forward and backward run block by block (:data:`CHUNK`): the ten elementwise passes of (4)
    and the seven of (4') read and write a block in cache instead of the whole tensor in memory,
    and the forward of a reduction allocates nothing of the input's size."""

    @staticmethod
    def forward(predictions: torch.Tensor, targets: torch.Tensor, reduction: str) -> torch.Tensor:
        numel = predictions.numel()
        flat_predictions, flat_targets = predictions.reshape(-1), targets.reshape(-1)
        out = torch.empty_like(flat_predictions) if reduction == "none" else None
        blocks = _blocks(numel, predictions.device)
        buffer = flat_predictions.new_empty(
            max(stop - start for start, stop in blocks) if out is None and blocks else 0
        )
        partials = []
        for start, stop in blocks:
            block_predictions, block_targets = flat_predictions[start:stop], flat_targets[start:stop]
            if out is not None:
                magnitude = torch.sub(block_predictions, block_targets, out=out[start:stop]).abs_()  # a = |r|
                clipped = magnitude.clamp(max=LOG_COSH_SWITCH)  # m = min(a, 20)
                excess = magnitude.sub_(clipped)  # (4) a - m
                excess.add_(_cosh_minus_one_(clipped).log1p_())  # (4) l = log(1 + 2 sinh^2(m / 2)) + (a - m)
                continue
            magnitude = torch.sub(block_predictions, block_targets, out=buffer[: stop - start]).abs_()  # a = |r|
            total_magnitude = magnitude.sum()
            clipped = magnitude.clamp_(max=LOG_COSH_SWITCH)  # m = min(a, 20)
            excess = total_magnitude - clipped.sum()  # (4) sum (a - m): exactly 0 when nothing is clipped
            partials.append(_cosh_minus_one_(clipped).log1p_().sum() + excess)  # (4) sum log cosh |r|
        if out is not None:
            return out.view(predictions.shape)
        total = torch.stack(partials).sum() if partials else flat_predictions.new_zeros(())
        return total if reduction == "sum" else total / numel

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        predictions, targets, reduction = inputs
        ctx.save_for_backward(predictions, targets)
        ctx.reduction = reduction

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        predictions, targets = ctx.saved_tensors
        numel = predictions.numel()
        upstream = _upstream(grad_output, ctx.reduction, numel)
        flat_upstream = upstream.reshape(-1) if ctx.reduction == "none" else upstream
        flat_predictions, flat_targets = predictions.reshape(-1), targets.reshape(-1)
        grad = torch.empty_like(flat_predictions)
        for start, stop in _blocks(numel, predictions.device):
            # (4') dl/dy_hat = tanh(r) = u / (u + 2) with u = expm1(2 r), r clipped to +-20 (tanh(20) rounds to 1
            # in float64): one exponential and cheap passes, half the time of torch.tanh on CPU;
            # upstream / (1 + 2 / u) keeps the relative precision near 0 (u = 0 gives 1 / inf = 0)
            block = torch.sub(flat_predictions[start:stop], flat_targets[start:stop], out=grad[start:stop])
            u = block.clamp_(-LOG_COSH_SWITCH, LOG_COSH_SWITCH).mul_(2.0).expm1_()
            torch.div(2.0, u, out=u).add_(1.0)  # type: ignore[call-overload]  # 1 + 2 / u = (u + 2) / u
            torch.div(flat_upstream[start:stop] if ctx.reduction == "none" else flat_upstream, u, out=u)
        return grad.view(predictions.shape), None, None


def log_cosh_loss(predictions: torch.Tensor, targets: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Log-cosh loss :math:`\\log\\cosh(\\hat y - y)`, computed as (4) of the spec.

    .. math::

        \\ell = \\log\\left(1 + 2 \\sinh^2 \\tfrac{m}{2}\\right) + (a - m)

    with :math:`a = |\\hat y - y|` and :math:`m = \\min(a, 20)`: finite for every finite input
    (float32 ``log(cosh(90))`` is ``inf``), accurate for small
    residuals (:math:`\\ell \\approx a^2 / 2`); gradient :math:`\\tanh(\\hat y - y)`.
    No gradient flows to ``targets``. Computed with :math:`2\\sinh^2(m/2) = u^2 / (2(1 + u))`,
    :math:`u = e^m - 1`, and :math:`\\tanh r = v / (v + 2)`, :math:`v = e^{2r} - 1` (``expm1``): one
    exponential per element each way, within a few float32 eps of the spec over
    :math:`10^{-8} \\le |r| \\le 10^4` (tested).

    Differs from the original design: ``log(cosh(x))`` overflows for :math:`|x| \\gtrsim 89.5` in
    float32; this form is finite for every finite input.

    Example:
        >>> import torch
        >>> from lossopt.functional import log_cosh_loss
        >>> log_cosh_loss(torch.tensor([1e4, 90.0]), torch.zeros(2), reduction="none")  # a - log 2
        tensor([9999.3066,   89.3069])
    """
    check_reduction(reduction)
    out_dtype = predictions.dtype
    predictions, targets = float_pair(predictions, targets)
    value: torch.Tensor = _LogCosh.apply(predictions, targets, reduction)  # type: ignore[no-untyped-call]
    return value.to(out_dtype)


def quantile_levels(quantile: float | Sequence[float] | torch.Tensor) -> float | torch.Tensor:
    """A float level, or a 1-D float64 tensor of levels; each in (0, 1) (tensor values under the value-check policy)."""
    if isinstance(quantile, (int, float)):
        if not 0 < quantile < 1:
            raise ValueError(f"quantile must be in the open interval (0, 1); got {float(quantile)!r}")
        return float(quantile)
    levels = as_tensor_argument("quantile", quantile, dtype=torch.float64)
    if levels.ndim > 1:
        raise ValueError(f"quantile must be a number or a 1-D sequence of numbers; got shape {tuple(levels.shape)}")
    if levels.ndim == 0:
        return quantile_levels(float(levels))
    if value_checks_apply(levels):
        bad = ~((levels > 0) & (levels < 1))
        if bool(bad.any()):
            index = int(torch.nonzero(bad)[0][0])
            raise ValueError(
                f"quantile must be in the open interval (0, 1); got {float(levels[index])!r} at index {index}"
            )
    return levels


def _quantile_pair(
    predictions: torch.Tensor, targets: torch.Tensor, levels: float | torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, float | torch.Tensor]:
    if isinstance(levels, float):
        return (*float_pair(predictions, targets), levels)
    check_floating("predictions", predictions)
    if not isinstance(targets, torch.Tensor):
        raise TypeError(f"targets must be a torch.Tensor; got {type(targets).__name__}")
    count = levels.numel()
    if tuple(predictions.shape) != (*targets.shape, count):
        raise ValueError(
            f"with {count} quantiles, predictions must have shape targets.shape + ({count},); got "
            f"predictions {tuple(predictions.shape)} and targets {tuple(targets.shape)}"
        )
    dtype = compute_dtype(predictions.dtype)
    return predictions.to(dtype), targets.to(dtype).unsqueeze(-1), levels.to(predictions.device, dtype)


class _Pinball(torch.autograd.Function):
    @staticmethod
    def forward(
        predictions: torch.Tensor, targets: torch.Tensor, levels: float | torch.Tensor, reduction: str
    ) -> torch.Tensor:
        residual = torch.sub(targets, predictions)  # (5) u = y - y_hat, the one temporary
        if reduction == "none" or not isinstance(levels, float):
            elementwise = torch.where(residual >= 0, residual * levels, residual * (levels - 1.0))  # (5)
            return elementwise if reduction == "none" else _sum_or_mean(elementwise.sum(), reduction, residual)
        # (5) as two sums of same-sign terms, so no cancellation costs more than one rounding of S:
        # sum l = q S + N = (q - 1) S + P with S = sum u, P = sum max(u, 0), N = -sum min(u, 0)
        signed = residual.sum()
        if levels <= 0.5:
            total = levels * signed - residual.clamp_(max=0.0).sum()
        else:
            total = (levels - 1.0) * signed + residual.clamp_(min=0.0).sum()
        return _sum_or_mean(total, reduction, residual)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[Any, ...], output: torch.Tensor) -> None:
        predictions, targets, levels, reduction = inputs
        ctx.save_for_backward(predictions, targets, *([levels] if isinstance(levels, torch.Tensor) else []))
        ctx.level = levels if isinstance(levels, float) else None
        ctx.reduction = reduction

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        predictions, targets, *rest = ctx.saved_tensors
        levels = ctx.level if ctx.level is not None else rest[0]
        upstream = _upstream(grad_output, ctx.reduction, predictions.numel())
        # (5') 1 - q above the target, -q else: (1[y_hat > y] - q) * upstream, written into the one gradient
        # buffer (a boolean mask and torch.where cost an extra tensor and a slow pass on CPU)
        grad = torch.gt(predictions, targets, out=torch.empty_like(predictions))
        return grad.sub_(levels).mul_(upstream), None, None, None


def _sum_or_mean(total: torch.Tensor, reduction: str, like: torch.Tensor) -> torch.Tensor:
    return total if reduction == "sum" else total / like.numel()


def quantile_loss(
    predictions: torch.Tensor,
    targets: torch.Tensor,
    quantile: float | Sequence[float] | torch.Tensor = 0.5,
    reduction: str = "mean",
) -> torch.Tensor:
    """Quantile (pinball) loss: :math:`\\max(q u, (q - 1) u)` with :math:`u = y - \\hat y` (5).

    ``quantile=0.9`` fits the 90th percentile. A sequence (or 1-D tensor) of Q levels takes
    ``predictions`` of shape ``(*, Q)`` and ``targets`` of shape ``(*)`` and gives one loss per
    quantile for ``"none"`` (shape ``(*, Q)``); ``"mean"`` / ``"sum"`` reduce over everything.
    The gradient is :math:`1 - q` where :math:`\\hat y > y`, else :math:`-q` (so :math:`-q` at a tie).
    No gradient flows to ``targets`` or ``quantile``.

    Differs from the original design: its ``diff = predictions - targets`` inverts the residual, so
    its ``quantile=0.9`` fits the 10th percentile; the two agree at 0.5.

    Example:
        >>> import torch
        >>> from lossopt.functional import quantile_loss
        >>> # u = 1 - 0 = 1 -> 0.9 * 1; u = 1 - 3 = -2 -> (0.9 - 1) * -2 = 0.2
        >>> quantile_loss(torch.tensor([0.0, 3.0]), torch.tensor([1.0, 1.0]), quantile=0.9, reduction="none")
        tensor([0.9000, 0.2000])
    """
    levels = quantile_levels(quantile)
    predictions_, targets_, levels = _quantile_pair(predictions, targets, levels)
    check_reduction(reduction)
    value: torch.Tensor = _Pinball.apply(predictions_, targets_, levels, reduction)  # type: ignore[no-untyped-call]
    return value.to(predictions.dtype)
