"""Embedding and distribution losses: contrastive (margin, SupCon), triplet, cosine embedding, KL divergence.

Mirrors ``lossopt_spec.losses.embedding``; equation tags match. The supervised contrastive loss is
one ``autograd.Function`` (:class:`_SupCon`) that keeps the ``N x N`` similarity matrix and nothing
else of that size for backward.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from lossopt.functional._autocast import autocast_off
from lossopt.functional._checks import value_checks_apply
from lossopt.functional.arguments import check_bool, check_real
from lossopt.functional.reduction import check_floating, check_reduction, compute_dtype, reduce

CONTRASTIVE_MODES = ("supcon", "margin")
KL_REDUCTIONS = ("none", "batchmean", "sum", "mean")
NORMALIZE_EPS = 1e-12  # as torch.nn.functional.normalize
COSINE_EPS = 1e-12  # as torch's cosine_embedding_loss kernel


def _shape(tensor: torch.Tensor) -> tuple[int, ...]:
    return tuple(tensor.shape)


def _check_embeddings(embeddings: torch.Tensor, labels: torch.Tensor) -> None:
    check_floating("embeddings", embeddings)
    if embeddings.dim() != 2:
        raise ValueError(f"embeddings must have shape (N, D); got {_shape(embeddings)}")
    if _shape(labels) != (embeddings.shape[0],):
        raise ValueError(
            f"labels must have shape (N,) = ({embeddings.shape[0]},) for embeddings {_shape(embeddings)}; "
            f"got labels {_shape(labels)}"
        )
    if embeddings.shape[0] < 2:
        raise ValueError(f"embeddings must hold at least 2 samples to form pairs; got N={embeddings.shape[0]}")


def check_contrastive(mode: str, margin: float, temperature: float, eps: float) -> None:
    """The contrastive loss's ``mode`` (``"supcon"`` | ``"margin"``), margin >= 0, temperature > 0, eps > 0."""
    if mode not in CONTRASTIVE_MODES:
        raise ValueError(f"mode must be one of {CONTRASTIVE_MODES}; got {mode!r}")
    for name, value in (("margin", margin), ("temperature", temperature), ("eps", eps)):
        check_real(name, value)
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0; got {margin!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature!r}")
    if not eps > 0:
        raise ValueError(f"eps must be > 0; got {eps!r}")


