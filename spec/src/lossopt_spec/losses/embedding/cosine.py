"""The cosine embedding loss and its gradients w.r.t. both inputs.

Mirrored by ``lossopt.functional.embedding.cosine``; equation tags match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossopt_spec.losses.reduction import Reduction, check_reduction, reduce, reduce_grad
from lossopt_spec.losses.signature import Upstream, gradient_of, with_options

COSINE_EPS = 1e-12  # as torch's cosine_embedding_loss kernel


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


@dataclass(frozen=True)
class CosineOptions(Reduction):
    """The options of :func:`cosine_embedding_loss`: the margin, then the reduction."""

    margin: float = 0.0


def _pair(x1: np.ndarray, x2: np.ndarray, y: np.ndarray, options: CosineOptions) -> tuple[np.ndarray, ...]:
    """x1, x2 as float64 and y, once the reduction, the shapes, the labels and the margin are valid."""
    check_reduction(options.reduction)
    a, b, y = np.asarray(x1, dtype=np.float64), np.asarray(x2, dtype=np.float64), np.asarray(y)
    _check_cosine(a, b, y, options.margin)
    return a, b, y


@with_options(CosineOptions)
def cosine_embedding_loss(x1: np.ndarray, x2: np.ndarray, y: np.ndarray, options: CosineOptions) -> np.ndarray:
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
    a, b, y = _pair(x1, x2, y, options)
    cos, _, _, _ = _cosine(a, b)
    elementwise = np.where(y == 1, 1.0 - cos, np.maximum(cos - options.margin, 0.0))  # (2)
    return reduce(elementwise, options.reduction)


@gradient_of(cosine_embedding_loss)
def cosine_embedding_loss_grad(
    x1: np.ndarray, x2: np.ndarray, y: np.ndarray, options: CosineOptions, grad_output: Upstream
) -> tuple[np.ndarray, np.ndarray]:
    """VJPs of :func:`cosine_embedding_loss` w.r.t. (x1, x2).

    .. math::

        \\frac{\\partial \\cos}{\\partial x_1} = \\frac{x_2}{\\sqrt{m_1 m_2}} - \\cos \\frac{x_1}{m_1}, \\quad
        m_k = \\lVert x_k \\rVert^2 + \\epsilon     \\tag{1'}

    :math:`\\partial \\ell / \\partial \\cos` is -1 (:math:`y = 1`), 1 where :math:`\\cos \\ge m`
    (:math:`y = -1`, as torch's ``clamp_min``), else 0 (2').
    """
    a, b, y = _pair(x1, x2, y, options)
    upstream = reduce_grad((a.shape[0],), options.reduction, grad_output)
    cos, den, m1, m2 = _cosine(a, b)
    dl_dcos = np.where(y == 1, -1.0, np.where(cos - options.margin >= 0, 1.0, 0.0)) * upstream  # (2')
    g1 = b / den[:, None] - (cos / m1)[:, None] * a
    g2 = a / den[:, None] - (cos / m2)[:, None] * b
    return g1 * dl_dcos[:, None], g2 * dl_dcos[:, None]
