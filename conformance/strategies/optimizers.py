"""Hypothesis strategies for optimizer hyperparameters and the states each rule can reach.

Hyperparameters cover every flag of the rule; states are fresh (zeros, or no buffer) or drawn
within what the rule can reach (``v >= 0``, ``vmax >= v``, ...). For RAdam and AdaBelief,
``beta2`` is drawn so that both branches of the rectification are exercised whatever step is
drawn: with ``beta2 <= 0.5`` (:math:`\\rho_\\infty \\le 3`) the rule never rectifies; with 0.9,
0.99 or 0.999 it takes the un-adapted step at small :math:`t` and the rectified one after.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance.strategies.common import float_arrays, flushed


@st.composite
def sgd_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """SGD hyperparameters covering momentum, dampening, Nesterov, weight decay and maximize."""
    momentum = draw(st.sampled_from([0.0, 0.5, 0.9, 0.99]))
    nesterov = momentum > 0 and draw(st.booleans())
    return {
        "lr": draw(st.sampled_from([1e-4, 1e-2, 0.1, 1.0])),
        "momentum": momentum,
        "dampening": 0.0 if nesterov else draw(st.sampled_from([0.0, 0.1, 0.9])),
        "weight_decay": draw(st.sampled_from([0.0, 1e-4, 0.1])),
        "nesterov": nesterov,
        "maximize": draw(st.booleans()),
    }


@st.composite
def sgd_states(draw: st.DrawFn, params: list[np.ndarray], hparams: dict[str, Any]) -> list[dict[str, Any]]:
    """A state reachable by SGD: no buffer (first step or no momentum) or a drawn buffer per parameter."""
    if hparams["momentum"] == 0 or draw(st.booleans()):
        return [{"momentum_buffer": None} for _ in params]
    return [{"momentum_buffer": draw(float_arrays(p.shape, bound=10.0))} for p in params]


def _warmup_and_clip(draw: st.DrawFn, warmup_steps: list[int]) -> dict[str, Any]:
    """Warmup and clipping, each off or on (``None``), with clip thresholds that do and do not clip."""
    return {
        "warmup_steps": draw(st.sampled_from(warmup_steps)),
        "max_grad_norm": draw(st.sampled_from([None, None, 0.5, 5.0, 1e4])),
    }


def _adaptive_hparams(draw: st.DrawFn, *, lrs: list[float], beta2s: list[float], epss: list[float]) -> dict[str, Any]:
    """``lr``, ``betas``, ``eps`` and ``weight_decay`` of an Adam-family rule (drawn in this order)."""
    return {
        "lr": draw(st.sampled_from(lrs)),
        "betas": (draw(st.sampled_from([0.0, 0.5, 0.9])), draw(st.sampled_from(beta2s))),
        "eps": draw(st.sampled_from(epss)),
        "weight_decay": draw(st.sampled_from([0.0, 1e-2, 0.5])),
    }


def _flags(draw: st.DrawFn, *names: str) -> dict[str, bool]:
    """Each flag on or off, drawn in the order named."""
    return {name: draw(st.booleans()) for name in names}


def _moment_states(
    draw: st.DrawFn, params: list[np.ndarray], *, second: str, maximum: str, amsgrad: bool, floor: float
) -> list[dict[str, Any]]:
    """Fresh (zeros) or drawn moments: ``exp_avg``, ``second >= floor`` and, for AMSGrad, the running
    ``maximum >= second`` (``None`` without AMSGrad)."""
    fresh = draw(st.booleans())
    states = []
    for p in params:
        if fresh:
            m, v = np.zeros(p.shape), np.zeros(p.shape)
        else:
            m = draw(float_arrays(p.shape, bound=10.0))
            v = np.abs(draw(float_arrays(p.shape, bound=100.0))) + floor
        v_max = None
        if amsgrad:
            v_max = v + (0.0 if fresh else np.abs(draw(float_arrays(p.shape, bound=10.0))))
        states.append({"step": 0.0, "exp_avg": m, second: v, maximum: v_max})
    return states


@st.composite
def schedule_clip_hparams(draw: st.DrawFn, *, cyclical: bool) -> dict[str, Any]:
    """Warmup, clipping (and, for SGD, the cosine cycle): off or on, thresholds that do and don't clip."""
    hparams = _warmup_and_clip(draw, [0, 0, 1, 7, 100, 2000])
    if cyclical:
        hparams["use_cyclical_lr"] = draw(st.booleans())
        hparams["cycle_length"] = draw(st.sampled_from([1, 3, 50, 1000]))
    return hparams


