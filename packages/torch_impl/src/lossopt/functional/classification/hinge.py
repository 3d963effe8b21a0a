"""The hinge loss: binary, or multi-class in the Crammer–Singer form.

Mirrors ``lossopt_spec.losses.classification.hinge`` statement for statement; equation tags match.
"""

from __future__ import annotations

import math

import torch

from lossopt.functional._checks import value_checks_apply
from lossopt.functional.arguments import check_real, finite_number
from lossopt.functional.classification.checks import check_targets_tensor, index_targets, is_index
from lossopt.functional.reduction import check_floating, check_reduction, compute_dtype, reduce


def check_margin(margin: float) -> None:
    if not (isinstance(margin, (int, float)) and finite_number(margin) and margin >= 0):
        raise ValueError(f"margin must be a finite number >= 0; got {margin!r}")
    check_real("margin", margin)


def _hinge_case(predictions: torch.Tensor, targets: torch.Tensor) -> str:
    """``"binary"`` for targets of the logits' shape, ``"multiclass"`` for integer targets one axis shorter."""
    shape, target_shape = tuple(predictions.shape), tuple(targets.shape)
    if shape == target_shape:
        return "binary"
    if is_index(targets) and predictions.ndim >= 2 and target_shape == shape[:1] + shape[2:]:
        return "multiclass"
    raise ValueError(
        f"hinge_loss takes binary targets of the predictions' shape, or class indices of shape (N, d1, ...) for "
        f"scores (N, C, d1, ...); got predictions {shape} and targets {target_shape}"
    )


def check_binary_labels(targets: torch.Tensor) -> None:
    if not value_checks_apply(targets):
        return
    bad = ~((targets == -1) | (targets == 0) | (targets == 1))
    if bool(bad.any()):
        index = tuple(int(i) for i in torch.nonzero(bad)[0].tolist())
        raise ValueError(
            f"binary targets must be labels in {{-1, 1}} or {{0, 1}}; got {float(targets[index])!r} at index {index}"
        )


def hinge_loss(
    predictions: torch.Tensor, targets: torch.Tensor, margin: float = 1.0, reduction: str = "mean"
) -> torch.Tensor:
    """Hinge loss: binary (7), or multi-class in the Crammer–Singer form (8).

    .. math::

        \\ell = \\max(0, m - y x) \\quad (7), \\qquad
        \\ell = \\max\\big(0, m + \\max_{j \\ne t} x_j - x_t\\big) \\quad (8)

    Binary when ``targets`` has the predictions' shape: labels in {-1, 1} or {0, 1} (a label > 0
    is the positive class; 0 and -1 the negative one). Multi-class when ``targets`` is an integer
    tensor of class indices ``(N, d1, ...)`` for scores ``(N, C, d1, ...)``: only the strongest
    rival class is penalised (Crammer & Singer 2001; scikit-learn's multi-class ``hinge_loss``),
    its gradient shared equally among tied rivals.

    Differs from torch: ``torch.nn.functional.multi_margin_loss`` is the Weston–Watkins form (every
    violating class, divided by C). The design document's binary hinge takes {-1, 1} only.

    Example:
        >>> import torch
        >>> from lossopt.functional import hinge_loss
        >>> # y x = 0.5 -> 0.5; y x = -2 (label 0 read as -1, x = 2) -> 3
        >>> hinge_loss(torch.tensor([0.5, 2.0]), torch.tensor([1.0, 0.0]), reduction="none")
        tensor([0.5000, 3.0000])
    """
    check_reduction(reduction)
    check_margin(margin)
    check_floating("predictions", predictions)
    check_targets_tensor(targets)
    out_dtype = predictions.dtype
    case = _hinge_case(predictions, targets)
    x = predictions.to(compute_dtype(predictions.dtype))
    if case == "binary":
        t = targets.to(x.dtype)
        check_binary_labels(t)
        y = torch.where(t > 0, 1.0, -1.0).to(x.dtype)  # (7) y = +1 for label 1, -1 for labels 0 and -1
        z = margin - y * x  # (7) z = margin - y x
    else:
        t = index_targets(x, targets, None).unsqueeze(1)
        x_t = x.gather(1, t).squeeze(1)
        rival = x.scatter(1, t, -math.inf).amax(dim=1)  # (8) max_{j != t} x_j (amax shares ties)
        z = margin + rival - x_t  # (8) z
    return reduce(torch.relu(z), reduction).to(out_dtype)