class _SupCon(torch.autograd.Function):
    """(2), (3) per anchor from unit embeddings ``z``; backward (3') up to the normalisation."""

    @staticmethod
    @autocast_off  # the similarity matrix in the loss's compute dtype, not autocast's
    def forward(ctx: Any, z: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:  # type: ignore[override]
        s = torch.mm(z, z.t()).div_(temperature)  # (2) s_ij = z_i . z_j / tau
        s.fill_diagonal_(-torch.inf)
        lse = torch.logsumexp(s, dim=1)  # (3) log sum_{a != i} exp s_ia, max subtracted
        positive = labels[:, None] == labels[None, :]
        positive.fill_diagonal_(False)
        count = positive.sum(dim=1)
        pos_sum = torch.where(positive, s, 0.0).sum(dim=1)
        per_anchor = torch.where(count > 0, lse - pos_sum / count.clamp_min(1), 0.0)  # (3)
        ctx.save_for_backward(z, s, lse, labels, count)
        ctx.temperature = temperature
        return per_anchor

    @staticmethod
    @autocast_off
    def backward(ctx: Any, upstream: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        z, s, lse, labels, count = ctx.saved_tensors
        weight = torch.where(count > 0, upstream, 0.0)
        g = torch.exp(s - lse[:, None]).mul_(weight[:, None])  # softmax_{a != i}(s_i) g_i
        positive = labels[:, None] == labels[None, :]
        positive.fill_diagonal_(False)
        g.sub_(torch.where(positive, (weight / count.clamp_min(1))[:, None], 0.0))
        grad_z = torch.mm(g, z).add_(torch.mm(g.t(), z)).div_(ctx.temperature)  # (3') (G + G^T) z / tau
        return grad_z, None, None


def contrastive_loss(
    embeddings: torch.Tensor,
    labels: torch.Tensor,
    margin: float = 1.0,
    temperature: float = 0.1,
    reduction: str = "mean",
    *,
    mode: str = "supcon",
    eps: float = 1e-8,
) -> torch.Tensor:
    """Contrastive loss over every pair of a batch of labelled embeddings.

    ``mode="supcon"`` (default; uses ``temperature``, ignores ``margin``): Khosla et al. 2020
    (arXiv:2004.11362), :math:`\\mathcal L^{sup}_{out}` on :math:`z = e / \\lVert e \\rVert`,

    .. math::

        \\ell_i = -\\frac{1}{|P(i)|} \\sum_{p \\in P(i)} \\Big(s_{ip} - \\log \\sum_{a \\ne i} e^{s_{ia}}\\Big),
        \\quad s_{ij} = z_i \\cdot z_j / \\tau     \\tag{2, 3}

    0 for an anchor with no positive; ``"none"`` has shape ``(N,)``. Only the similarity matrix is
    kept for backward.

    ``mode="margin"`` (uses ``margin`` and ``eps``): Hadsell et al. 2006 over all pairs
    :math:`i < j`, :math:`\\tfrac12 \\lVert e_i - e_j \\rVert^2` for equal labels,
    :math:`\\tfrac12 \\max(0, m - \\sqrt{\\lVert e_i - e_j \\rVert^2 + \\epsilon})^2` otherwise (1);
    ``"none"`` has shape ``(N (N - 1) / 2,)`` in ``torch.triu_indices`` order. Memory: this mode
    forms the ``N (N - 1) / 2 x D`` differences (exact at small distances, unlike the Gram form
    :math:`\\lVert e_i \\rVert^2 + \\lVert e_j \\rVert^2 - 2 e_i \\cdot e_j`), so it suits batches of
    hundreds, not thousands; ``"supcon"`` keeps only ``N x N``.

    Args:
        embeddings: ``(N, D)`` floating, N >= 2.
        labels: ``(N,)`` integer labels.
        margin: >= 0; temperature: > 0; eps: > 0.
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Differs from the authors' code: no ``temperature / base_temperature`` factor; one view per row.

    Example:
        >>> import torch
        >>> from lossopt.functional import contrastive_loss
        >>> e = torch.tensor([[0.0, 0.0], [0.3, 0.4]])  # one pair, labels differ, distance 0.5
        >>> round(float(contrastive_loss(e, torch.tensor([0, 1]), margin=1.0, mode="margin")), 4)  # (1 - 0.5)^2 / 2
        0.125
    """
    check_reduction(reduction)
    check_contrastive(mode, margin, temperature, eps)
    _check_embeddings(embeddings, labels)
    out_dtype = embeddings.dtype
    e = embeddings.to(compute_dtype(embeddings.dtype))
    if mode == "margin":
        i, j = torch.triu_indices(e.shape[0], e.shape[0], 1, device=e.device)
        diff = e[i] - e[j]
        sq = (diff * diff).sum(dim=1)
        d = torch.sqrt(sq + eps)
        same = labels[i] == labels[j]
        elementwise = torch.where(same, 0.5 * sq, 0.5 * torch.relu(margin - d) ** 2)  # (1)
        return reduce(elementwise, reduction).to(out_dtype)
    z = torch.nn.functional.normalize(e, dim=1, eps=NORMALIZE_EPS)
    per_anchor = _SupCon.apply(z, labels, temperature)  # type: ignore[no-untyped-call]
    return reduce(per_anchor, reduction).to(out_dtype)


def _check_triplet(
    anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float, p: float
) -> None:
    for name, value in (("anchor", anchor), ("positive", positive), ("negative", negative)):
        check_floating(name, value)
    if not (anchor.dim() == 2 and anchor.shape == positive.shape == negative.shape):
        raise ValueError(
            f"anchor, positive and negative must have the same shape (N, D); got anchor {_shape(anchor)}, "
            f"positive {_shape(positive)} and negative {_shape(negative)}"
        )
    check_real("margin", margin)
    check_real("p", p, finite=False)  # p = inf: the max norm
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0; got {margin!r}")
    if not p >= 1:
        raise ValueError(f"p must be >= 1 (a norm); got {p!r}")


def _distance(x: torch.Tensor, y: torch.Tensor, p: float, eps: float) -> torch.Tensor:
    """(1) d(a, b) = ||a - b + eps||_p: torch's pairwise_distance computes exactly this, in one kernel.

    For p > 2 its sum of |d|^p overflows float32 once |d| > 2^(128/p) (p = 93: |d| > 2.6, found by the
    input fuzzer: inf for ordinary embeddings); there the norm is taken of d / max|d| and scaled back
    (a 1-homogeneous function: the gradient of the detached scale is exactly 0).
    """
    distance: torch.Tensor
    if p <= 2 or p == math.inf or x.shape[-1] == 0:
        distance = torch.pairwise_distance(x, y, p=p, eps=eps)
        return distance
    d = x - y + eps
    scale = d.detach().abs().amax(dim=-1, keepdim=True).clamp_min(torch.finfo(d.dtype).tiny)
    distance = torch.linalg.vector_norm(d / scale, ord=p, dim=-1) * scale.squeeze(-1)
    return distance


def triplet_loss(
    anchor: torch.Tensor,
    positive: torch.Tensor,
    negative: torch.Tensor,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: str = "mean",
) -> torch.Tensor:
    """Triplet margin loss (Schroff et al. 2015, arXiv:1503.03832), torch's conventions.

    .. math::

        \\ell_n = \\max(\\lVert a_n - p_n + \\epsilon \\rVert_p - \\lVert a_n - n_n + \\epsilon \\rVert_p + m, 0)
        \\tag{1, 2}

    With ``swap`` the negative distance is the smaller of :math:`d(a, n)` and :math:`d(p, n)`.

    Example:
        >>> import torch
        >>> from lossopt.functional import triplet_loss
        >>> a, p, n = torch.zeros(1, 2), torch.tensor([[3.0, 4.0]]), torch.tensor([[0.0, 1.0]])
        >>> round(float(triplet_loss(a, p, n, margin=1.0, eps=0.0)), 4)  # 5 - 1 + 1
        5.0
    """
    check_reduction(reduction)
    _check_triplet(anchor, positive, negative, margin, p)
    check_real("eps", eps)
    check_bool("swap", swap)
    out_dtype = anchor.dtype
    dtype = compute_dtype(anchor.dtype)
    a, pos, neg = anchor.to(dtype), positive.to(dtype), negative.to(dtype)
    d_pos = _distance(a, pos, p, eps)  # (1)
    d_neg = _distance(a, neg, p, eps)
    if swap:
        d_swap = _distance(pos, neg, p, eps)
        d_neg = torch.where(d_swap < d_neg, d_swap, d_neg)
    return reduce(torch.relu(d_pos - d_neg + margin), reduction).to(out_dtype)  # (2)


def _check_cosine(x1: torch.Tensor, x2: torch.Tensor, y: torch.Tensor, margin: float) -> None:
    check_floating("x1", x1)
    check_floating("x2", x2)
    if not (x1.dim() == 2 and x1.shape == x2.shape):
        raise ValueError(f"x1 and x2 must have the same shape (N, D); got x1 {_shape(x1)} and x2 {_shape(x2)}")
    if _shape(y) != (x1.shape[0],):
        raise ValueError(f"y must have shape (N,) = ({x1.shape[0]},); got {_shape(y)}")
    if value_checks_apply(y):  # reads y on the host: CPU tensors only by default
        bad = (y != 1) & (y != -1)
        if bool(bad.any()):
            raise ValueError(f"y must hold 1 or -1; got {y[bad][0].item()!r}")
    check_real("margin", margin)
    if not -1 <= margin <= 1:
        raise ValueError(f"margin must be in [-1, 1]; got {margin!r}")


def cosine_embedding_loss(
    x1: torch.Tensor, x2: torch.Tensor, y: torch.Tensor, margin: float = 0.0, reduction: str = "mean"
) -> torch.Tensor:
    """Cosine embedding loss, as ``torch.nn.functional.cosine_embedding_loss``.

    .. math::

        \\ell_n = 1 - \\cos_n \\;(y_n = 1), \\qquad \\max(0, \\cos_n - m) \\;(y_n = -1)     \\tag{1, 2}

    with :math:`\\cos = x_1 \\cdot x_2 / \\sqrt{(\\lVert x_1 \\rVert^2 + 10^{-12})(\\lVert x_2 \\rVert^2 + 10^{-12})}`.
    Differs from torch: ``y`` other than 1 or -1 is an error (torch scores it 0).

    Example:
        >>> import torch
        >>> from lossopt.functional import cosine_embedding_loss
        >>> x1, x2 = torch.tensor([[1.0, 0.0], [1.0, 0.0]]), torch.tensor([[0.0, 1.0], [1.0, 1.0]])
        >>> cosine_embedding_loss(x1, x2, torch.tensor([1, -1]), reduction="none")
        tensor([1.0000, 0.7071])
    """
    check_reduction(reduction)
    _check_cosine(x1, x2, y, margin)
    out_dtype = x1.dtype
    dtype = compute_dtype(x1.dtype)
    a, b = x1.to(dtype), x2.to(dtype)
    prod = (a * b).sum(dim=1)
    m1 = (a * a).sum(dim=1) + COSINE_EPS
    m2 = (b * b).sum(dim=1) + COSINE_EPS
    cos = prod / torch.sqrt(m1 * m2)  # (1)
    elementwise = torch.where(y == 1, 1.0 - cos, (cos - margin).clamp_min(0.0))  # (2)
    return reduce(elementwise, reduction).to(out_dtype)


def _check_kl(x: torch.Tensor, t: torch.Tensor, reduction: str) -> None:
    if reduction not in KL_REDUCTIONS:
        raise ValueError(f"reduction must be one of {KL_REDUCTIONS}; got {reduction!r}")
    check_floating("input", x)
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"target must be a torch.Tensor; got {type(t).__name__}")
    if x.shape != t.shape:
        raise ValueError(f"input and target must have the same shape; got input {_shape(x)} and target {_shape(t)}")
    if x.dim() < 1:
        raise ValueError(f"input must have a batch dimension; got shape {_shape(x)}")


def kl_divergence_loss(
    input: torch.Tensor, target: torch.Tensor, reduction: str = "batchmean", log_target: bool = False
) -> torch.Tensor:
    """KL divergence :math:`\\mathrm{KL}(t \\Vert q)` with ``input`` the log-probabilities :math:`\\log q`.

    .. math::

        \\ell_i = t_i (\\log t_i - x_i), \\quad 0 \\log 0 = 0     \\tag{1}

    or :math:`e^{t_i} (t_i - x_i)` with ``log_target=True``. ``"batchmean"`` (default) divides the
    sum by ``input.shape[0]``: the KL divergence per sample when rows are distributions. ``"mean"``
    divides by the number of elements, as torch's ``"mean"``, which is not the KL divergence.

    Example:
        >>> import torch
        >>> from lossopt.functional import kl_divergence_loss
        >>> p = torch.tensor([[0.5, 0.5, 0.0]])
        >>> float(kl_divergence_loss(p.clamp_min(1e-30).log(), p))  # KL(p || p) = 0, 0 log 0 = 0
        0.0
    """
    _check_kl(input, target, reduction)
    check_bool("log_target", log_target)
    out_dtype = input.dtype
    dtype = compute_dtype(input.dtype)
    x, t = input.to(dtype), target.to(dtype)
    if log_target:
        elementwise = torch.exp(t) * (t - x)  # (1) l = e^t (t - x)
    else:
        elementwise = torch.xlogy(t, t) - t * x  # (1) l = t log t - t x, 0 log 0 = 0
    if reduction == "batchmean":
        return (elementwise.sum() / x.shape[0]).to(out_dtype)
    return reduce(elementwise, reduction).to(out_dtype)
