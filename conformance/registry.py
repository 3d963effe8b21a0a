"""The conformance registry: one entry per loss and optimizer, keyed by the project-wide name.

An entry (:mod:`conformance.entries`) joins the spec side (looked up by name in ``lossopt_spec``),
the torch side (looked up by name in ``lossopt.factory``, plus the functional form for losses),
the Hypothesis strategies that draw its inputs (:mod:`conformance.strategies`), and per-entry
tolerance overrides, which live only here, each with a comment saying why.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hypothesis import strategies as st

import lossopt
from conformance.entries import GoldenCase, Grouping, LossInfo, OptimizerInfo
from conformance.registry_golden import (
    ADAM_GOLDEN,
    ADAM_IMPLS,
    ADAMW_GOLDEN,
    ADOPT_GOLDEN,
    ADVANCED_SGD_GOLDEN,
    ELEMENTWISE_IMPLS,
    LION_GOLDEN,
    SCHEDULE_FREE_ADAMW_GOLDEN,
    SCHEDULE_FREE_SGD_GOLDEN,
)
from conformance.strategies import (
    classification,
    common,
    embedding,
    linear_cross_entropy,
    multitask,
    optimizers,
    regression,
    segmentation,
)
from conformance.tolerances import Tolerance

__all__ = ["LOSS_INFOS", "OPTIMIZER_INFOS", "GoldenCase", "LossInfo", "OptimizerInfo"]


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


# Muon orthogonalises in the parameters' dtype here (ns_dtype=None): float64 and float32 at their tolerances
# (bfloat16, torch's default, against the spec at its own measured tolerance: conformance/test_muon.py)
MUON_IMPLS: Mapping[str, Mapping[str, Any]] = {
    "single": {"foreach": False, "ns_dtype": None},
    "foreach": {"foreach": True, "ns_dtype": None},
}


def matrices_apart(shapes: Any) -> Grouping:
    """Muon's groups: tensors of 2 or more dims in a Muon group, the others in an AdamW group."""
    matrices = [i for i, shape in enumerate(shapes) if len(shape) >= 2]
    rest = [i for i, shape in enumerate(shapes) if len(shape) < 2]
    return [(indices, own) for indices, own in ((matrices, {}), (rest, {"use_muon": False})) if indices]


def _segmentation_entry(
    name: str,
    torch_fn: Callable[..., Any],
    *,
    kwargs: st.SearchStrategy[dict[str, Any]] | None = None,
    binary_only: bool = False,
) -> LossInfo:
    """A segmentation loss: binary and multilabel masks (and class indices unless ``binary_only``).

    ``batched=()``: with ``batch=True`` (one global overlap) the sum is not a sum over samples, so
    the batch-split checks do not apply.
    """
    if binary_only:
        inputs = segmentation.segmentation_inputs(modes=("binary", "multilabel"))
    else:
        inputs = segmentation.segmentation_inputs()
    return LossInfo(
        name=name,
        torch_fn=torch_fn,
        inputs=inputs,
        kwargs=st.just({}) if kwargs is None else kwargs,
        batched=(),
    )


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
        # segmentation: the options that depend on the shapes are drawn with the inputs
        _segmentation_entry("dice", lossopt.functional.dice_loss),
        _segmentation_entry("iou", lossopt.functional.iou_loss),
        _segmentation_entry("tversky", lossopt.functional.tversky_loss, kwargs=segmentation.tversky_kwargs()),
        _segmentation_entry(
            "bce_dice", lossopt.functional.bce_dice_loss, kwargs=segmentation.bce_dice_kwargs(), binary_only=True
        ),
        _segmentation_entry(
            "focal_dice", lossopt.functional.focal_dice_loss, kwargs=segmentation.focal_dice_kwargs(), binary_only=True
        ),
        # embedding and distribution losses
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
        LossInfo(
            name="linear_cross_entropy",
            torch_fn=lossopt.functional.linear_cross_entropy_loss,
            inputs=linear_cross_entropy.linear_cross_entropy_inputs(),  # with and without a bias
            kwargs=linear_cross_entropy.linear_cross_entropy_kwargs(),
            differentiable=("input", "linear_weight", "linear_bias"),
            # float16 / bfloat16: lossopt rounds the logits to the input dtype (as F.linear), which the spec's
            # float64 pipeline does not; conformance/test_linear_cross_entropy.py evaluates the spec on the
            # rounded logits instead, at a tolerance derived there
            dtypes=("float64", "float32"),
            mean_of=linear_cross_entropy.linear_cross_entropy_mean,
            batched=("input", "target"),
        ),
        # dict inputs: value, gradient and invariants in conformance/test_multitask.py
        LossInfo(
            name="multi_task",
            torch_fn=lossopt.functional.multi_task_loss,
            inputs=multitask.multi_task_inputs(),
            reductions=(),
            generic=False,
        ),
    ]
}

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
        OptimizerInfo(
            name="muon",
            hparams=optimizers.muon_hparams(),
            states=optimizers.muon_states,
            impls=MUON_IMPLS,
            params=common.parameter_groups(min_dims=2, max_dims=4, max_side=4),
            grouping=matrices_apart,
            flags={"ns_dtype": None},
            golden=(
                GoldenCase("default", {"lr": 0.02}, "tiny_mlp"),  # W1, W2 Muon's; b1, b2 AdamW's
                GoldenCase("conv_match_rms", {"lr": 0.01, "adjust_lr_fn": "match_rms_adamw"}, "tiny_conv"),
                GoldenCase(
                    "plain_warmup_clip_aux_adamw",
                    {"lr": 0.05, "momentum": 0.9, "nesterov": False, "warmup_steps": 5, "max_grad_norm": 1.0},
                    "quadratic",
                    groups=(((0,), {}), ((1,), {"use_muon": False, "lr": 0.01, "betas": (0.8, 0.95), "eps": 1e-10})),
                ),
            ),
        ),
        OptimizerInfo(
            name="schedule_free_adamw",
            hparams=optimizers.schedule_free_adamw_hparams(),
            states=optimizers.schedule_free_states,
            impls=ELEMENTWISE_IMPLS,
            golden=SCHEDULE_FREE_ADAMW_GOLDEN,
        ),
        OptimizerInfo(
            name="schedule_free_sgd",
            hparams=optimizers.schedule_free_sgd_hparams(),
            states=optimizers.schedule_free_states,
            impls=ELEMENTWISE_IMPLS,
            golden=SCHEDULE_FREE_SGD_GOLDEN,
        ),
        OptimizerInfo(
            name="lion",
            hparams=optimizers.lion_hparams(),
            states=optimizers.lion_states,
            impls=ELEMENTWISE_IMPLS,
            golden=LION_GOLDEN,
            params=common.parameter_groups(flush_below=optimizers.LION_FLUSH),  # the sign's discontinuity at 0
        ),
        OptimizerInfo(
            name="adopt",
            hparams=optimizers.adopt_hparams(),
            states=optimizers.adopt_states,
            impls=ELEMENTWISE_IMPLS,
            golden=ADOPT_GOLDEN,
        ),
    ]
}