@st.composite
def advanced_sgd_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """:func:`sgd_hparams` plus warmup, clipping and the cyclical learning rate."""
    return {**draw(sgd_hparams()), **draw(schedule_clip_hparams(cyclical=True))}


@st.composite
def adam_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """Adam / AdamW hyperparameters: betas, eps, weight decay, AMSGrad, maximize, bias correction, warmup, clipping."""
    return {
        **_adaptive_hparams(draw, lrs=[1e-4, 1e-3, 0.1, 1.0], beta2s=[0.0, 0.9, 0.999], epss=[1e-8, 1e-3, 0.1]),
        **_flags(draw, "amsgrad", "maximize", "use_bias_correction"),
        **draw(schedule_clip_hparams(cyclical=False)),
    }


@st.composite
def adam_states(draw: st.DrawFn, params: list[np.ndarray], hparams: dict[str, Any]) -> list[dict[str, Any]]:
    """A state reachable by Adam: fresh (zeros) or drawn moments with v >= 0 and, for AMSGrad, vmax >= v."""
    return _moment_states(
        draw, params, second="exp_avg_sq", maximum="max_exp_avg_sq", amsgrad=hparams["amsgrad"], floor=0.0
    )


RECTIFIED_LRS = [1e-4, 1e-3, 1e-2, 0.1]
RECTIFIED_BETA2S = [0.0, 0.5, 0.9, 0.99, 0.999]  # both branches of the rectification (module docstring)


@st.composite
def warmup_clip_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """Warmup and clipping, each off or on, with thresholds that do and do not clip."""
    return _warmup_and_clip(draw, [0, 0, 1, 7, 100])


@st.composite
def radam_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """Every RAdam flag combination (degenerated_to_sgd x decoupled_weight_decay x maximize), warmup, clipping."""
    return {
        **_adaptive_hparams(draw, lrs=RECTIFIED_LRS, beta2s=RECTIFIED_BETA2S, epss=[1e-8, 1e-3, 0.1]),
        **_flags(draw, "degenerated_to_sgd", "decoupled_weight_decay", "maximize"),
        **draw(warmup_clip_hparams()),
    }


@st.composite
def adabelief_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """Every valid AdaBelief flag combination (amsgrad x weight_decouple x fixed_decay x rectify x degenerated_to_sgd).

    ``fixed_decay`` without ``weight_decouple`` is an error (tested in lossopt's own tests), so
    it is drawn only with ``weight_decouple``.
    """
    weight_decouple = draw(st.booleans())
    return {
        **_adaptive_hparams(draw, lrs=RECTIFIED_LRS, beta2s=RECTIFIED_BETA2S, epss=[1e-16, 1e-8, 1e-3]),
        "amsgrad": draw(st.booleans()),
        "weight_decouple": weight_decouple,
        "fixed_decay": weight_decouple and draw(st.booleans()),
        **_flags(draw, "rectify", "degenerated_to_sgd", "maximize"),
        **draw(warmup_clip_hparams()),
    }


@st.composite
def radam_states(draw: st.DrawFn, params: list[np.ndarray], hparams: dict[str, Any]) -> list[dict[str, Any]]:
    """A state reachable by RAdam: fresh (zeros) or drawn moments with v >= 0 and m^2 <= v.

    :math:`m^2 \\le v` holds on every trajectory with :math:`\\beta_1^2 \\le \\beta_2` (Cauchy-Schwarz on the two
    running averages); it keeps the normalized step :math:`m / \\sqrt{v}` at most 1, as in training.
    """
    fresh = draw(st.booleans())
    states = []
    for p in params:
        if fresh:
            m, v = np.zeros(p.shape), np.zeros(p.shape)
        else:
            v = np.abs(draw(float_arrays(p.shape, bound=100.0)))
            m = draw(float_arrays(p.shape, bound=1.0)) * np.sqrt(v)
        states.append({"step": 0.0, "exp_avg": m, "exp_avg_sq": v})
    return states


