"""Cross-entropy of a linear projection (a language model's output layer and its loss, as one function).

Mirrored by ``lossopt.functional.classification.linear_cross_entropy``; equation tags match. The spec computes
every logit at once in float64; ``chunk_size`` only schedules the torch side's work and is
validated here so that both sides refuse the same arguments. The three gradients (input,
``linear_weight``, ``linear_bias``) come back as a tuple, in argument order.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import KW_ONLY, dataclass

import numpy as np

from lossopt_spec.losses.classification.checks import check_class_indices
from lossopt_spec.losses.classification.softmax import check_label_smoothing
from lossopt_spec.losses.reduction import check_reduction
from lossopt_spec.losses.signature import Upstream, gradient_of, with_options

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None, bool]


@dataclass(frozen=True)
class LinearCrossEntropyOptions:
    """The options of :func:`linear_cross_entropy_loss` (keyword-only), as ``F.linear_cross_entropy`` names
    them, then the softcap, the z-loss and the torch side's chunk size."""

    _: KW_ONLY
    weight: np.ndarray | None = None
    reduction: str = "mean"
    ignore_index: int = -100
    label_smoothing: float = 0.0
    softcap: float | None = None
    z_loss: float = 0.0
    chunk_size: int | None = None


def check_linear_options(softcap: float | None, z_loss: float, chunk_size: int | None) -> None:
    """``softcap`` None or a finite number > 0; ``z_loss`` a finite number >= 0; ``chunk_size`` None or an int >= 1."""
    if softcap is not None and not (
        isinstance(softcap, numbers.Real) and not isinstance(softcap, bool) and 0 < softcap < math.inf
    ):
        raise ValueError(f"softcap must be None or a finite number > 0; got {softcap!r}")
    if not (isinstance(z_loss, numbers.Real) and not isinstance(z_loss, bool) and 0 <= z_loss < math.inf):
        raise ValueError(f"z_loss must be a finite number >= 0; got {z_loss!r}")
    if chunk_size is not None and not (
        isinstance(chunk_size, numbers.Integral) and not isinstance(chunk_size, bool) and chunk_size >= 1
    ):
        raise ValueError(f"chunk_size must be None or an integer >= 1; got {chunk_size!r}")


def _check_arrays(
    input: np.ndarray,
    linear_weight: np.ndarray,
    target: np.ndarray,
    linear_bias: np.ndarray | None,
    weight: np.ndarray | None,
    ignore_index: int,
) -> Arrays:
    """Float64 (x, W, b, t, w) with x of shape (N, D), and whether the input was one unbatched (D,) row."""
    x, w_lin, t = np.asarray(input, dtype=np.float64), np.asarray(linear_weight, dtype=np.float64), np.asarray(target)
    if x.ndim not in (1, 2):
        raise ValueError(f"input must have shape (N, D) or (D,); got input {x.shape}")
    d = x.shape[-1]
    if w_lin.ndim != 2 or w_lin.shape[1] != d:
        raise ValueError(
            f"linear_weight must have shape (V, D) with D = {d} for input {x.shape}; got linear_weight {w_lin.shape}"
        )
    classes = w_lin.shape[0]
    if classes == 0:
        raise ValueError(f"linear_weight must have at least one row (class); got linear_weight {w_lin.shape}")
    b = None if linear_bias is None else np.asarray(linear_bias, dtype=np.float64)
    if b is not None and b.shape != (classes,):
        raise ValueError(
            f"linear_bias must have shape (V,) = ({classes},) for linear_weight {w_lin.shape}; "
            f"got linear_bias {b.shape}"
        )
    w = None if weight is None else np.asarray(weight, dtype=np.float64)
    if w is not None and w.shape != (classes,):
        raise ValueError(f"weight must have shape (V,) = ({classes},) for linear_weight {w_lin.shape}; got {w.shape}")
    if t.dtype.kind not in "iu":
        raise ValueError(
            "target must be class indices (an integer array; probability targets would be an (N, V) array, "
            f"which this loss exists to avoid: use cross_entropy_loss); got dtype {t.dtype}"
        )
    expected = x.shape[:1] if x.ndim == 2 else ()
    if t.shape != expected:
        raise ValueError(f"target must have shape {expected} for input {x.shape}; got target {t.shape}")
    check_class_indices(t, classes, ignore_index, name="target")
    unbatched = x.ndim == 1
    return (x.reshape(-1, d), w_lin, b, t.reshape(-1).astype(np.int64), w, unbatched)


def _arrays(
    input: np.ndarray,
    linear_weight: np.ndarray,
    target: np.ndarray,
    linear_bias: np.ndarray | None,
    options: LinearCrossEntropyOptions,
) -> Arrays:
    """:func:`_check_arrays` of the inputs, once the options are valid."""
    check_reduction(options.reduction)
    check_label_smoothing(options.label_smoothing)
    check_linear_options(options.softcap, options.z_loss, options.chunk_size)
    return _check_arrays(input, linear_weight, target, linear_bias, options.weight, options.ignore_index)


