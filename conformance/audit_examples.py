"""Optimizers and losses with planted bugs, for demonstrating and testing ``python -m lossopt_spec.audit``.

Each is a torch.optim optimizer (or a torch loss) with one mistake the audit must find, at a
known step, group and tensor::

    python -m lossopt_spec.audit conformance.audit_examples:LateLrSGD --rule sgd \\
        --config '{"lr": 5e-4, "momentum": 0.9}'

The kinds of bug: a schedule starting late (``LateLrSGD``), a first-step special case
(``DampenedFirstStepSGD``), weight decay after the update (``DecayAfterUpdateAdamW``), a bug only
in the second parameter group (``SecondGroupLrAdam``), one only in tensors over 32 elements
(``LargeTensorSGD``), float32 arithmetic on float64 parameters (``Float32AdamW``), and one
that is no bug: the step count kept per parameter group (``GroupStepAdam``, as pytorch_optimizer).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

BUG_STEP = 7
LARGE = 32  # LargeTensorSGD's bug: tensors with more elements than this


class _CountingSGD(torch.optim.SGD):
    """torch.optim.SGD that counts its steps in ``_steps`` (1 during the first ``step()``)."""

    def __init__(self, params: Any, **kwargs: Any) -> None:
        super().__init__(params, **kwargs)
        self._steps = 0

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        self._steps += 1
        self.before_step()
        return super().step(closure)

    def before_step(self) -> None:
        """What a planted bug does before each step."""


class LateLrSGD(_CountingSGD):
    """From step 7 on, updates with ``1.01 * lr`` (a schedule bug). The momentum buffer is unaffected.

    Expected audit: diverges at step 7 in the first parameter; ``momentum_buffer`` still equal.
    """

    def before_step(self) -> None:
        if self._steps == BUG_STEP:
            for group in self.param_groups:
                group["lr"] *= 1.01


class DampenedFirstStepSGD(torch.optim.SGD):
    """Applies dampening on the first step too: ``b_1 = (1 - tau) g_1`` instead of ``b_1 = g_1``.

    Expected audit (with ``dampening != 0``): diverges at step 1 in the first parameter (the
    parameter moves by the wrong buffer; parameters are compared before the state).
    """

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        first = {p for group in self.param_groups for p in group["params"] if "momentum_buffer" not in self.state[p]}
        loss = super().step(closure)
        for group in self.param_groups:
            for p in group["params"]:
                if p in first and p.grad is not None and group["momentum"] != 0:
                    # undo b_1 = g (weight decay included) and lr * b_1, redo with b_1 = (1 - tau) g
                    buffer = self.state[p]["momentum_buffer"]
                    wrong = (1 - group["dampening"]) * buffer
                    p.add_(buffer - wrong, alpha=group["lr"])
                    self.state[p]["momentum_buffer"] = wrong.clone()
        return loss


class DecayAfterUpdateAdamW(torch.optim.AdamW):
    """Decoupled weight decay applied after the Adam update, ``p <- (p - lr m / d)(1 - lr wd)``.

    The correct order decays first. At the defaults (lr 1e-3, weight decay 1e-2) the two differ
    by ``lr^2 wd m / d``, about 1e-8 per step: inside the conformance suite's float64 tolerance
    (1e-7), outside the audit's (rtol 1e-10). Expected audit: diverges at step 1 in a parameter.
    """

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        decays = [group["weight_decay"] for group in self.param_groups]
        for group in self.param_groups:
            group["weight_decay"] = 0.0
        try:
            loss = super().step(closure)
        finally:
            for group, decay in zip(self.param_groups, decays, strict=True):
                group["weight_decay"] = decay
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.mul_(1 - group["lr"] * group["weight_decay"])
        return loss


class SecondGroupLrAdam(torch.optim.Adam):
    """Every group after the first updates with ``1.001 * lr`` (a bug in per-group bookkeeping).

    Expected audit: the golden problems (one group) conform; a drawn example with two or more
    groups diverges at step 1 in group 1.
    """

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        rates = [group["lr"] for group in self.param_groups]
        for group in self.param_groups[1:]:
            group["lr"] = group["lr"] * 1.001
        try:
            return super().step(closure)
        finally:
            for group, lr in zip(self.param_groups, rates, strict=True):
                group["lr"] = lr


class LargeTensorSGD(torch.optim.SGD):
    """Tensors of more than 32 elements move by ``1.001 * lr`` (a bug of a blocked kernel's tail).

    Expected audit: the golden problems (tensors of at most 12 elements) conform; a drawn example
    with a tensor of over 32 elements diverges at step 1 in that tensor.
    """

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        before = {p: p.clone() for group in self.param_groups for p in group["params"] if p.numel() > LARGE}
        loss = super().step(closure)
        for p, old in before.items():
            p.add_(p - old, alpha=0.001)
        return loss


class Float32AdamW(torch.optim.AdamW):
    """Computes the AdamW update in float32 and adds it to the (float64) parameters.

    Expected audit in float64: diverges at step 1, with the divergence's ``precision`` "float32".
    """

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["step"] = torch.tensor(0.0)
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = int(state["step"].item())
                grad = p.grad.float()
                p.mul_(1 - group["lr"] * group["weight_decay"])
                exp_avg = state["exp_avg"].float().mul_(beta1).add_(grad, alpha=1 - beta1)
                exp_avg_sq = state["exp_avg_sq"].float().mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                denom = exp_avg_sq.sqrt() / math.sqrt(1 - beta2**t) + group["eps"]
                p.add_((exp_avg / denom).double(), alpha=-group["lr"] / (1 - beta1**t))
                state["exp_avg"].copy_(exp_avg)
                state["exp_avg_sq"].copy_(exp_avg_sq)
        return None


class GroupStepAdam(torch.optim.Adam):
    """torch.optim.Adam with its step count kept per parameter group, as pytorch_optimizer keeps it.

    Not a bug: the audit compares ``param_groups[i]["step"]`` instead and the candidate conforms.
    """

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and "step_count" in self.state[p]:
                    self.state[p]["step"] = self.state[p].pop("step_count")
        loss = super().step(closure)
        for group in self.param_groups:
            group["step"] = group.get("step", 0) + 1
            for p in group["params"]:
                if p in self.state and "step" in self.state[p]:
                    self.state[p]["step_count"] = self.state[p].pop("step")
        return loss


class RaisingSGD(_CountingSGD):
    """Raises ``RuntimeError`` in ``step()`` from step 3 on: the audit cannot run it (exit 2)."""

    def before_step(self) -> None:
        if self._steps >= 3:
            raise RuntimeError("kernel launch failed")


class RaisingOnLargeSGD(torch.optim.SGD):
    """Diverges on small tensors (lr 1.01 times too large) and raises on tensors over 32 elements.

    Two different failures in one Hypothesis search: the audit reports the divergence (exit 1).
    """

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        if any(p.numel() > LARGE for group in self.param_groups for p in group["params"]):
            raise ValueError("tensors over 32 elements are not supported")
        for group in self.param_groups:
            group["lr"] *= 1.01
        return super().step(closure)


def not_an_optimizer(params: Any, **kwargs: Any) -> object:
    """A callable that builds something other than an optimizer: the audit refuses it."""
    return object()


def mean_halved_huber(predictions: torch.Tensor, targets: torch.Tensor, *, delta: float = 1.0,
                      reduction: str = "mean") -> torch.Tensor:  # fmt: skip
    """``F.huber_loss`` with the quadratic branch as ``r^2`` instead of ``r^2 / 2``: a loss with a planted bug."""
    residual = predictions - targets
    magnitude = residual.abs()
    loss = torch.where(magnitude <= delta, residual * residual, delta * (magnitude - 0.5 * delta))
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()
