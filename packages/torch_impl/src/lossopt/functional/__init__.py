"""Functional losses; each module mirrors the spec module of the same name in ``lossopt_spec.losses``."""

from lossopt.functional._reduction import REDUCTIONS
from lossopt.functional.regression import mse_loss

__all__ = ["REDUCTIONS", "mse_loss"]
