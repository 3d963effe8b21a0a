"""The cosine embedding loss.

Mirrors ``lossopt_spec.losses.embedding.cosine``; equation tags match.
"""

from __future__ import annotations

import torch

from lossopt.functional._checks import value_checks_apply
from lossopt.functional.arguments import check_real
from lossopt.functional.reduction import check_floating, check_reduction, check_tensor, compute_dtype, reduce, shape_of

COSINE_EPS = 1e-12  # as torch's cosine_embedding_loss kernel


def _check_cosine(x1: torch.Tensor, x2: torch.Tensor, y: torch.Tensor, margin: float) -> None:
    check_floating("x1", x1)
    check_floating("x2", x2)
    check_tensor("y", y)
    if not (x1.dim() == 2 and x1.shape == x2.shape):
        raise ValueError(f"x1 and x2 must have the same shape (N, D); got x1 {shape_of(x1)} and x2 {shape_of(x2)}")
    if shape_of(y) != (x1.shape[0],):
        raise ValueError(f"y must have shape (N,) = ({x1.shape[0]},); got {shape_of(y)}")
    if value_checks_apply(y):  # reads y on the host: CPU tensors only by default
        bad = (y != 1) & (y != -1)
        if bool(bad.any()):
            raise ValueError(f"y must hold 1 or -1; got {y[bad][0].item()!r}")
    check_cosine_margin(margin)


def check_cosine_margin(margin: float) -> None:
    """The margin is a real number in [-1, 1], a cosine."""
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
