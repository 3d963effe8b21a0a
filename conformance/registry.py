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
from conformance.strategies import (
    classification,
    common,
    embedding,
    multitask,
    optimizers,
    regression,
    segmentation,
)
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
            (Losses II:) integer arrays stay integer and non-array values pass through unchanged,
            see ``loss_harness.torch_inputs``.
        kwargs: strategy of the loss's other keyword arguments (besides ``reduction``).
        differentiable: the inputs whose gradient the spec gives (``<name>_loss_grad`` w.r.t. the first;
            with several, the spec returns a tuple in this order and every one is checked).
        reductions: the reductions the loss takes.
        dtypes: the dtypes its values and gradients are checked at.
        tolerance_overrides: (check, dtype) -> Tolerance, each with a comment saying why.
        generic: False opts the entry out of the generic value, gradient, module and reduction tests
            (inputs that are not arrays, such as ``multi_task``'s dicts); it then needs a dedicated test.
        kwargs_for: when set, ``kwargs_for(inputs)`` replaces ``kwargs``: keyword arguments that depend
            on the drawn inputs (quantile levels, one per last-axis prediction).
        mean_denominator: ``mean_denominator(inputs, kwargs)``, the documented divisor of ``"mean"``
            (a weighted count); ``None``: the number of elements of ``"none"``.
        batched: the inputs whose first axis is the batch (a batch split cuts these); ``()`` for a loss
            whose sum is not additive over the batch (Losses II: global Dice, pairs of the batch).
    """

    name: str
    torch_fn: Callable[..., torch.Tensor]
    inputs: st.SearchStrategy[dict[str, Any]]
    kwargs: st.SearchStrategy[dict[str, Any]] = field(default_factory=lambda: st.just({}))
    differentiable: tuple[str, ...] = ("predictions",)
    reductions: tuple[str, ...] = ("none", "mean", "sum")
    dtypes: tuple[str, ...] = ("float64", "float32", "bfloat16")
    tolerance_overrides: Overrides = field(default_factory=dict)
    generic: bool = True
    kwargs_for: Callable[[dict[str, Any]], st.SearchStrategy[dict[str, Any]]] | None = None
    mean_denominator: Callable[[dict[str, Any], dict[str, Any]], float] | None = None
    batched: tuple[str, ...] = ("predictions", "targets")

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
            inputs=common.same_shape_pair(),
        ),
        LossInfo(
            name="sigmoid_focal",
            torch_fn=lossopt.functional.sigmoid_focal_loss,
            inputs=classification.sigmoid_focal_inputs(),
            kwargs=classification.sigmoid_focal_kwargs(),
        ),
        LossInfo(name="mae", torch_fn=lossopt.functional.mae_loss, inputs=common.same_shape_pair()),
        LossInfo(
            name="huber",
            torch_fn=lossopt.functional.huber_loss,
            inputs=common.same_shape_pair(),
            kwargs=regression.huber_kwargs(),
        ),
        LossInfo(name="log_cosh", torch_fn=lossopt.functional.log_cosh_loss, inputs=common.same_shape_pair()),
        LossInfo(
            name="quantile",
            torch_fn=lossopt.functional.quantile_loss,
            inputs=regression.quantile_inputs(),
            kwargs_for=regression.quantile_kwargs,
        ),
        LossInfo(
            name="cross_entropy",
            torch_fn=lossopt.functional.cross_entropy_loss,
            inputs=classification.cross_entropy_inputs(),
            kwargs=classification.cross_entropy_kwargs(),
            mean_denominator=classification.cross_entropy_mean_denominator,
        ),
        LossInfo(
            name="focal",
            torch_fn=lossopt.functional.focal_loss,
            inputs=classification.focal_inputs(),
            kwargs_for=classification.focal_kwargs,
            mean_denominator=classification.focal_mean_denominator,
        ),
        LossInfo(
            name="hinge",
            torch_fn=lossopt.functional.hinge_loss,
            inputs=classification.hinge_inputs(),
            kwargs=classification.hinge_kwargs(),
        ),
        # Losses II: segmentation (options that depend on the shapes are drawn with the inputs)
        LossInfo(
            name="dice",
            torch_fn=lossopt.functional.dice_loss,
            inputs=segmentation.segmentation_inputs(),
            batched=(),  # batch=True (global overlap) is not a sum over samples
        ),
        LossInfo(
            name="iou",
            torch_fn=lossopt.functional.iou_loss,
            inputs=segmentation.segmentation_inputs(),
            batched=(),  # batch=True (global overlap) is not a sum over samples
        ),
        LossInfo(
            name="tversky",
            torch_fn=lossopt.functional.tversky_loss,
            inputs=segmentation.segmentation_inputs(),
            kwargs=segmentation.tversky_kwargs(),
            batched=(),  # batch=True (global overlap) is not a sum over samples
        ),
        LossInfo(
            name="bce_dice",
            torch_fn=lossopt.functional.bce_dice_loss,
            inputs=segmentation.segmentation_inputs(modes=("binary", "multilabel")),
            kwargs=segmentation.bce_dice_kwargs(),
            batched=(),  # batch=True (global overlap) is not a sum over samples
        ),
        LossInfo(
            name="focal_dice",
            torch_fn=lossopt.functional.focal_dice_loss,
            inputs=segmentation.segmentation_inputs(modes=("binary", "multilabel")),
            kwargs=segmentation.focal_dice_kwargs(),
            batched=(),  # batch=True (global overlap) is not a sum over samples
        ),
        # Losses II: embedding and distribution losses
        LossInfo(
            name="contrastive",
            torch_fn=lossopt.functional.contrastive_loss,
            inputs=embedding.labelled_embeddings(),
            kwargs=embedding.contrastive_kwargs(),
            differentiable=("embeddings",),
            batched=(),  # every pair of the batch: not a sum over samples
        ),
        LossInfo(
            name="triplet",
            torch_fn=lossopt.functional.triplet_loss,
            inputs=embedding.triplets(),
            kwargs_for=embedding.triplet_kwargs_for,
            differentiable=("anchor", "positive", "negative"),
            batched=("anchor", "positive", "negative"),
        ),
        LossInfo(
            name="cosine_embedding",
            torch_fn=lossopt.functional.cosine_embedding_loss,
            inputs=embedding.cosine_pairs(),
            kwargs=st.fixed_dictionaries({"margin": st.sampled_from([-0.5, 0.0, 0.5])}),
            differentiable=("x1", "x2"),
            batched=("x1", "x2", "y"),
        ),
        LossInfo(
            name="kl_divergence",
            torch_fn=lossopt.functional.kl_divergence_loss,
            inputs=embedding.distributions(),
            differentiable=("input",),
            reductions=("none", "batchmean", "sum", "mean"),
            batched=("input", "target"),
        ),
        # Losses II: dict inputs; value, gradient and invariants in conformance/test_multitask.py
        LossInfo(
            name="multi_task",
            torch_fn=lossopt.functional.multi_task_loss,
            inputs=multitask.multi_task_inputs(),
            reductions=(),
            generic=False,
        ),
    ]
}

# --- Optimizers I (adamw, adam, AdvancedSGD's extras): implementations and golden cases -------------------

# per-tensor loop, torch._foreach_*, torch's fused kernel, and the capturable (all-tensor counters) foreach path
ADAM_IMPLS: Mapping[str, Mapping[str, Any]] = {
    "single": {"foreach": False},
    "foreach": {"foreach": True},
    "fused": {"fused": True},
    "capturable": {"foreach": True, "capturable": True},
}
_WARMUP_CLIP = {"warmup_steps": 50, "max_grad_norm": 1.0}
ADAMW_GOLDEN: tuple[GoldenCase, ...] = (
    GoldenCase("default", {"lr": 0.05}, "quadratic", steps=200),
    GoldenCase(
        "amsgrad_wd",
        {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1},
        "rosenbrock",
        steps=200,
        # float32 rounding of Rosenbrock gradients (~1e2, squared into v ~2e4) accumulates in v over 200 steps:
        # measured rtol 4.3e-6 at worst (exp_avg_sq, every kernel alike, so rounding, not a kernel defect).
        tolerance_overrides={("trajectory", "float32"): Tolerance(rtol=1e-5, atol=1e-5)},
    ),
    GoldenCase("warmup_clip", {"lr": 0.05, **_WARMUP_CLIP}, "tiny_mlp", steps=200),
    GoldenCase(
        "warmup_clip",
        {"lr": 0.02, **_WARMUP_CLIP},
        "rosenbrock",
        steps=200,
        # torch takes gradients at its own float32 iterate; Rosenbrock's curvature (~1e3) turns the iterate's
        # rounding into gradient differences the clip coefficient passes into m, which crosses zero (no relative
        # tolerance holds there). Measured absolute error 1.0e-3 at worst over 200 steps (fused; 6.4e-4 others).
        tolerance_overrides={("trajectory", "float32"): Tolerance(rtol=1.3e-6, atol=2e-3)},
    ),
    GoldenCase("no_bias_correction", {"lr": 0.01, "use_bias_correction": False}, "tiny_mlp", steps=200),
)
ADAM_GOLDEN: tuple[GoldenCase, ...] = (
    GoldenCase(
        "default",
        {"lr": 0.05},
        "quadratic",
        steps=200,
        # curvatures up to 10 make v ~15 from g ~40; float32 rounding of v accumulates over 200 steps:
        # measured rtol 1.9e-6 at worst (exp_avg_sq, every kernel alike).
        tolerance_overrides={("trajectory", "float32"): Tolerance(rtol=4e-6, atol=1e-5)},
    ),
    GoldenCase("l2_amsgrad", {"lr": 0.02, "weight_decay": 0.01, "amsgrad": True}, "tiny_mlp", steps=200),
    GoldenCase(
        "warmup_clip",
        {"lr": 0.02, **_WARMUP_CLIP},
        "rosenbrock",
        steps=200,
        # as adamw's warmup_clip on rosenbrock: measured absolute error 3.0e-4 at worst (capturable; 1.9e-4 others).
        tolerance_overrides={("trajectory", "float32"): Tolerance(rtol=1.3e-6, atol=1e-3)},
    ),
)
_SGD_CYCLE = {"warmup_steps": 20, "max_grad_norm": 1.0, "use_cyclical_lr": True, "cycle_length": 50}
ADVANCED_SGD_GOLDEN: tuple[GoldenCase, ...] = (
    GoldenCase("warmup_clip_cyclical", {"lr": 0.05, "momentum": 0.9, **_SGD_CYCLE}, "quadratic", steps=200),
    GoldenCase("warmup_clip_cyclical", {"lr": 0.1, "momentum": 0.9, **_SGD_CYCLE}, "tiny_mlp", steps=200),
    GoldenCase(
        "warmup_clip_cyclical", {"lr": 1e-3, "momentum": 0.9, "nesterov": True, **_SGD_CYCLE}, "rosenbrock", steps=200
    ),
)

OPTIMIZER_INFOS: dict[str, OptimizerInfo] = {
    info.name: info
    for info in [
        OptimizerInfo(
            name="sgd",
            hparams=optimizers.advanced_sgd_hparams(),
            states=optimizers.sgd_states,
            impls={"single": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}},
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
                *ADVANCED_SGD_GOLDEN,
            ),
        ),
        OptimizerInfo(
            name="adamw",
            hparams=optimizers.adam_hparams(),
            states=optimizers.adam_states,
            impls=ADAM_IMPLS,
            golden=ADAMW_GOLDEN,
        ),
        OptimizerInfo(
            name="adam",
            hparams=optimizers.adam_hparams(),
            states=optimizers.adam_states,
            impls=ADAM_IMPLS,
            golden=ADAM_GOLDEN,
        ),
        OptimizerInfo(
            name="radam",
            hparams=optimizers.radam_hparams(),
            states=optimizers.radam_states,
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
            hparams=optimizers.adabelief_hparams(),
            states=optimizers.adabelief_states,
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