def _terms(
    arrays: Arrays, options: LinearCrossEntropyOptions
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(s, lse, a, valid, ds/dz (ones without softcap), w_t: each token's class weight, 0 if ignored)."""
    ignore_index, label_smoothing, softcap = options.ignore_index, options.label_smoothing, options.softcap
    x, w_lin, b, t, w, _ = arrays
    classes = w_lin.shape[0]
    z = x @ w_lin.T + (0.0 if b is None else b)  # (1) z = x W^T + b
    if softcap is None:
        s, slope = z, np.ones_like(z)
    else:
        tanh = np.tanh(z / softcap)
        s, slope = softcap * tanh, 1.0 - tanh**2  # (2) s = c tanh(z / c); ds/dz = 1 - tanh^2(z / c)
    m = np.max(s, axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.sum(np.exp(s - m), axis=1))  # (3) lse = log sum_c exp s_c
    class_weight = np.ones(classes) if w is None else w
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    w_t = np.where(valid, class_weight[safe], 0.0)
    onehot = np.eye(classes)[safe]
    a = (1.0 - label_smoothing) * w_t[:, None] * onehot + (label_smoothing / classes) * class_weight[None, :]
    a = a * valid[:, None]  # (4) a = (1 - eps) w_t e_t + eps / V w; 0 for an ignored token
    return s, lse, a, valid, slope, w_t


@with_options(LinearCrossEntropyOptions)
def linear_cross_entropy_loss(
    input: np.ndarray,
    linear_weight: np.ndarray,
    target: np.ndarray,
    *,
    linear_bias: np.ndarray | None = None,
    options: LinearCrossEntropyOptions,
) -> np.ndarray:
    """Cross-entropy of the logits :math:`x W^\\top + b`, with optional logit soft-capping and z-loss.

    With inputs :math:`x \\in \\mathbb{R}^{N \\times D}` (or one row :math:`(D,)`), ``linear_weight``
    :math:`W \\in \\mathbb{R}^{V \\times D}`, ``linear_bias`` :math:`b \\in \\mathbb{R}^V` (0 if None),
    class-index targets :math:`t \\in [0, V)^N`, class weights :math:`w` (ones if None), label
    smoothing :math:`\\varepsilon`, softcap :math:`c` and z-loss coefficient :math:`\\alpha`, each token
    not ignored (:math:`t_i \\ne` ``ignore_index``) has

    .. math::

        z_i &= W x_i + b     \\tag{1} \\\\
        s_i &= c \\tanh(z_i / c) \\quad (s_i = z_i \\text{ if softcap is None})     \\tag{2} \\\\
        \\mathrm{lse}_i &= \\log \\sum_c \\exp s_{ic}, \\quad \\log p_i = s_i - \\mathrm{lse}_i  \\tag{3} \\\\
        a_i &= (1 - \\varepsilon)\\, w_{t_i} e_{t_i} + \\tfrac{\\varepsilon}{V} w     \\tag{4} \\\\
        \\ell_i &= -\\textstyle\\sum_c a_{ic} \\log p_{ic}, \\qquad \\zeta_i = \\alpha\\, \\mathrm{lse}_i^2     \\tag{5}

    and an ignored token has :math:`\\ell_i = \\zeta_i = 0`. The reductions (6):
    ``"none"``: :math:`\\ell_i + \\zeta_i` per token; ``"sum"``: :math:`\\sum_i (\\ell_i + \\zeta_i)`;
    ``"mean"``: :math:`\\sum_i \\ell_i / \\sum_{i \\text{ kept}} w_{t_i} + \\sum_i \\zeta_i / n`
    with :math:`n` the number of tokens kept. So with ``softcap=None`` and ``z_loss=0`` this is
    ``cross_entropy_loss(x @ W.T + b, t, weight, ignore_index, reduction, label_smoothing)``
    exactly, torch's semantics included (smoothing weighted by :math:`w` and divided by the same
    weighted count). Every token ignored, or none at all, gives NaN for ``"mean"`` (0 / 0, as torch)
    with zero gradients, and 0 for ``"sum"``.

    Logit soft-capping (2) bounds the logits to :math:`(-c, c)`: Gemma Team, *Gemma 2: Improving Open
    Language Models at a Practical Size*, 2024, https://arxiv.org/abs/2408.00118 (section 2, final
    logits capped at :math:`c = 30`). The z-loss (5) pulls the softmax normaliser :math:`\\log Z =
    \\mathrm{lse}` towards 0 for stability: Chowdhery et al., *PaLM: Scaling Language Modeling with
    Pathways*, 2022, https://arxiv.org/abs/2204.02311 (section 5, :math:`10^{-4} \\log^2 Z`). It is
    counted per token, not weighted by :math:`w`.

    Differs from ``torch.nn.functional.linear_cross_entropy`` (torch >= 2.13): targets are class
    indices only (probability targets are an :math:`N \\times V` array, what the fused loss avoids),
    ``linear_weight`` is :math:`(V, D)` only (no K-dimensional weights), ``ignore_index`` is an int
    (-100 by default; torch's ``None`` means the same), and it has ``softcap`` and ``z_loss``.
    Differs from Liger's ``LigerFusedLinearCrossEntropyLoss``: Liger's ``lse_square_scale`` is
    :math:`\\alpha`, with the same per-token count in ``"mean"``; Liger accumulates the weight gradient
    in the weight's dtype unless ``accum_dtype`` is given (lossopt: float32 for float16/bfloat16) and
    reads the token counts on the host (``.item()``), which lossopt does not.
    """
    arrays = _arrays(input, linear_weight, target, linear_bias, options)
    s, lse, a, valid, _, w_t = _terms(arrays, options)
    reduction, z_loss = options.reduction, options.z_loss
    log_p = s - lse[:, None]
    ce = -np.sum(a * log_p, axis=1)  # (5) l = -sum_c a_c log p_c
    zeta = np.where(valid, z_loss * lse**2, 0.0)  # (5) zeta = alpha lse^2
    if reduction == "none":
        per_token: np.ndarray = ce + zeta
        return per_token[0] if arrays[5] else per_token
    if reduction == "sum":
        return np.asarray(np.sum(ce) + np.sum(zeta))
    weight_count, count = float(np.sum(w_t)), int(np.sum(valid))  # (6) "mean"
    value = np.sum(ce) / weight_count if weight_count != 0 else math.nan
    if z_loss:
        value += np.sum(zeta) / count if count else math.nan
    return np.asarray(value)


@gradient_of(linear_cross_entropy_loss)
def linear_cross_entropy_loss_grad(
    input: np.ndarray,
    linear_weight: np.ndarray,
    target: np.ndarray,
    linear_bias: np.ndarray | None,
    options: LinearCrossEntropyOptions,
    grad_output: Upstream,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """VJPs of :func:`linear_cross_entropy_loss` w.r.t. ``input``, ``linear_weight`` and ``linear_bias``.

    With :math:`u_i` the upstream gradient of token :math:`i` (``"none"``: ``grad_output[i]``;
    ``"sum"``: ``grad_output``; ``"mean"``: ``grad_output`` divided by :math:`\\sum w_{t_i}` for
    :math:`\\ell` and by :math:`n` for :math:`\\zeta`; 0 for an ignored token) and
    :math:`p_i = \\exp \\log p_i`:

    .. math::

        g_i &= u_i^{\\ell} \\big((\\textstyle\\sum_c a_{ic})\\, p_i - a_i\\big)
            + u_i^{\\zeta}\\, 2 \\alpha\\, \\mathrm{lse}_i\\, p_i     \\tag{5'} \\\\
        \\bar z_i &= g_i \\odot (1 - \\tanh^2(z_i / c)) \\quad (g_i \\text{ if softcap is None})     \\tag{2'} \\\\
        \\bar x_i &= \\bar z_i W, \\qquad \\bar W = \\textstyle\\sum_i \\bar z_i^\\top x_i, \\qquad
            \\bar b = \\textstyle\\sum_i \\bar z_i     \\tag{1'}

    The bias gradient is None when there is no bias. An ignored token's :math:`g_i` is exactly 0,
    also where ``"mean"`` divides by 0 (every token ignored); a zero total weight over kept tokens
    gives NaN, as torch.
    """
    arrays = _arrays(input, linear_weight, target, linear_bias, options)
    x, w_lin, b, _, _, unbatched = arrays
    s, lse, a, valid, slope, w_t = _terms(arrays, options)
    reduction, z_loss = options.reduction, options.z_loss
    n = x.shape[0]
    upstream = np.ones(() if reduction != "none" else (n,)) if grad_output is None else np.asarray(grad_output, float)
    upstream = np.broadcast_to(upstream.reshape(-1) if reduction == "none" else upstream, (n,))
    with np.errstate(divide="ignore", invalid="ignore"):
        if reduction == "mean":  # over a zero total weight (or no token): NaN, as the value and torch
            weights, count = np.sum(w_t), np.sum(valid)
            u_ce = upstream / weights if weights else np.full(n, np.nan)
            u_z = upstream / count if count else np.full(n, np.nan)
        else:
            u_ce = u_z = upstream
        p = np.exp(s - lse[:, None])
        g = u_ce[:, None] * (np.sum(a, axis=1, keepdims=True) * p - a)  # (5') u (sum a) p - u a
        if z_loss:
            g = g + (u_z * 2.0 * z_loss * lse)[:, None] * p  # (5') + u 2 alpha lse p
        g = np.where(valid[:, None], g * slope, 0.0)  # (2') chain through the cap; ignored tokens exactly 0
        grad_input = g @ w_lin  # (1'); NaN throughout for "mean" over a zero total weight, as torch
        grad_weight = g.T @ x
        grad_bias = None if b is None else np.sum(g, axis=0)
    return (grad_input[0] if unbatched else grad_input), grad_weight, grad_bias
