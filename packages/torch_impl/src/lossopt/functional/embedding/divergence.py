"""The KL divergence of a target distribution from log-probabilities.

Mirrors ``lossopt_spec.losses.embedding.divergence``; equation tags match.
"""

from __future__ import annotations

import torch

from lossopt.functional.arguments import check_bool
from lossopt.functional.reduction import check_floating, check_tensor, compute_dtype, reduce, shape_of

KL_REDUCTIONS = ("none", "batchmean", "sum", "mean")


def check_kl_reduction(reduction: str) -> None:
    """``reduction`` is one of :data:`KL_REDUCTIONS` (``"batchmean"`` besides the usual three)."""
    if reduction not in KL_REDUCTIONS:
        raise ValueError(f"reduction must be one of {KL_REDUCTIONS}; got {reduction!r}")


def _check_kl(x: torch.Tensor, t: torch.Tensor, reduction: str) -> None:
    check_kl_reduction(reduction)
    check_floating("input", x)
    check_tensor("target", t)
    if x.shape != t.shape:
        raise ValueError(f"input and target must have the same shape; got input {shape_of(x)} and target {shape_of(t)}")
    if x.dim() < 1:
        raise ValueError(f"input must have a batch dimension; got shape {shape_of(x)}")


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
