"""lossopt_spec: the NumPy/SciPy reference for lossopt's losses and optimizers.

Every loss is a pair of pure functions, ``<name>_loss`` (the value) and ``<name>_loss_grad``
(the vector-Jacobian product with respect to the predictions). Every optimizer is an
:class:`~lossopt_spec.optim.rule.UpdateRule` with ``init`` and ``update``. Both are found by
name in :data:`LOSSES` and :data:`OPTIMIZERS`, the names used everywhere in the project.
"""

from lossopt_spec.losses import LOSSES, LossSpec
from lossopt_spec.optim import OPTIMIZERS, UpdateRule

__version__ = "0.1.0"

__all__ = ["LOSSES", "OPTIMIZERS", "LossSpec", "UpdateRule", "__version__"]
