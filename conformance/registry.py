"""The conformance registry: one entry per loss and optimizer, keyed by the project-wide name.

An entry joins the spec side (looked up by name in ``lossopt_spec``), the torch side (looked up
by name in ``lossopt.factory``, plus the functional form for losses), the Hypothesis strategies
that draw its inputs, and per-entry tolerance overrides (each with a comment saying why). The
spec and torch sides are looked up lazily so that a missing name fails ``test_registry.py`` with
a message naming it, instead of breaking the import of the whole suite.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch
from hypothesis import strategies as st
from torch import nn

import lossopt
import lossopt_spec
from conformance import rectified_strategies, strategies
from conformance.tolerances import Overrides, Tolerance
from lossopt_spec.losses import LossSpec
from lossopt_spec.optim import UpdateRule


@dataclass(frozen=True)
class LossInfo:
    """A loss under conformance.

    Attributes:
        name: the project-wide name.
        torch_fn: the functional form, called as ``torch_fn(**inputs, **kwargs, reduction=...)``.
        inputs: strategy of a dict of float64 input arrays, keyword names as the functions take them.
        kwargs: strategy of the loss's other keyword arguments (besides ``reduction``).
        differentiable: the inputs whose gradient the spec gives (``<name>_loss_grad`` w.r.t. the first).
        reductions: the reductions the loss takes.
        dtypes: the dtypes its values and gradients are checked at.
        tolerance_overrides: (check, dtype) -> Tolerance, each with a comment saying why.
    """

    name: str
    torch_fn: Callable[..., torch.Tensor]
    inputs: st.SearchStrategy[dict[str, Any]]
    kwargs: st.SearchStrategy[dict[str, Any]] = field(default_factory=lambda: st.just({}))
    differentiable: tuple[str, ...] = ("predictions",)
    reductions: tuple[str, ...] = ("none", "mean", "sum")
    dtypes: tuple[str, ...] = ("float64", "float32", "bfloat16")
    tolerance_overrides: Overrides = field(default_factory=dict)

    @property
    def spec(self) -> LossSpec:
        return lossopt_spec.LOSSES[self.name]

    @property
    def module(self) -> type[nn.Module]:
        return lossopt.LOSSES[self.name]


@dataclass(frozen=True)
class GoldenCase:
    """One golden trajectory: an optimizer configuration run on a problem from a seed."""

    config: str
    hparams: Mapping[str, Any]
    problem: str
    seed: int = 0
    steps: int = 50
    tolerance_overrides: Overrides = field(default_factory=dict)


@dataclass(frozen=True)
class OptimizerInfo:
    """An optimizer under conformance.

    Attributes:
        name: the project-wide name.
        hparams: strategy of keyword arguments, valid for both the spec rule and the torch class.
        states: ``states(params, hparams)``: strategy of spec states reachable by the rule.
        impls: implementation name -> the constructor flags that select it.
        golden: the golden trajectories of this optimizer.
        dtypes: the dtypes steps and trajectories are checked at.
        tolerance_overrides: (check, dtype) -> Tolerance, each with a comment saying why.
    """

    name: str
    hparams: st.SearchStrategy[dict[str, Any]]
    states: Callable[[list[Any], dict[str, Any]], st.SearchStrategy[list[dict[str, Any]]]]
    impls: Mapping[str, Mapping[str, Any]]
    golden: tuple[GoldenCase, ...] = ()
    dtypes: tuple[str, ...] = ("float64", "float32")
    tolerance_overrides: Overrides = field(default_factory=dict)

    @property
    def spec(self) -> UpdateRule:
        return lossopt_spec.OPTIMIZERS[self.name]

    @property
    def torch_cls(self) -> type[torch.optim.Optimizer]:
        return lossopt.OPTIMIZERS[self.name]


# RAdam and AdaBelief: per-tensor loop, multi-tensor (default) and the compiled single pass
RECTIFIED_IMPLS: Mapping[str, Mapping[str, Any]] = {
    "single": {"foreach": False},
    "foreach": {"foreach": True},
    "fused": {"fused": True},
}

# float32 trajectories of RAdam / AdaBelief over 200 steps: the second moment averages g^2 (or
# (g - m)^2) over ~1/(1 - beta2) = 100 to 1000 steps, so float32 rounding of each step's term adds
# up linearly instead of decaying, and the parameters inherit it through the normalized step.
# Measured worst errors (all three kernels alike, the fused within 1e-6 of the others): radam
# default/quadratic exp_avg_sq 7.5e-5 at |v| = 14 (5.3e-6 relative; needs atol 2.1e-5 at the default
# rtol), radam l2_warmup_clip/rosenbrock 3.5e-5 (atol 2.7e-5 needed), adabelief
# l2_no_sgd_warmup_clip/rosenbrock 1.2e-5 (atol 1.2e-5 needed). On the quadratic the error is
# relative to the moment's size: rtol 1e-5 (about 2x the worst relative error), atol unchanged.
# The other four cases pass at the default float32 tolerance.
RECTIFIED_FLOAT32_TRAJECTORY = Tolerance(rtol=1e-5, atol=1e-5)
# On Rosenbrock (curvature up to ~1200, clipped gradients of norm 10) the first moment crosses zero
# where no relative tolerance holds: the error there is absolute at the gradient's scale (measured
# 2.1e-5 at |m| = 0.9 for radam and 1.2e-5 at |m| = 0.09 for adabelief, all kernels): atol 1e-4.
RECTIFIED_FLOAT32_ROSENBROCK = Tolerance(rtol=1e-5, atol=1e-4)

LOSS_INFOS: dict[str, LossInfo] = {
    info.name: info
    for info in [
        LossInfo(
            name="mse",
            torch_fn=lossopt.functional.mse_loss,
            inputs=strategies.same_shape_pair(),
        ),
    ]
}

OPTIMIZER_INFOS: dict[str, OptimizerInfo] = {
    info.name: info
    for info in [
        OptimizerInfo(
            name="sgd",
            hparams=strategies.sgd_hparams(),
            states=strategies.sgd_states,
            impls={"single": {"foreach": False}, "foreach": {"foreach": True}},
            golden=(
                GoldenCase("plain", {"lr": 0.05}, "quadratic"),
                GoldenCase("momentum", {"lr": 0.02, "momentum": 0.9}, "quadratic"),
                GoldenCase("momentum", {"lr": 0.02, "momentum": 0.9}, "tiny_mlp"),
                GoldenCase(
                    "dampening_wd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1, "weight_decay": 1e-3}, "tiny_mlp"
                ),
                GoldenCase(
                    "nesterov",
                    {"lr": 2e-4, "momentum": 0.9, "nesterov": True},
                    "rosenbrock",
                    # Rosenbrock's gradients reach ~800, so float32 rounding of the buffer is ~5e-5 per
                    # update, and the buffer passes near zero where no relative tolerance holds
                    # (measured: 3.6e-4 at worst over 50 steps, both kernels). The error is absolute
                    # at the gradient's scale: atol 1e-3, rtol unchanged.
                    tolerance_overrides={("trajectory", "float32"): Tolerance(rtol=1.3e-6, atol=1e-3)},
                ),
            ),
        ),
        OptimizerInfo(
            name="radam",
            hparams=rectified_strategies.radam_hparams(),
            states=rectified_strategies.radam_states,
            impls=RECTIFIED_IMPLS,
            golden=(
                # every case starts in the un-adapted branch (rho_t <= 5 for t <= 5 with beta2 = 0.999,
                # t <= 6 with 0.99... ) and rectifies after: both branches in each file
                GoldenCase(
                    "default",
                    {"lr": 0.01},
                    "quadratic",
                    steps=200,
                    tolerance_overrides={("trajectory", "float32"): RECTIFIED_FLOAT32_TRAJECTORY},
                ),
                GoldenCase(
                    "decoupled_no_sgd",
                    {"lr": 0.01, "weight_decay": 0.05, "decoupled_weight_decay": True, "degenerated_to_sgd": False},
                    "tiny_mlp",
                    steps=200,
                ),
                GoldenCase(
                    "l2_warmup_clip",
                    {"lr": 0.01, "betas": (0.9, 0.99), "weight_decay": 1e-3, "warmup_steps": 20, "max_grad_norm": 10.0},
                    "rosenbrock",
                    steps=200,
                    tolerance_overrides={("trajectory", "float32"): RECTIFIED_FLOAT32_ROSENBROCK},
                ),
            ),
        ),
        OptimizerInfo(
            name="adabelief",
            hparams=rectified_strategies.adabelief_hparams(),
            states=rectified_strategies.adabelief_states,
            impls=RECTIFIED_IMPLS,
            golden=(
                GoldenCase("default", {"lr": 0.01}, "quadratic", steps=200),
                GoldenCase(
                    "amsgrad_no_rectify",
                    {"lr": 0.01, "amsgrad": True, "rectify": False, "weight_decay": 1e-2},
                    "tiny_mlp",
                    steps=200,
                ),
                GoldenCase(
                    "l2_no_sgd_warmup_clip",
                    {
                        "lr": 0.01,
                        "betas": (0.9, 0.99),
                        "weight_decay": 1e-3,
                        "weight_decouple": False,
                        "degenerated_to_sgd": False,
                        "warmup_steps": 20,
                        "max_grad_norm": 10.0,
                    },
                    "rosenbrock",
                    steps=200,
                    tolerance_overrides={("trajectory", "float32"): RECTIFIED_FLOAT32_ROSENBROCK},
                ),
                GoldenCase(
                    "fixed_decay_amsgrad",
                    {"lr": 0.01, "amsgrad": True, "fixed_decay": True, "weight_decay": 1e-3},
                    "tiny_mlp",
                    steps=200,
                ),
            ),
        ),
    ]
}