@st.composite
def adabelief_states(draw: st.DrawFn, params: list[np.ndarray], hparams: dict[str, Any]) -> list[dict[str, Any]]:
    """A state reachable by AdaBelief: fresh (zeros) or drawn, with s >= eps and, for amsgrad, s_hat >= s."""
    return _moment_states(
        draw, params, second="exp_avg_var", maximum="max_exp_avg_var", amsgrad=hparams["amsgrad"], floor=hparams["eps"]
    )


@st.composite
def muon_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """Muon: every flag (Nesterov, ``use_muon``, maximize), the three update scales, Newton–Schulz coefficients
    and steps, the AdamW groups' betas and eps, warmup and clipping. Learning rates are Muon's (up to 0.1): the
    update has unit spectral norm whatever the gradient's size, so float32 rounding of the iteration, amplified
    up to about :math:`a^k` (500 for five steps) where a singular value is tiny, stays inside float32's atol."""
    use_muon = draw(st.booleans())
    return {
        "lr": draw(st.sampled_from([1e-3, 0.02, 0.1])),
        "weight_decay": draw(st.sampled_from([0.0, 0.01, 0.1])),
        "momentum": draw(st.sampled_from([0.0, 0.5, 0.95])),
        "nesterov": draw(st.booleans()),
        "ns_coefficients": draw(st.sampled_from([(3.4445, -4.775, 2.0315), (1.5, -0.5, 0.0)])),
        "eps": draw(st.sampled_from([1e-7, 1e-3])) if use_muon else draw(st.sampled_from([1e-8, 1e-3, 0.1])),
        "ns_steps": draw(st.sampled_from([1, 3, 5])),
        "adjust_lr_fn": draw(st.sampled_from([None, "original", "match_rms_adamw"])),
        "use_muon": use_muon,
        "betas": (draw(st.sampled_from([0.0, 0.5, 0.9])), draw(st.sampled_from([0.0, 0.95, 0.999]))),
        "maximize": draw(st.booleans()),
        **draw(warmup_clip_hparams()),
    }


@st.composite
def muon_states(draw: st.DrawFn, params: list[np.ndarray], hparams: dict[str, Any]) -> list[dict[str, Any]]:
    """A state Muon can reach: momentum buffers (zeros or drawn) in a Muon group, AdamW's moments otherwise."""
    if not hparams["use_muon"]:
        states = _moment_states(draw, params, second="exp_avg_sq", maximum="-", amsgrad=False, floor=0.0)
        return [{**{k: v for k, v in s.items() if k != "-"}, "momentum_buffer": None} for s in states]
    fresh = draw(st.booleans())
    return [
        {
            "momentum_buffer": np.zeros(p.shape) if fresh else draw(float_arrays(p.shape, bound=10.0)),
            "step": None,
            "exp_avg": None,
            "exp_avg_sq": None,
        }
        for p in params
    ]


def _fresh_or_drawn(draw: st.DrawFn, shape: tuple[int, ...], *, fresh: bool, bound: float) -> np.ndarray:
    return np.zeros(shape) if fresh else draw(float_arrays(shape, bound=bound))


@st.composite
def _averaging_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """Schedule-Free's ``r`` and ``weight_lr_power`` (0: uniform weights), warmup, clipping and maximize."""
    return {
        "r": draw(st.sampled_from([0.0, 0.0, 1.0, 2.5])),
        "weight_lr_power": draw(st.sampled_from([2.0, 0.0, 1.0])),
        "maximize": draw(st.booleans()),
        **draw(warmup_clip_hparams()),
    }


@st.composite
def schedule_free_adamw_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """Schedule-Free AdamW: beta1 in (0, 1) (the interpolation), beta2 in [0, 1), eps, weight decay, the averaging."""
    return {
        "lr": draw(st.sampled_from([1e-3, 1e-2, 0.1, 1.0])),
        "betas": (draw(st.sampled_from([0.1, 0.5, 0.9])), draw(st.sampled_from([0.0, 0.9, 0.999]))),
        "eps": draw(st.sampled_from([1e-8, 1e-3, 0.1])),
        "weight_decay": draw(st.sampled_from([0.0, 1e-2, 0.5])),
        **draw(_averaging_hparams()),
    }


