"""The golden trajectories and kernels of the registry's Adam, AdamW, SGD, Schedule-Free, Lion and ADOPT entries
(``registry.py``).

Schedule-Free's runs switch to eval mode and back after the steps ``mode_switches`` names (``GoldenCase``),
twice in a row once, and start with a warmup in two of three cases each.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from conformance.entries import GoldenCase
from conformance.tolerances import Tolerance

# --- Adam / AdamW implementations, and the golden cases of adamw, adam and sgd's warmup, clip and cycle -----

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

# --- Schedule-Free, Lion, ADOPT: the per-tensor loop, multi-tensor (default) and fused kernels -------------------
ELEMENTWISE_IMPLS: Mapping[str, Mapping[str, Any]] = {
    "single": {"foreach": False},
    "foreach": {"foreach": True},
    "fused": {"fused": True},
}
_SWITCHES = (50, 100, 101, 150, 200)  # eval mode and back after these steps (twice in a row at 100, 101)
# float32 rounding of each step's g^2 (or g) term adds up in a second moment (or Lion's momentum) averaged over
# 1 / (1 - beta2) = 100 to 10000 steps; the parameters inherit it through the normalized step. Measured worst
# errors over 200 steps, every kernel alike (so rounding, not a kernel defect), are in each case's comment; the
# other cases pass at the default float32 tolerance (rtol 1.3e-6, atol 1e-5).
_ACCUMULATED_FLOAT32 = {("trajectory", "float32"): Tolerance(rtol=1e-5, atol=1e-5)}
SCHEDULE_FREE_ADAMW_GOLDEN: tuple[GoldenCase, ...] = (
    GoldenCase(
        "default",
        {"lr": 0.05},
        "quadratic",
        steps=200,
        mode_switches=_SWITCHES,
        # exp_avg_sq relative error 4.0e-6; z (Adam's iterate, not averaged) absolute 1.2e-5 (1.03e-5 beyond rtol)
        tolerance_overrides={("trajectory", "float32"): Tolerance(rtol=1e-5, atol=2e-5)},
    ),
    GoldenCase(
        "warmup_wd_clip",
        {"lr": 0.02, "warmup_steps": 50, "weight_decay": 0.01, "max_grad_norm": 1.0},
        "tiny_mlp",
        steps=200,
        mode_switches=_SWITCHES,
    ),
    GoldenCase(
        "polynomial_warmup",
        {"lr": 0.01, "r": 1.0, "weight_lr_power": 1.0, "warmup_steps": 20, "betas": (0.95, 0.99)},
        "rosenbrock",
        steps=200,
        mode_switches=(20, 200),
        tolerance_overrides=_ACCUMULATED_FLOAT32,  # exp_avg_sq ~1e5: relative error 2.7e-6 (absolute 0.37)
    ),
)
SCHEDULE_FREE_SGD_GOLDEN: tuple[GoldenCase, ...] = (
    GoldenCase("default", {"lr": 0.05}, "quadratic", steps=200, mode_switches=_SWITCHES),
    GoldenCase(
        "warmup_wd",
        {"lr": 0.1, "warmup_steps": 50, "weight_decay": 1e-3},
        "tiny_mlp",
        steps=200,
        mode_switches=_SWITCHES,
    ),
    GoldenCase(
        "polynomial_warmup_clip",
        {"lr": 2e-4, "momentum": 0.5, "r": 2.0, "warmup_steps": 20, "max_grad_norm": 100.0},
        "rosenbrock",
        steps=200,
        mode_switches=(20, 200),
    ),
)
LION_GOLDEN: tuple[GoldenCase, ...] = (
    GoldenCase("default", {"lr": 0.01}, "quadratic", steps=200),
    GoldenCase(
        "wd_warmup_clip",
        {"lr": 3e-3, "weight_decay": 0.1, "warmup_steps": 20, "max_grad_norm": 1.0},
        "tiny_mlp",
        steps=200,
    ),
    GoldenCase(
        "betas",
        {"lr": 1e-3, "betas": (0.95, 0.98)},
        "rosenbrock",
        steps=200,
        tolerance_overrides=_ACCUMULATED_FLOAT32,  # exp_avg ~1e3: relative error 5.9e-6 (absolute 4.2e-3)
    ),
)
ADOPT_GOLDEN: tuple[GoldenCase, ...] = (
    GoldenCase(
        "default",
        {"lr": 0.05},
        "quadratic",
        steps=200,
        tolerance_overrides=_ACCUMULATED_FLOAT32,  # exp_avg_sq ~500: relative error 4.1e-6 (absolute 2.2e-3)
    ),
    GoldenCase(
        "decouple_warmup",
        {"lr": 0.01, "weight_decay": 0.1, "decouple": True, "warmup_steps": 20},
        "tiny_mlp",
        steps=200,
    ),
    GoldenCase(
        "l2_clip",
        {"lr": 0.01, "betas": (0.9, 0.999), "weight_decay": 1e-3, "max_grad_norm": 10.0},
        "rosenbrock",
        steps=200,
        tolerance_overrides=_ACCUMULATED_FLOAT32,  # exp_avg_sq: relative error 2.6e-6 (absolute 5.4e-5)
    ),
)
