"""The contrastive loss over every pair of a batch of labelled embeddings: SupCon or margin.

Mirrors ``lossopt_spec.losses.embedding.contrastive``; equation tags match. The supervised
contrastive loss is one ``autograd.Function`` (:class:`_SupCon`) that keeps the ``N x N``
similarity matrix and nothing else of that size for backward.
"""

from __future__ import annotations

from typing import Any

import torch

from lossopt.functional._autocast import autocast_off
from lossopt.functional.arguments import check_real
from lossopt.functional.reduction import check_floating, check_reduction, check_tensor, compute_dtype, reduce, shape_of

CONTRASTIVE_MODES = ("supcon", "margin")
NORMALIZE_EPS = 1e-12  # as torch.nn.functional.normalize


def _check_embeddings(embeddings: torch.Tensor, labels: torch.Tensor) -> None:
    check_floating("embeddings", embeddings)
    check_tensor("labels", labels)
    if embeddings.dim() != 2:
        raise ValueError(f"embeddings must have shape (N, D); got {shape_of(embeddings)}")
    if shape_of(labels) != (embeddings.shape[0],):
        raise ValueError(
            f"labels must have shape (N,) = ({embeddings.shape[0]},) for embeddings {shape_of(embeddings)}; "
            f"got labels {shape_of(labels)}"
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
        # the diagonal as a mask: torch 2.9's fill_diagonal_ cannot run on symbolic shapes (compile(dynamic=True))
        diagonal = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
        s = torch.mm(z, z.t()).div_(temperature).masked_fill_(diagonal, -torch.inf)  # (2) s_ij = z_i . z_j / tau
        lse = torch.logsumexp(s, dim=1)  # (3) log sum_{a != i} exp s_ia, max subtracted
        positive = (labels[:, None] == labels[None, :]) & ~diagonal
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
        diagonal = torch.eye(z.shape[0], dtype=torch.bool, device=z.device)
        positive = (labels[:, None] == labels[None, :]) & ~diagonal
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
