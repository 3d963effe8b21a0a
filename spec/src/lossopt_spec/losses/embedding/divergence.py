"""The KL divergence of a target distribution from log-probabilities.

Mirrored by ``lossopt.functional.embedding.divergence``; equation tags match.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import xlogy

from lossopt_spec.losses.reduction import reduce, reduce_grad
from lossopt_spec.losses.signature import Upstream, gradient_of, with_options

KL_REDUCTIONS = ("none", "batchmean", "sum", "mean")


def _check_kl(x: np.ndarray, t: np.ndarray, reduction: str) -> None:
    if reduction not in KL_REDUCTIONS:
        raise ValueError(f"reduction must be one of {KL_REDUCTIONS}; got {reduction!r}")
    if x.shape != t.shape:
        raise ValueError(f"input and target must have the same shape; got input {x.shape} and target {t.shape}")
    if x.ndim < 1:
        raise ValueError(f"input must have a batch dimension; got shape {x.shape}")


@dataclass(frozen=True)
class KLOptions:
    """The options of :func:`kl_divergence_loss` (``torch.nn.functional.kl_div``'s, ``"batchmean"`` the default)."""

    reduction: str = "batchmean"
    log_target: bool = False


@with_options(KLOptions)
def kl_divergence_loss(input: np.ndarray, target: np.ndarray, options: KLOptions) -> np.ndarray:
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
    reduction = options.reduction
    x, t = np.asarray(input, dtype=np.float64), np.asarray(target, dtype=np.float64)
    _check_kl(x, t, reduction)
    if options.log_target:
        elementwise = np.exp(t) * (t - x)  # (1) l = e^t (t - x)
    else:
        elementwise = xlogy(t, t) - t * x  # (1) l = t log t - t x, 0 log 0 = 0
    if reduction == "batchmean":
        return np.asarray(elementwise.sum() / x.shape[0])
    return reduce(elementwise, reduction)


@gradient_of(kl_divergence_loss)
def kl_divergence_loss_grad(
    input: np.ndarray, target: np.ndarray, options: KLOptions, grad_output: Upstream
) -> np.ndarray:
    """VJP of :func:`kl_divergence_loss` w.r.t. ``input``: :math:`-t` (or :math:`-e^{t}`) (1')."""
    reduction = options.reduction
    x, t = np.asarray(input, dtype=np.float64), np.asarray(target, dtype=np.float64)
    _check_kl(x, t, reduction)
    if reduction == "batchmean":
        go = np.ones(()) if grad_output is None else np.asarray(grad_output, dtype=np.float64)
        upstream = np.broadcast_to(go / x.shape[0], x.shape)
    else:
        upstream = reduce_grad(x.shape, reduction, grad_output)
    return np.asarray(upstream * -(np.exp(t) if options.log_target else t))  # (1')
