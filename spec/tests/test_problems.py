"""The trajectory problems: analytic gradients against finite differences, determinism."""

import numpy as np
import pytest
from finite_differences import central_difference

from lossopt_spec.optim import SGD_RULE
from lossopt_spec.problems import PROBLEMS
from lossopt_spec.trajectory import run_trajectory


@pytest.mark.parametrize("name", sorted(PROBLEMS))
@pytest.mark.parametrize("seed", [0, 1])
def test_problem_gradient_matches_central_differences(name, seed):
    problem = PROBLEMS[name](seed)
    rng = np.random.default_rng(seed + 100)
    params = [p + 0.1 * rng.standard_normal(p.shape) for p in problem.initial_params]
    analytic = problem.grad(params)
    for i, p in enumerate(params):

        def along_i(value, i=i):
            return problem.loss([value if j == i else q for j, q in enumerate(params)])

        np.testing.assert_allclose(analytic[i], central_difference(along_i, p), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", sorted(PROBLEMS))
def test_problem_is_deterministic_in_its_seed(name):
    a, b, c = PROBLEMS[name](3), PROBLEMS[name](3), PROBLEMS[name](4)
    for p, q in zip(a.initial_params, b.initial_params, strict=True):
        np.testing.assert_array_equal(p, q)
    assert a.loss(a.initial_params) != c.loss(c.initial_params)


def test_trajectory_records_params_state_and_losses():
    problem = PROBLEMS["quadratic"](0)
    record = run_trajectory(SGD_RULE, SGD_RULE.hparams(lr=0.05, momentum=0.9), problem, steps=5)
    assert record["loss"].shape == (6,)
    assert record["param0"].shape == (6, 3, 4)
    assert record["momentum_buffer1"].shape == (5, 5)
    np.testing.assert_array_equal(record["param0"][0], problem.initial_params[0])
    assert record["loss"][-1] < record["loss"][0]
