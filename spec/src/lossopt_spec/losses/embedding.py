"""Embedding and distribution losses: contrastive (margin, SupCon), triplet, cosine embedding, KL divergence.

Mirrored by ``lossopt.functional.embedding``; equation tags match. Losses with several
differentiable inputs (triplet, cosine embedding) return their gradients as a tuple, in argument
order.
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from lossopt_spec.losses.reduction import check_reduction, reduce, reduce_grad

CONTRASTIVE_MODES = ("supcon", "margin")
KL_REDUCTIONS = ("none", "batchmean", "sum", "mean")
NORMALIZE_EPS = 1e-12  # as torch.nn.functional.normalize
COSINE_EPS = 1e-12  # as torch's cosine_embedding_loss kernel


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


def contrastive_loss(
    embeddings: np.ndarray,
    labels: np.ndarray,
    margin: float = 1.0,
    temperature: float = 0.1,
    reduction: str = "mean",
    *,
    mode: str = "supcon",
    eps: float = 1e-8,
) -> np.ndarray:
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
    check_reduction(reduction)
    check_contrastive(mode, margin, temperature, eps)
    e, labels = _check_embeddings(embeddings, labels)
    if mode == "margin":
        i, j = np.triu_indices(e.shape[0], 1)
        diff = e[i] - e[j]
        sq = np.sum(diff * diff, axis=1)
        d = np.sqrt(sq + eps)
        same = labels[i] == labels[j]
        elementwise = np.where(same, 0.5 * sq, 0.5 * np.maximum(margin - d, 0.0) ** 2)  # (1)
        return reduce(elementwise, reduction)
    z, _ = _normalize(e)
    s, lse, positive, count = _supcon_parts(z, labels, temperature)
    pos_sum = np.where(positive, s, 0.0).sum(axis=1)
    per_anchor = np.where(count > 0, lse - pos_sum / np.maximum(count, 1), 0.0)  # (3)
    return reduce(per_anchor, reduction)


def contrastive_loss_grad(
    embeddings: np.ndarray,
    labels: np.ndarray,
    margin: float = 1.0,
    temperature: float = 0.1,
    reduction: str = "mean",
    *,
    mode: str = "supcon",
    eps: float = 1e-8,
    grad_output: np.ndarray | None = None,
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
    check_reduction(reduction)
    check_contrastive(mode, margin, temperature, eps)
    e, labels = _check_embeddings(embeddings, labels)
    n = e.shape[0]
    if mode == "margin":
        i, j = np.triu_indices(n, 1)
        upstream = reduce_grad(i.shape, reduction, grad_output)
        diff = e[i] - e[j]
        d = np.sqrt(np.sum(diff * diff, axis=1) + eps)
        same = labels[i] == labels[j]
        coef = np.where(same, 1.0, -np.maximum(margin - d, 0.0) / d) * upstream  # (1')
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


def _check_triplet(anchor: np.ndarray, positive: np.ndarray, negative: np.ndarray, margin: float, p: float) -> None:
    if not (anchor.ndim == 2 and anchor.shape == positive.shape == negative.shape):
        raise ValueError(
            f"anchor, positive and negative must have the same shape (N, D); got anchor {anchor.shape}, "
            f"positive {positive.shape} and negative {negative.shape}"
        )
    if not margin >= 0:
        raise ValueError(f"margin must be >= 0; got {margin!r}")
    if not p >= 1:
        raise ValueError(f"p must be >= 1 (a norm); got {p!r}")


def _pnorm(v: np.ndarray, p: float) -> np.ndarray:
    return np.asarray(np.sum(np.abs(v) ** p, axis=1) ** (1.0 / p))


def _pnorm_grad(v: np.ndarray, norm: np.ndarray, p: float) -> np.ndarray:
    """d ||v||_p / dv = sign(v) |v|^(p-1) / ||v||^(p-1), 0 at v = 0."""
    safe = np.where(norm > 0, norm, 1.0)[:, None]
    return np.asarray(np.where(norm[:, None] > 0, np.sign(v) * (np.abs(v) / safe) ** (p - 1.0), 0.0))


def triplet_loss(
    anchor: np.ndarray,
    positive: np.ndarray,
    negative: np.ndarray,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: str = "mean",
) -> np.ndarray:
    """Triplet margin loss (Schroff et al. 2015, FaceNet, arXiv:1503.03832) with torch's conventions.

    .. math::

        d(a, b) = \\lVert a - b + \\epsilon \\rVert_p     \\tag{1}

    .. math::

        \\ell_n = \\max(d(a_n, p_n) - d(a_n, n_n) + m, 0)     \\tag{2}

    With ``swap`` (Balntas et al. 2016) the negative distance is :math:`\\min(d(a, n), d(p, n))`.
    The :math:`\\epsilon` added to the difference is torch's ``pairwise_distance``.

    Args:
        anchor, positive, negative: ``(N, D)`` each.
        margin: :math:`m \\ge 0`; p: norm degree :math:`\\ge 1`; eps: :math:`\\epsilon`.
        reduction: ``"none"`` (``(N,)``) | ``"mean"`` | ``"sum"``.

    Differs from torch: ``p < 1`` (not a norm) and ``margin < 0`` are errors; a hinge exactly at 0
    has gradient 0 (torch's ``clamp_min`` passes the gradient there).
    """
    check_reduction(reduction)
    a, pos, neg = (np.asarray(v, dtype=np.float64) for v in (anchor, positive, negative))
    _check_triplet(a, pos, neg, margin, p)
    d_pos = _pnorm(a - pos + eps, p)  # (1)
    d_neg = _pnorm(a - neg + eps, p)
    if swap:
        d_neg = np.where(_pnorm(pos - neg + eps, p) < d_neg, _pnorm(pos - neg + eps, p), d_neg)
    return reduce(np.maximum(d_pos - d_neg + margin, 0.0), reduction)  # (2)


def triplet_loss_grad(
    anchor: np.ndarray,
    positive: np.ndarray,
    negative: np.ndarray,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: str = "mean",
    *,
    grad_output: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """VJPs of :func:`triplet_loss` w.r.t. (anchor, positive, negative); 0 where the hinge is inactive (2')."""
    check_reduction(reduction)
    a, pos, neg = (np.asarray(v, dtype=np.float64) for v in (anchor, positive, negative))
    _check_triplet(a, pos, neg, margin, p)
    upstream = reduce_grad((a.shape[0],), reduction, grad_output)
    v_pos, v_neg, v_swap = a - pos + eps, a - neg + eps, pos - neg + eps
    d_pos, d_neg, d_swap = _pnorm(v_pos, p), _pnorm(v_neg, p), _pnorm(v_swap, p)
    swapped = (d_swap < d_neg) if swap else np.zeros(a.shape[0], dtype=bool)
    d_negative = np.where(swapped, d_swap, d_neg)
    active = (d_pos - d_negative + margin > 0) * upstream  # (2') hinge
    g_pos = _pnorm_grad(v_pos, d_pos, p) * active[:, None]
    g_neg = _pnorm_grad(v_neg, d_neg, p) * (active * ~swapped)[:, None]
    g_swap = _pnorm_grad(v_swap, d_swap, p) * (active * swapped)[:, None]
    return g_pos - g_neg, -g_pos - g_swap, g_neg + g_swap


def _check_cosine(x1: np.ndarray, x2: np.ndarray, y: np.ndarray, margin: float) -> None:
    if not (x1.ndim == 2 and x1.shape == x2.shape):
        raise ValueError(f"x1 and x2 must have the same shape (N, D); got x1 {x1.shape} and x2 {x2.shape}")
    if y.shape != (x1.shape[0],):
        raise ValueError(f"y must have shape (N,) = ({x1.shape[0]},); got {y.shape}")
    if not np.isin(y, (1, -1)).all():
        raise ValueError(f"y must hold 1 or -1; got {y[~np.isin(y, (1, -1))][0].item()!r}")
    if not -1 <= margin <= 1:
        raise ValueError(f"margin must be in [-1, 1]; got {margin!r}")


def _cosine(x1: np.ndarray, x2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    prod = np.sum(x1 * x2, axis=1)
    m1 = np.sum(x1 * x1, axis=1) + COSINE_EPS
    m2 = np.sum(x2 * x2, axis=1) + COSINE_EPS
    den = np.sqrt(m1 * m2)
    return prod / den, den, m1, m2  # (1) cos = x1 . x2 / sqrt((|x1|^2 + eps)(|x2|^2 + eps))


def cosine_embedding_loss(
    x1: np.ndarray, x2: np.ndarray, y: np.ndarray, margin: float = 0.0, reduction: str = "mean"
) -> np.ndarray:
    """Cosine embedding loss, as ``torch.nn.functional.cosine_embedding_loss``.

    .. math::

        \\cos_n = \\frac{x_{1n} \\cdot x_{2n}}{\\sqrt{(\\lVert x_{1n} \\rVert^2 + \\epsilon)(\\lVert x_{2n} \\rVert^2
        + \\epsilon)}}, \\quad \\epsilon = 10^{-12}     \\tag{1}

    .. math::

        \\ell_n = 1 - \\cos_n \\;(y_n = 1), \\qquad \\ell_n = \\max(0, \\cos_n - m) \\;(y_n = -1)     \\tag{2}

    Args:
        x1, x2: ``(N, D)``; y: ``(N,)`` of 1 or -1; margin: :math:`m \\in [-1, 1]`.
        reduction: ``"none"`` (``(N,)``) | ``"mean"`` | ``"sum"``.

    Differs from torch: ``y`` values other than 1 and -1 are an error (torch gives them loss 0).
    """
    check_reduction(reduction)
    a, b, y = np.asarray(x1, dtype=np.float64), np.asarray(x2, dtype=np.float64), np.asarray(y)
    _check_cosine(a, b, y, margin)
    cos, _, _, _ = _cosine(a, b)
    elementwise = np.where(y == 1, 1.0 - cos, np.maximum(cos - margin, 0.0))  # (2)
    return reduce(elementwise, reduction)


def cosine_embedding_loss_grad(
    x1: np.ndarray,
    x2: np.ndarray,
    y: np.ndarray,
    margin: float = 0.0,
    reduction: str = "mean",
    *,
    grad_output: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """VJPs of :func:`cosine_embedding_loss` w.r.t. (x1, x2).

    .. math::

        \\frac{\\partial \\cos}{\\partial x_1} = \\frac{x_2}{\\sqrt{m_1 m_2}} - \\cos \\frac{x_1}{m_1}, \\quad
        m_k = \\lVert x_k \\rVert^2 + \\epsilon     \\tag{1'}

    :math:`\\partial \\ell / \\partial \\cos` is -1 (:math:`y = 1`), 1 where :math:`\\cos \\ge m`
    (:math:`y = -1`, as torch's ``clamp_min``), else 0 (2').
    """
    check_reduction(reduction)
    a, b, y = np.asarray(x1, dtype=np.float64), np.asarray(x2, dtype=np.float64), np.asarray(y)
    _check_cosine(a, b, y, margin)
    upstream = reduce_grad((a.shape[0],), reduction, grad_output)
    cos, den, m1, m2 = _cosine(a, b)
    dl_dcos = np.where(y == 1, -1.0, np.where(cos - margin >= 0, 1.0, 0.0)) * upstream  # (2')
    g1 = b / den[:, None] - (cos / m1)[:, None] * a
    g2 = a / den[:, None] - (cos / m2)[:, None] * b
    return g1 * dl_dcos[:, None], g2 * dl_dcos[:, None]


def _check_kl(x: np.ndarray, t: np.ndarray, reduction: str) -> None:
    if reduction not in KL_REDUCTIONS:
        raise ValueError(f"reduction must be one of {KL_REDUCTIONS}; got {reduction!r}")
    if x.shape != t.shape:
        raise ValueError(f"input and target must have the same shape; got input {x.shape} and target {t.shape}")
    if x.ndim < 1:
        raise ValueError(f"input must have a batch dimension; got shape {x.shape}")


def kl_divergence_loss(
    input: np.ndarray, target: np.ndarray, reduction: str = "batchmean", log_target: bool = False
) -> np.ndarray:
    """KL divergence :math:`\\mathrm{KL}(t \\Vert q)` with ``input`` the log-probabilities :math:`\\log q`.

    .. math::

        \\ell_i = t_i (\\log t_i - x_i), \\quad 0 \\log 0 = 0     \\tag{1}

    or, with ``log_target=True`` (target given as :math:`\\log t`),
    :math:`\\ell_i = e^{t_i} (t_i - x_i)`. Reductions: ``"batchmean"`` (default) is the sum divided
    by the batch size ``input.shape[0]``, the KL divergence per sample when each row is a
    distribution; ``"mean"`` divides by the number of elements (torch's ``"mean"``, which is not the
    KL divergence); ``"sum"``, ``"none"``.

    Differs from ``torch.nn.functional.kl_div``: ``reduction`` defaults to ``"batchmean"`` (torch's
    default is ``"mean"``, and torch 2.13 warns that its ``"mean"`` will become ``"batchmean"``;
    here ``"mean"`` stays the element mean, and ``conformance/test_embedding_invariants.py``
    compares both with torch).
    """
    x, t = np.asarray(input, dtype=np.float64), np.asarray(target, dtype=np.float64)
    _check_kl(x, t, reduction)
    if log_target:
        elementwise = np.exp(t) * (t - x)  # (1) l = e^t (t - x)
    else:
        elementwise = xlogy(t, t) - t * x  # (1) l = t log t - t x, 0 log 0 = 0
    if reduction == "batchmean":
        return np.asarray(elementwise.sum() / x.shape[0])
    return reduce(elementwise, reduction)


def kl_divergence_loss_grad(
    input: np.ndarray,
    target: np.ndarray,
    reduction: str = "batchmean",
    log_target: bool = False,
    *,
    grad_output: np.ndarray | None = None,
) -> np.ndarray:
    """VJP of :func:`kl_divergence_loss` w.r.t. ``input``: :math:`-t` (or :math:`-e^{t}`) (1')."""
    x, t = np.asarray(input, dtype=np.float64), np.asarray(target, dtype=np.float64)
    _check_kl(x, t, reduction)
    if reduction == "batchmean":
        go = np.ones(()) if grad_output is None else np.asarray(grad_output, dtype=np.float64)
        upstream = np.broadcast_to(go / x.shape[0], x.shape)
    else:
        upstream = reduce_grad(x.shape, reduction, grad_output)
    return np.asarray(upstream * -(np.exp(t) if log_target else t))  # (1')
