"""Multi-step runs of an update rule on a problem: what golden files store.

A trajectory of ``steps`` updates records, as float64 arrays,

- ``loss``: shape ``(steps + 1,)``, the objective before each update and after the last;
- ``param{i}``: shape ``(steps + 1, *shape_i)``, parameter ``i`` before each update and after the last;
- ``{key}{i}``: shape ``(steps, *shape_i)``, state entry ``key`` of parameter ``i`` after each update
  (entries that are ``None``, such as SGD's buffer without momentum, are not recorded);
- with ``mode_switches`` (a rule with ``to_eval`` / ``to_train``: Schedule-Free), after each of those steps the
  run switches to eval mode and back, as a training loop that evaluates does: ``eval_param{i}``, shape
  ``(len(mode_switches), *shape_i)``, the parameters to evaluate then, and ``eval_loss`` the objective there;
  the run continues from the training parameters the switch back gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lossopt_spec.optim.rule import UpdateRule
from lossopt_spec.problems import Problem


def run_trajectory(
    rule: UpdateRule, hparams: Mapping[str, Any], problem: Problem, steps: int, mode_switches: Sequence[int] = ()
) -> dict[str, np.ndarray]:
    """Run ``steps`` updates of ``rule`` from ``problem.initial_params``; see the module docstring."""
    if mode_switches and (rule.to_eval is None or rule.to_train is None):
        raise ValueError(f"{rule.name}: mode_switches {list(mode_switches)} for a rule without eval / train modes")
    evaluated: list[list[np.ndarray]] = [[] for _ in problem.initial_params]
    eval_losses = []
    params = [np.array(p, dtype=np.float64) for p in problem.initial_params]
    state = rule.init(params, hparams)
    losses = [problem.loss(params)]
    param_history = [[p] for p in params]
    state_history: dict[str, list[np.ndarray]] = {}
    for step in range(1, steps + 1):
        params, state = rule.update(params, problem.grad(params), state, step, hparams)
        losses.append(problem.loss(params))
        for i, p in enumerate(params):
            param_history[i].append(p)
        for i, param_state in enumerate(state):
            for key, value in param_state.items():
                if value is not None:
                    state_history.setdefault(f"{key}{i}", []).append(np.asarray(value, dtype=np.float64))
        if step in mode_switches:
            x = rule.to_eval(params, state, hparams)  # type: ignore[misc]
            eval_losses.append(problem.loss(x))
            for i, p in enumerate(x):
                evaluated[i].append(p)
            params = rule.to_train(x, state, hparams)  # type: ignore[misc]
    record = {"loss": np.asarray(losses)}
    record.update({f"param{i}": np.stack(h) for i, h in enumerate(param_history)})
    record.update({k: np.stack(v) for k, v in state_history.items()})
    if mode_switches:
        record["eval_loss"] = np.asarray(eval_losses)
        record.update({f"eval_param{i}": np.stack(h) for i, h in enumerate(evaluated)})
    return record
