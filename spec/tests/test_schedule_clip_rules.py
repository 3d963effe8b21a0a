"""The spec's warmup / cyclical factors and global-norm clipping: hand values and independent references."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lossopt_spec.optim.clip import CLIP_EPS, clip_coefficient, clipped_grads, global_grad_norm, update_groups
from lossopt_spec.optim.schedule import cyclical_factor, lr_factor, scheduled_lr, warmup_factor


def test_warmup_is_linear_from_the_first_step_and_never_zero():
    # W = 4: t = 1..4 -> 1/4, 2/4, 3/4, 1; then 1. (The design's snippet gives 0 at the first step.)
    assert [warmup_factor(t, 4) for t in range(1, 7)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert warmup_factor(1, 0) == 1.0


def test_cyclical_factor_by_hand():
    # W = 2, L = 4: t <= 2 -> 1; t = 3..6 -> phase 0, 1/4, 2/4, 3/4 -> (1 + cos(pi phase)) / 2; t = 7 restarts at 1
    expected = [1.0, 1.0, 1.0, (1 + math.cos(math.pi / 4)) / 2, 0.5, (1 + math.cos(3 * math.pi / 4)) / 2, 1.0]
    got = [cyclical_factor(t, 2, 4) for t in range(1, 8)]
    np.testing.assert_allclose(got, expected, rtol=1e-15, atol=1e-16)


@given(t=st.integers(1, 10_000), w=st.integers(0, 500), length=st.integers(1, 3000), cyclical=st.booleans())
def test_factor_is_in_zero_one_and_positive(t, w, length, cyclical):
    factor = lr_factor(t, warmup_steps=w, use_cyclical_lr=cyclical, cycle_length=length)
    assert 0.0 < factor <= 1.0


def test_scheduled_lr_multiplies_the_group_lr_and_defaults_to_off():
    assert scheduled_lr(3, {"lr": 0.1}) == 0.1
    assert scheduled_lr(1, {"lr": 0.1, "warmup_steps": 10}) == 0.1 * 0.1


def test_global_norm_is_the_norm_of_the_concatenation():
    grads = [np.arange(6.0).reshape(2, 3), np.array([-2.0]), np.zeros(0), np.array(3.0)]
    reference = np.linalg.norm(np.concatenate([g.ravel() for g in grads]))  # independent: LAPACK-free nrm2
    assert global_grad_norm(grads) == pytest.approx(reference, rel=1e-15)
    assert global_grad_norm([]) == 0.0


def test_clip_coefficient_as_clip_grad_norm_including_non_finite_norms():
    assert clip_coefficient(10.0, 1.0) == 1.0 / (10.0 + CLIP_EPS)
    assert clip_coefficient(0.5, 1.0) == 1.0
    assert clip_coefficient(math.inf, 1.0) == 0.0
    assert math.isnan(clip_coefficient(math.nan, 1.0))


def test_clipped_grads_leave_the_inputs_alone_and_inf_gives_nan_entries():
    grads = [np.array([3.0, 4.0])]
    out = clipped_grads(grads, {"max_grad_norm": 1.0}, None)
    np.testing.assert_allclose(out[0], [0.6, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(grads[0], [3.0, 4.0])
    np.testing.assert_array_equal(clipped_grads(grads, {"max_grad_norm": None}, 123.0)[0], [3.0, 4.0])
    with np.errstate(invalid="ignore"):
        out = clipped_grads([np.array([np.inf, 1.0])], {"max_grad_norm": 1.0}, None)
    assert np.isnan(out[0][0])
    assert out[0][1] == 0.0


def test_update_groups_passes_one_global_norm_to_every_group():
    seen = []

    def update(params, grads, state, step, hparams, *, grad_norm=None):
        seen.append(grad_norm)
        return params, state

    update_groups(
        update, [[np.zeros(2)], [np.zeros(1)]], [[np.array([3.0, 0.0])], [np.array([4.0])]], [[{}], [{}]], 1, [{}, {}]
    )
    assert seen == [5.0, 5.0]
