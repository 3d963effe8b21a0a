"""Optimizers with planted bugs, for demonstrating and testing ``python -m lossopt_spec.audit``.

Each is ``torch.optim.SGD`` with one mistake that starts at a known step, so the audit must name
that step and that tensor::

    python -m lossopt_spec.audit conformance.audit_examples:LateLrSGD --rule sgd \\
        --config '{"lr": 5e-4, "momentum": 0.9}'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

BUG_STEP = 7


class LateLrSGD(torch.optim.SGD):
    """From step 7 on, updates with ``1.01 * lr`` (a schedule bug). The momentum buffer is unaffected.

    Expected audit: diverges at step 7 in ``param0`` (the first parameter), ``momentum_buffer`` still equal.
    """

    def __init__(self, params: Any, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self._steps = 0

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        self._steps += 1
        if self._steps == BUG_STEP:
            for group in self.param_groups:
                group["lr"] *= 1.01
        return super().step(closure)


class DampenedFirstStepSGD(torch.optim.SGD):
    """Applies dampening on the first step too: ``b_1 = (1 - tau) g_1`` instead of ``b_1 = g_1``.

    Expected audit (with ``dampening != 0``): diverges at step 1 in ``param0`` (the parameter moves
    by the wrong buffer; parameters are compared before the state).
    """

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        first = {p for group in self.param_groups for p in group["params"] if "momentum_buffer" not in self.state[p]}
        loss = super().step(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p in first and p.grad is not None and group["momentum"] != 0:
                    # undo b_1 = g and lr * g, redo with b_1 = (1 - tau) g
                    wrong = (1 - group["dampening"]) * p.grad
                    p.add_(p.grad - wrong, alpha=group["lr"])
                    self.state[p]["momentum_buffer"] = wrong.clone()
        return loss


def not_an_optimizer(params: Any, **kwargs: Any) -> object:
    """A callable that builds something other than an optimizer: the audit refuses it."""
    return object()
