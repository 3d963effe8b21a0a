"""The hinge loss: binary, or multi-class in the Crammer–Singer form.

Mirrored statement for statement by ``lossopt.functional.classification.hinge``; equation tags match.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lossopt_spec.losses.classification.checks import expand_class_axis, first_index, index_targets, is_index
from lossopt_spec.losses.reduction import Reduction, check_reduction, is_number, reduce, reduce_grad
from lossopt_spec.losses.signature import Upstream, gradient_of, with_options


def check_margin(margin: float) -> None:
    if not (is_number(margin) and math.isfinite(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0; got {margin!r}")


def _hinge_case(predictions: np.ndarray, targets: np.ndarray) -> str:
    """``"binary"`` for targets of the logits' shape, ``"multiclass"`` for integer targets one axis shorter."""
    predictions, targets = np.asarray(predictions), np.asarray(targets)
    if predictions.shape == targets.shape:
        return "binary"
    if is_index(targets) and predictions.ndim >= 2 and targets.shape == predictions.shape[:1] + predictions.shape[2:]:
        return "multiclass"
    raise ValueError(
        f"hinge_loss takes binary targets of the predictions' shape, or class indices of shape (N, d1, ...) for "
        f"scores (N, C, d1, ...); got predictions {predictions.shape} and targets {targets.shape}"
    )


def check_binary_labels(targets: np.ndarray) -> None:
    bad = ~np.isin(targets, (-1.0, 0.0, 1.0))
    if bad.any():
        index = first_index(bad)
        raise ValueError(
            f"binary targets must be labels in {{-1, 1}} or {{0, 1}}; got {float(targets[index])!r} at index {index}"
        )


def _hinge_terms(
    predictions: np.ndarray, targets: np.ndarray, margin: float
) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """(case, z, y or the rival mask, target one-hot) with the loss max(0, z)."""
    check_margin(margin)
    case = _hinge_case(predictions, targets)
    x = np.asarray(predictions, dtype=np.float64)
    if case == "binary":
        t = np.asarray(targets, dtype=np.float64)
        check_binary_labels(t)
        y = np.where(t > 0, 1.0, -1.0)  # (7) y = +1 for label 1, -1 for labels 0 and -1
        return case, margin - y * x, y, y  # (7) z = margin - y x
    t = index_targets(x, targets, None)
    onehot = np.moveaxis(np.eye(x.shape[1])[t], -1, 1)
    x_t = np.sum(x * onehot, axis=1)
    others = np.where(onehot > 0, -np.inf, x)
    rival = np.max(others, axis=1)  # (8) max_{j != t} x_j
    ties = (others == expand_class_axis(rival)).astype(np.float64)
    return case, margin + rival - x_t, ties / np.sum(ties, axis=1, keepdims=True), onehot  # (8) z


@dataclass(frozen=True)
class HingeOptions(Reduction):
    """The options of :func:`hinge_loss`: the margin, then the reduction."""

    margin: float = 1.0


@with_options(HingeOptions)
def hinge_loss(predictions: np.ndarray, targets: np.ndarray, options: HingeOptions) -> np.ndarray:
    """Hinge loss: binary, or multi-class in the Crammer–Singer form.

    Binary (``targets`` of the predictions' shape, labels in {-1, 1} or {0, 1}: a label > 0 is the
    positive class, 0 and -1 the negative one), with :math:`y = \\pm 1`:

    .. math::

        \\ell = \\max(0, m - y x)     \\tag{7}

    Multi-class (scores :math:`(N, C, d_1, \\ldots)`, class-index targets :math:`(N, d_1, \\ldots)`,
    ``C >= 2``), Crammer & Singer 2001 (*On the Algorithmic Implementation of Multiclass
    Kernel-based Vector Machines*, JMLR 2), the form of scikit-learn's multi-class ``hinge_loss``:

    .. math::

        \\ell = \\max\\big(0, m + \\max_{j \\ne t} x_j - x_t\\big)     \\tag{8}

    Differs from torch: ``torch.nn.functional.multi_margin_loss`` is the Weston–Watkins form
    :math:`\\sum_{j \\ne t} \\max(0, m - x_t + x_j) / C`, which penalises every violating class;
    Crammer–Singer penalises only the strongest rival. The design document's binary hinge
    takes labels {-1, 1} only; {0, 1} labels are accepted here too.
    """
    check_reduction(options.reduction)
    _, z, _, _ = _hinge_terms(predictions, targets, options.margin)
    return reduce(np.maximum(z, 0.0), options.reduction)


@gradient_of(hinge_loss)
def hinge_loss_grad(
    predictions: np.ndarray, targets: np.ndarray, options: HingeOptions, grad_output: Upstream
) -> np.ndarray:
    """VJP of :func:`hinge_loss`: where :math:`z > 0`, :math:`-y` (binary), or :math:`-1` on the
    target score and :math:`+1` on the rival, shared equally among tied rivals (multi-class); 0 where
    :math:`z \\le 0`. (7') (8')
    """
    check_reduction(options.reduction)
    case, z, rival_or_y, onehot = _hinge_terms(predictions, targets, options.margin)
    upstream = reduce_grad(z.shape, options.reduction, grad_output) * (z > 0)
    if case == "binary":
        grad: np.ndarray = upstream * -rival_or_y  # (7') dl/dx = -y where z > 0
        return grad
    result: np.ndarray = expand_class_axis(upstream) * (rival_or_y - onehot)  # (8') +1 rival(s), -1 target
    return result
