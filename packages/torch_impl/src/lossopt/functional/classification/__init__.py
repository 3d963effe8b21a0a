"""Classification losses: sigmoid focal (binary / multi-label), cross-entropy, softmax focal, hinge,
the cross-entropy of a linear projection (chunked: the logits never exist).

Mirrors ``lossopt_spec.losses.classification`` module for module; equation tags match.
Value checks (targets in [0, 1], class indices in range) follow :mod:`lossopt.functional._checks`:
on CPU tensors by default, on every device with ``set_value_checks("always")``.
"""

from lossopt.functional.classification.checks import check_class_indices, check_gamma
from lossopt.functional.classification.hinge import check_binary_labels, check_margin, hinge_loss
from lossopt.functional.classification.linear_cross_entropy import (
    check_linear_options,
    default_chunk_size,
    linear_cross_entropy_loss,
)
from lossopt.functional.classification.sigmoid import check_sigmoid_alpha, sigmoid_focal_loss
from lossopt.functional.classification.softmax import (
    check_focal_alpha,
    check_label_smoothing,
    cross_entropy_loss,
    focal_loss,
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
    "cross_entropy_loss",
    "default_chunk_size",
    "focal_loss",
    "hinge_loss",
    "linear_cross_entropy_loss",
    "sigmoid_focal_loss",
]
