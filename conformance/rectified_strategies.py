"""Hypothesis strategies for RAdam and AdaBelief hyperparameters and reachable states.

``beta2`` is drawn so that both branches of the rectification are exercised whatever step is
drawn: with ``beta2 <= 0.5`` (:math:`\\rho_\\infty \\le 3`) the rule never rectifies; with 0.9,
0.99 or 0.999 it takes the un-adapted step at small :math:`t` and the rectified one after.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import strategies as st

from conformance.strategies import float_arrays


@st.composite
def warmup_clip_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """Warmup and clipping, each off or on, with thresholds that do and do not clip."""
    return {
        "warmup_steps": draw(st.sampled_from([0, 0, 1, 7, 100])),
        "max_grad_norm": draw(st.sampled_from([None, None, 0.5, 5.0, 1e4])),
    }


@st.composite
def radam_hparams(draw: st.DrawFn) -> dict[str, Any]:
    """Every RAdam flag combination (degenerated_to_sgd x decoupled_weight_decay x maximize), warmup, clipping."""
    return {
        "lr": draw(st.sampled_from([1e-4, 1e-3, 1e-2, 0.1])),
        "betas": (draw(st.sampled_from([0.0, 0.5, 0.9])), draw(st.sampled_from([0.0, 0.5, 0.9, 0.99, 0.999]))),
        "eps": draw(st.sampled_from([1e-8, 1e-3, 0.1])),
        "weight_decay": draw(st.sampled_from([0.0, 1e-2, 0.5])),
        "degenerated_to_sgd": draw(st.booleans()),
        "decoupled_weight_decay": draw(st.booleans()),
        "maximize": draw(st.booleans()),
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
        "lr": draw(st.sampled_from([1e-4, 1e-3, 1e-2, 0.1])),
        "betas": (draw(st.sampled_from([0.0, 0.5, 0.9])), draw(st.sampled_from([0.0, 0.5, 0.9, 0.99, 0.999]))),
        "eps": draw(st.sampled_from([1e-16, 1e-8, 1e-3])),
        "weight_decay": draw(st.sampled_from([0.0, 1e-2, 0.5])),
        "amsgrad": draw(st.booleans()),
        "weight_decouple": weight_decouple,
        "fixed_decay": weight_decouple and draw(st.booleans()),
        "rectify": draw(st.booleans()),
        "degenerated_to_sgd": draw(st.booleans()),
        "maximize": draw(st.booleans()),
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
    fresh = draw(st.booleans())
    states = []
    for p in params:
        if fresh:
            m, s = np.zeros(p.shape), np.zeros(p.shape)
        else:
            m = draw(float_arrays(p.shape, bound=10.0))
            s = np.abs(draw(float_arrays(p.shape, bound=100.0))) + hparams["eps"]
        s_max = None
        if hparams["amsgrad"]:
            s_max = s + (0.0 if fresh else np.abs(draw(float_arrays(p.shape, bound=10.0))))
        states.append({"step": 0.0, "exp_avg": m, "exp_avg_var": s, "max_exp_avg_var": s_max})
    return states
