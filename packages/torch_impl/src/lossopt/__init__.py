"""lossopt: PyTorch losses and optimizers that match an executable NumPy specification.

Functional losses live in :mod:`lossopt.functional`, their ``nn.Module`` wrappers in
:mod:`lossopt.nn`, optimizers in :mod:`lossopt.optim`; :func:`create_loss_function` and
:func:`create_optimizer` build any of them by its project-wide name.
"""

from lossopt import functional
from lossopt.factory import LOSSES, OPTIMIZERS, create_loss_function, create_optimizer
from lossopt.nn import MSELoss
from lossopt.optim import SGD
from lossopt.optim.adabelief import AdaBelief
from lossopt.optim.radam import RAdam

__version__ = "0.1.0"

__all__ = [
    "LOSSES",
    "OPTIMIZERS",
    "SGD",
    "AdaBelief",
    "MSELoss",
    "RAdam",
    "__version__",
    "create_loss_function",
    "create_optimizer",
    "functional",
]
