"""Muon's orthogonalisation in bfloat16 (torch.optim.Muon's, lossopt.Muon's default) against the spec's float64,
and the audit of torch.optim.Muon and lossopt.Muon against the spec rule.

The float32 and float64 orthogonalisations are compared with the spec at their dtypes' tolerances by the
entry's drawn steps and golden trajectories (``ns_dtype=None``). bfloat16 has an 8-bit significand: each of the
quintic's 15 matrix products rounds to about 2^-9 relative, and the iteration amplifies an error in a singular
value by up to :math:`a = 3.4445` per step where that singular value is small. Measured on 2,000 matrices of
sides 1 to 32 (Gaussian, and of singular values log-uniform in [1e-4, 1]), the largest entry of
:math:`|O_{bf16} - O_{64}|` was 0.017 where every singular value is at least the Frobenius norm, 0.069 at
least 0.1 of it, 0.083 at least 0.01, and 0.42 below (a singular value of 1e-3 of the norm sits on the
quintic's steepest part: the two dtypes take it to different points of [0, 1.2]). The tolerance
:data:`BF16_ORTHOGONAL_ATOL` is for updates whose singular values are at least 0.01 of the norm.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import lossopt
from lossopt.optim.kernels.orthogonal import newton_schulz
from lossopt_spec.audit import audit
from lossopt_spec.optim.muon import newton_schulz as spec_newton_schulz

JORDAN = (3.4445, -4.775, 2.0315)
BF16_ORTHOGONAL_ATOL = 0.1  # measured 0.083 (module docstring); an entry of O is at most about 1.2
WELL_CONDITIONED = 0.01  # the smallest singular value, as a fraction of the Frobenius norm


@st.composite
def well_conditioned_matrices(draw: st.DrawFn) -> np.ndarray:
    rows, cols = draw(st.integers(1, 16)), draw(st.integers(1, 16))
    seed, scale = draw(st.integers(0, 2**32 - 1)), draw(st.sampled_from([1e-3, 1.0, 1e2]))
    matrix = scale * np.random.default_rng(seed).standard_normal((rows, cols))
    singular = np.linalg.svd(matrix, compute_uv=False)
    assume(singular.min() >= WELL_CONDITIONED * np.linalg.norm(matrix))
    return matrix


@settings(max_examples=200, deadline=None)
@given(matrix=well_conditioned_matrices(), steps=st.sampled_from([1, 3, 5]))
def test_the_bfloat16_orthogonalisation_is_the_specs_within_its_measured_tolerance(matrix, steps):
    expected = spec_newton_schulz(matrix, JORDAN, steps, 1e-7)
    stack = torch.tensor(matrix, dtype=torch.bfloat16)[None]
    ours = newton_schulz(stack, JORDAN, steps, 1e-7)[0].double().numpy()
    np.testing.assert_allclose(ours, expected, rtol=0, atol=BF16_ORTHOGONAL_ATOL)


@pytest.mark.parametrize("shape", [(3, 4), (7, 2), (16, 16)])
def test_lossopts_bfloat16_orthogonalisation_is_torch_optim_muons(shape):
    from torch.optim._muon import _zeropower_via_newtonschulz

    matrix = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    theirs = _zeropower_via_newtonschulz(matrix, JORDAN, 5, 1e-7)  # bfloat16 inside, whatever the input
    ours = newton_schulz(matrix.to(torch.bfloat16)[None], JORDAN, 5, 1e-7)[0]
    assert torch.equal(ours, theirs)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_optim_muon_conforms_to_the_spec_at_the_bfloat16_tolerance(dtype):
    # the problems' matrices (their vectors as (1, n) rows) are well conditioned: a parameter moves by at most
    # lr * s * BF16_ORTHOGONAL_ATOL off the spec's step; s <= sqrt(4/3) (tiny_mlp's (4, 3) weight)
    lr = 0.02
    atol = lr * np.sqrt(4 / 3) * BF16_ORTHOGONAL_ATOL
    result = audit(torch.optim.Muon, "muon", {"lr": lr}, examples=0, dtype=dtype, rtol=1e-10, atol=atol)
    assert result.conforms, result.render()
    assert [p.name for p in result.phases] == ["quadratic", "rosenbrock", "tiny_mlp"]
    assert result.largest.abs_error > 1e-5  # bfloat16 is not float64: the check sees the rounding


@pytest.mark.parametrize(
    "config",
    [
        {"lr": 0.02},
        {"lr": 0.05, "nesterov": False, "momentum": 0.9, "adjust_lr_fn": "match_rms_adamw", "weight_decay": 0.0},
    ],
    ids=["default", "plain-match-rms"],
)
def test_lossopt_muon_with_a_float64_orthogonalisation_conforms_at_the_audits_float64_tolerance(config):
    result = audit(lossopt.Muon, "muon", config, candidate_kwargs={"ns_dtype": torch.float64}, examples=40)
    assert result.conforms, result.render()
    assert result.tolerance == (1e-10, 1e-12)
    assert result.phases[-1].name == "hypothesis"
    assert result.phases[-1].examples >= 40