@st.composite
def schedule_free_sgd_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """Schedule-Free SGD: momentum in (0, 1) (the interpolation), weight decay, the averaging."""
    return {
        "lr": draw(st.sampled_from([1e-3, 1e-2, 0.1, 1.0])),
        "momentum": draw(st.sampled_from([0.1, 0.5, 0.9, 0.99])),
        "weight_decay": draw(st.sampled_from([0.0, 1e-2, 0.5])),
        **draw(_averaging_hparams()),
    }


@st.composite
def schedule_free_states(draw: st.DrawFn, params: list[np.ndarray], hparams: dict[str, Any]) -> list[dict[str, Any]]:
    """A state Schedule-Free can reach: ``z`` at the parameter (fresh) or drawn, ``exp_avg_sq >= 0`` for AdamW; the
    group's averages ``None`` (both sides replay them from the step: ``set_schedule_step`` on the torch side)."""
    fresh = draw(st.booleans())
    states = []
    for p in params:
        entries: dict[str, Any] = {"z": p.copy() if fresh else draw(float_arrays(p.shape, bound=10.0))}
        if "betas" in hparams:
            entries["exp_avg_sq"] = np.abs(_fresh_or_drawn(draw, p.shape, fresh=fresh, bound=100.0))
        states.append({**entries, "lr_max": None, "weight_sum": None})
    return states


@st.composite
def lion_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """Lion: beta1 0 or 1/2, so the sign of b1 m + (1 - b1) g is exact in every dtype (a non-dyadic beta1 rounds
    differently in float32 and float64, and a near-tie would flip a step of lr); beta2, decay, warmup, clipping."""
    return {
        "lr": draw(st.sampled_from([1e-4, 1e-3, 0.1, 1.0])),
        "betas": (draw(st.sampled_from([0.0, 0.5])), draw(st.sampled_from([0.0, 0.9, 0.99]))),
        "weight_decay": draw(st.sampled_from([0.0, 1e-2, 0.5])),
        "maximize": draw(st.booleans()),
        **draw(warmup_clip_hparams()),
    }


LION_FLUSH = 1e-30
"""Gradients and momenta below this are drawn as 0: float32 rounds b1 m + (1 - b1) g to 0 where float64 does not
(the smallest subnormal halved), and the sign turns that into a step of lr."""


@st.composite
def lion_states(draw: st.DrawFn, params: list[np.ndarray], hparams: dict[str, Any]) -> list[dict[str, Any]]:
    """A zero momentum (fresh) or a drawn one (no element below :data:`LION_FLUSH` but 0)."""
    fresh = draw(st.booleans())
    return [{"exp_avg": flushed(_fresh_or_drawn(draw, p.shape, fresh=fresh, bound=10.0), LION_FLUSH)} for p in params]


@st.composite
def adopt_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """ADOPT: betas, eps, L2 or decoupled decay, maximize, warmup, clipping."""
    return {
        **_adaptive_hparams(draw, lrs=[1e-4, 1e-3, 0.1, 1.0], beta2s=[0.0, 0.9, 0.9999], epss=[1e-6, 1e-3, 0.1]),
        **_flags(draw, "decouple", "maximize"),
        **draw(warmup_clip_hparams()),
    }


@st.composite
def adopt_states(draw: st.DrawFn, params: list[np.ndarray], hparams: dict[str, Any]) -> list[dict[str, Any]]:
    """Fresh (zeros) or drawn moments with ``v >= 0`` (a drawn state at step 1 is the first step: only v changes)."""
    fresh = draw(st.booleans())
    return [
        {
            "step": 0.0,
            "exp_avg": _fresh_or_drawn(draw, p.shape, fresh=fresh, bound=10.0),
            "exp_avg_sq": np.abs(_fresh_or_drawn(draw, p.shape, fresh=fresh, bound=100.0)),
        }
        for p in params
    ]
