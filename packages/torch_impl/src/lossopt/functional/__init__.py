"""Functional losses; each module mirrors the spec module of the same name in ``lossopt_spec.losses``."""

from lossopt.functional._checks import VALUE_CHECK_MODES, set_value_checks, value_checks
from lossopt.functional._reduction import REDUCTIONS
from lossopt.functional.classification import cross_entropy_loss, focal_loss, hinge_loss, sigmoid_focal_loss
from lossopt.functional.regression import huber_loss, log_cosh_loss, mae_loss, mse_loss, quantile_loss

__all__ = [
    "REDUCTIONS",
    "VALUE_CHECK_MODES",
    "cross_entropy_loss",
    "focal_loss",
    "hinge_loss",
    "huber_loss",
    "log_cosh_loss",
    "mae_loss",
    "mse_loss",
    "quantile_loss",
    "set_value_checks",
    "sigmoid_focal_loss",
    "value_checks",
]
