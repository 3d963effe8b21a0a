"""The contrastive loss over every pair of a batch of labelled embeddings: SupCon or margin.

Mirrored by ``lossopt.functional.embedding.contrastive``; equation tags match.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

import numpy as np

from lossopt_spec.losses.reduction import Reduction, check_reduction, reduce, reduce_grad
from lossopt_spec.losses.signature import Upstream, gradient_of, with_options

CONTRASTIVE_MODES = ("supcon", "margin")
NORMALIZE_EPS = 1e-12  # as torch.nn.functional.normalize


def _check_embeddings(embeddings: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    embeddings = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(labels)
    if embeddings.ndim != 2:
        raise ValueError(f"embeddings must have shape (N, D); got {embeddings.shape}")
    if labels.shape != (embeddings.shape[0],):
        raise ValueError(
            f"labels must have shape (N,) = ({embeddings.shape[0]},) for embeddings {embeddings.shape}; "
            f"got labels {labels.shape}"
        )
    if embeddings.shape[0] < 2:
        raise ValueError(f"embeddings must hold at least 2 samples to form pairs; got N={embeddings.shape[0]}")
    return embeddings, labels


def check_contrastive(mode: str, margin: float, temperature: float, eps: float) -> None:
    """The contrastive loss's ``mode`` (``"supcon"`` | ``"margin"``), margin >= 0, temperature > 0, eps > 0."""
    if mode not in CONTRASTIVE_MODES:
        raise ValueError(f"mode must be one of {CONTRASTIVE_MODES}; got {mode!r}")
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0; got {margin!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0; got {temperature!r}")
    if not eps > 0:
        raise ValueError(f"eps must be > 0; got {eps!r}")


@dataclass(frozen=True)
class ContrastiveOptions(Reduction):
    """The options of :func:`contrastive_loss`: ``margin``, ``temperature``, the reduction, ``mode``, ``eps``."""

    margin: float = 1.0
    temperature: float = 0.1
    _: KW_ONLY
    mode: str = "supcon"
    eps: float = 1e-8


def _embeddings(
    embeddings: np.ndarray, labels: np.ndarray, options: ContrastiveOptions
) -> tuple[np.ndarray, np.ndarray]:
    """The embeddings as float64 and the labels, once the reduction, the options and the shapes are valid."""
    check_reduction(options.reduction)
    check_contrastive(options.mode, options.margin, options.temperature, options.eps)
    return _check_embeddings(embeddings, labels)


def _normalize(e: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    norm = np.maximum(np.sqrt(np.sum(e * e, axis=1, keepdims=True)), NORMALIZE_EPS)
    return e / norm, norm


def _supcon_parts(z: np.ndarray, labels: np.ndarray, temperature: float) -> tuple[np.ndarray, ...]:
    """Similarities (diagonal -inf), log-sum-exp per anchor, positive mask and positive counts."""
    n = z.shape[0]
    s = z @ z.T / temperature  # (2) s_ij = z_i . z_j / tau
    off = ~np.eye(n, dtype=bool)
    s = np.where(off, s, -np.inf)
    row_max = s.max(axis=1, keepdims=True)
    lse = row_max[:, 0] + np.log(np.sum(np.exp(s - row_max), axis=1))  # (3) log sum_{a != i} exp s_ia, max subtracted
    positive = (labels[:, None] == labels[None, :]) & off
    count = positive.sum(axis=1)
    return s, lse, positive, count


@with_options(ContrastiveOptions)
def contrastive_loss(embeddings: np.ndarray, labels: np.ndarray, options: ContrastiveOptions) -> np.ndarray:
    """Contrastive loss over every pair of a batch of labelled embeddings.

    ``mode="supcon"`` (default; uses ``temperature``, ignores ``margin``): the supervised contrastive
    loss :math:`\\mathcal L^{sup}_{out}` of Khosla et al. 2020 (arXiv:2004.11362). With
    :math:`z_i = e_i / \\max(\\lVert e_i \\rVert, 10^{-12})`, :math:`A(i)` every other sample and
    :math:`P(i)` the others with the same label:

    .. math::

        s_{ij} = z_i \\cdot z_j / \\tau     \\tag{2}

    .. math::

        \\ell_i = -\\frac{1}{|P(i)|} \\sum_{p \\in P(i)} \\Big(s_{ip} - \\log \\sum_{a \\in A(i)} e^{s_{ia}}\\Big)
        \\tag{3}

    (the log-sum-exp computed with the row maximum subtracted), and :math:`\\ell_i = 0` for an anchor
    with no positive. ``"none"`` returns :math:`(\\ell_i)_i`, shape ``(N,)``; ``"mean"`` divides by
    :math:`N`, anchors without positives included.

    ``mode="margin"`` (uses ``margin`` and ``eps``, ignores ``temperature``): Hadsell, Chopra &
    LeCun 2006 over every pair :math:`i < j`, :math:`y_{ij} = [\\mathrm{label}_i = \\mathrm{label}_j]`:

    .. math::

        d_{ij} = \\sqrt{\\lVert e_i - e_j \\rVert^2 + \\epsilon}, \\qquad
        \\ell_{ij} = y_{ij} \\tfrac12 \\lVert e_i - e_j \\rVert^2 + (1 - y_{ij}) \\tfrac12 \\max(0, m - d_{ij})^2
        \\tag{1}

    ``eps`` keeps the gradient of :math:`d` finite at distance 0. ``"none"`` returns the pairs in
    ``numpy.triu_indices(N, 1)`` order, shape ``(N (N - 1) / 2,)``.

    Args:
        embeddings: ``(N, D)``.
        labels: ``(N,)`` integer class labels.
        margin: :math:`m \\ge 0` (margin mode).
        temperature: :math:`\\tau > 0` (supcon mode).
        reduction: ``"none"`` | ``"mean"`` | ``"sum"``.

    Differs from the authors' code (SupContrast): no ``temperature / base_temperature`` factor
    (it equals 1 at their default); one view per sample (stack views as extra rows with equal labels).
    Differs from the original design: the design names both ``margin`` and ``temperature`` without
    saying which formulation uses them; each mode uses one.
    """
    e, labels = _embeddings(embeddings, labels, options)
    reduction = options.reduction
    if options.mode == "margin":
        i, j = np.triu_indices(e.shape[0], 1)
        diff = e[i] - e[j]
        sq = np.sum(diff * diff, axis=1)
        d = np.sqrt(sq + options.eps)
        same = labels[i] == labels[j]
        elementwise = np.where(same, 0.5 * sq, 0.5 * np.maximum(options.margin - d, 0.0) ** 2)  # (1)
        return reduce(elementwise, reduction)
    z, _ = _normalize(e)
    s, lse, positive, count = _supcon_parts(z, labels, options.temperature)
    pos_sum = np.where(positive, s, 0.0).sum(axis=1)
    per_anchor = np.where(count > 0, lse - pos_sum / np.maximum(count, 1), 0.0)  # (3)
    return reduce(per_anchor, reduction)


@gradient_of(contrastive_loss)
def contrastive_loss_grad(
    embeddings: np.ndarray, labels: np.ndarray, options: ContrastiveOptions, grad_output: Upstream
) -> np.ndarray:
    """VJP of :func:`contrastive_loss` w.r.t. the embeddings.

    Supcon: with :math:`G_{ia} = \\bar g_i (\\mathrm{softmax}_{a \\ne i}(s_i)_a - [a \\in P(i)] / |P(i)|)`,

    .. math::

        \\frac{\\partial L}{\\partial z} = (G + G^\\top) z / \\tau, \\qquad
        \\frac{\\partial L}{\\partial e_i} = \\frac{\\bar z_i - z_i (z_i \\cdot \\bar z_i)}{\\lVert e_i \\rVert}
        \\tag{3'}

    Margin: :math:`\\partial \\ell_{ij} / \\partial e_i = (e_i - e_j)` for a similar pair,
    :math:`-\\max(0, m - d)(e_i - e_j) / d` for a dissimilar one, the opposite for :math:`e_j` (1').
    """
    e, labels = _embeddings(embeddings, labels, options)
    reduction, temperature = options.reduction, options.temperature
    n = e.shape[0]
    if options.mode == "margin":
        i, j = np.triu_indices(n, 1)
        upstream = reduce_grad(i.shape, reduction, grad_output)
        diff = e[i] - e[j]
        d = np.sqrt(np.sum(diff * diff, axis=1) + options.eps)
        same = labels[i] == labels[j]
        coef = np.where(same, 1.0, -np.maximum(options.margin - d, 0.0) / d) * upstream  # (1')
        grad = np.zeros_like(e)
        np.add.at(grad, i, coef[:, None] * diff)
        np.add.at(grad, j, -coef[:, None] * diff)
        return grad
    upstream = reduce_grad((n,), reduction, grad_output)
    z, norm = _normalize(e)
    s, lse, positive, count = _supcon_parts(z, labels, temperature)
    weight = np.where(count > 0, upstream, 0.0)
    g = np.exp(s - lse[:, None]) * weight[:, None] - positive * (weight / np.maximum(count, 1))[:, None]
    grad_z = (g + g.T) @ z / temperature  # (3')
    inside = norm[:, 0] > NORMALIZE_EPS
    projected = grad_z - z * np.sum(z * grad_z, axis=1, keepdims=True)
    return np.asarray(np.where(inside[:, None], projected, grad_z) / norm)
