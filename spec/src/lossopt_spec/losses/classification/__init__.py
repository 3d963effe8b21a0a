"""Classification losses: sigmoid focal (binary / multi-label), cross-entropy, softmax focal, hinge,
the cross-entropy of a linear projection.

Mirrored by ``lossopt.functional.classification`` module for module; equation tags match.
:mod:`~lossopt_spec.losses.classification.sigmoid` has the sigmoid focal loss (1)-(4),
:mod:`~lossopt_spec.losses.classification.softmax` the losses of class-index targets (cross-entropy
(1)-(2), softmax focal (5)-(6)), :mod:`~lossopt_spec.losses.classification.hinge` the hinge loss
(7)-(8), :mod:`~lossopt_spec.losses.classification.linear_cross_entropy` the cross-entropy of a linear
projection (its own tags), and :mod:`~lossopt_spec.losses.classification.checks` the checks they share.

Error messages are part of the contract: the torch side raises the same ``ValueError`` text
for the same input (``conformance/test_loss_errors.py``).
"""

from lossopt_spec.losses.classification.checks import check_class_indices, check_gamma, check_unit_interval
from lossopt_spec.losses.classification.hinge import check_binary_labels, check_margin, hinge_loss, hinge_loss_grad
from lossopt_spec.losses.classification.linear_cross_entropy import (
    check_linear_options,
    linear_cross_entropy_loss,
    linear_cross_entropy_loss_grad,
)
from lossopt_spec.losses.classification.sigmoid import check_sigmoid_alpha, sigmoid_focal_loss, sigmoid_focal_loss_grad
from lossopt_spec.losses.classification.softmax import (
    check_focal_alpha,
    check_label_smoothing,
    cross_entropy_loss,
    cross_entropy_loss_grad,
    focal_loss,
    focal_loss_grad,
)

__all__ = [
    "check_binary_labels",
    "check_class_indices",
    "check_focal_alpha",
    "check_gamma",
    "check_label_smoothing",
    "check_linear_options",
    "check_margin",
    "check_sigmoid_alpha",
    "check_unit_interval",
    "cross_entropy_loss",
    "cross_entropy_loss_grad",
    "focal_loss",
    "focal_loss_grad",
    "hinge_loss",
    "hinge_loss_grad",
    "linear_cross_entropy_loss",
    "linear_cross_entropy_loss_grad",
    "sigmoid_focal_loss",
    "sigmoid_focal_loss_grad",
]
