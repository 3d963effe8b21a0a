"""Checks of tensor *values* (class indices in range, probabilities in [0, 1]), and when they run.

Checking a value means reading it on the host: on a CUDA tensor that is a device synchronisation,
which must not happen on the hot path by default. So the policy is:

- ``"cpu"`` (the default): check tensors that live on the CPU (no synchronisation there), skip
  the others;
- ``"always"``: check on every device (each check synchronises with the GPU; for debugging);
- ``"never"``: check nothing.

Turn checks on for a debugging run with ``lossopt.functional.set_value_checks("always")`` or,
for a block, ``with lossopt.functional.value_checks("always"): ...``. Checks are skipped while
``torch.compile`` traces (a data-dependent branch would break the graph). Shapes and Python
hyperparameters are always checked: that needs no synchronisation.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

VALUE_CHECK_MODES = ("cpu", "always", "never")
_mode = "cpu"


def set_value_checks(mode: str) -> str:
    """Set when value checks run (``"cpu"``, ``"always"``, ``"never"``); returns the previous mode."""
    global _mode
    if mode not in VALUE_CHECK_MODES:
        raise ValueError(f"mode must be one of {VALUE_CHECK_MODES}; got {mode!r}")
    previous, _mode = _mode, mode
    return previous


@contextmanager
def value_checks(mode: str) -> Iterator[None]:
    """Run a block with value checks set to ``mode``, restoring the previous mode after it."""
    previous = set_value_checks(mode)
    try:
        yield
    finally:
        set_value_checks(previous)


def value_checks_apply(tensor: torch.Tensor) -> bool:
    """Whether a value check of ``tensor`` runs under the current mode."""
    if _mode == "never" or torch.compiler.is_compiling():
        return False
    return _mode == "always" or tensor.device.type == "cpu"


def _first_index(mask: torch.Tensor) -> tuple[int, ...]:
    return tuple(int(i) for i in torch.nonzero(mask)[0].tolist())


# Integer dtypes with no CPU comparison or aminmax kernel: compared as float64 (exact below 2**53, and larger
# values are still > 1)
_NO_COMPARISON = (torch.uint16, torch.uint32, torch.uint64)


def check_unit_interval(name: str, values: torch.Tensor) -> None:
    """``ValueError`` naming the argument, the first value outside [0, 1] and its index (when checks apply).

    Float and integer tensors alike (an integer mask must hold 0 and 1: a 0/255 PNG mask is refused)."""
    if not value_checks_apply(values):
        return
    if values.numel() == 0:
        return
    if values.dtype in _NO_COMPARISON:
        values = values.double()
    low, high = torch.aminmax(values)  # one read-only pass for the common case (NaN fails both tests below)
    if bool(low >= 0) and bool(high <= 1):
        return
    bad = ~((values >= 0) & (values <= 1))
    if bool(bad.any()):
        index = _first_index(bad)
        raise ValueError(f"{name} must be probabilities in [0, 1]; got {float(values[index])!r} at index {index}")
