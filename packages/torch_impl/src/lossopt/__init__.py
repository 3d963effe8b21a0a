"""lossopt: PyTorch losses and optimizers that match an executable NumPy specification.

Functional losses live in :mod:`lossopt.functional`, their ``nn.Module`` wrappers in
:mod:`lossopt.nn`, optimizers in :mod:`lossopt.optim`; :func:`create_loss_function` and
:func:`create_optimizer` build any of them by its project-wide name.
"""

from typing import Any

from lossopt import compat, functional, nn
from lossopt.compat import *  # noqa: F403  # the design document's names (compat.__all__)
from lossopt.factory import LOSSES, OPTIMIZERS, create_loss_function, create_optimizer
from lossopt.nn import *  # noqa: F403  # every loss module (nn.__all__)
from lossopt.optim import ADOPT, SGD, Adam, AdamW, Lion, Muon, ScheduleFreeAdamW, ScheduleFreeSGD

__version__ = "0.1.0"

__all__ = [
    "ADOPT",
    "LOSSES",
    "OPTIMIZERS",
    "SGD",
    "Adam",
    "AdamW",
    "Lion",
    "Muon",
    "ScheduleFreeAdamW",
    "ScheduleFreeSGD",
    "__version__",
    "create_loss_function",
    "create_optimizer",
    "functional",
]
__all__ += compat.__all__
__all__ += nn.__all__

_EXAMPLES = ("LossFunctionExamples", "OptimizationExamples", "TrainingExamples", "LossOptimizationAnalysis")


def __getattr__(name: str) -> Any:
    # The design document's example classes load on first use, so `import lossopt` stays light.
    if name in _EXAMPLES:
        from lossopt import examples

        return getattr(examples, name)
    raise AttributeError(f"module 'lossopt' has no attribute {name!r}")
