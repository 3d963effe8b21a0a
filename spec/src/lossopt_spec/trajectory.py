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

``groups`` puts the parameters in several groups (their indices and hyperparameter overrides), stepped
with one global gradient norm (``clip.update_groups``), as a torch optimizer steps its param groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lossopt_spec.optim.clip import update_groups
from lossopt_spec.optim.rule import UpdateRule
from lossopt_spec.problems import Problem

Groups = Sequence[tuple[Sequence[int], Mapping[str, Any]]]


def run_trajectory(
    rule: UpdateRule,
    hparams: Mapping[str, Any],
    problem: Problem,
    steps: int,
    groups: Groups | None = None,
    mode_switches: Sequence[int] = (),
) -> dict[str, np.ndarray]:
    """Run ``steps`` updates of ``rule`` from ``problem.initial_params``; see the module docstring."""
    if mode_switches and (rule.to_eval is None or rule.to_train is None):
        raise ValueError(f"{rule.name}: mode_switches {list(mode_switches)} for a rule without eval / train modes")
    if mode_switches and groups is not None:
        raise ValueError(f"{rule.name}: mode_switches with groups is not supported (one group per eval / train run)")
    evaluated: list[list[np.ndarray]] = [[] for _ in problem.initial_params]
    eval_losses = []
    params = [np.array(p, dtype=np.float64) for p in problem.initial_params]
    if groups is None:
        state = rule.init(params, hparams)
    else:
        group_hparams = [rule.hparams(**{**hparams, **overrides}) for _, overrides in groups]
        group_states = [
            rule.init([params[i] for i in indices], h) for (indices, _), h in zip(groups, group_hparams, strict=True)
        ]
        state = _flat(group_states, groups, len(params))
    losses = [problem.loss(params)]
    param_history = [[p] for p in params]
    state_history: dict[str, list[np.ndarray]] = {}
    for step in range(1, steps + 1):
        if groups is None:
            params, state = rule.update(params, problem.grad(params), state, step, hparams)
        else:
            grads = problem.grad(params)
            new_params, group_states = update_groups(
                rule.update,
                [[params[i] for i in indices] for indices, _ in groups],
                [[grads[i] for i in indices] for indices, _ in groups],
                group_states,
                step,
                group_hparams,
            )
            params, state = _flat(new_params, groups, len(params)), _flat(group_states, groups, len(params))
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


def _flat(per_group: Sequence[Sequence[Any]], groups: Groups, count: int) -> Any:
    """Values given per group back in the problem's parameter order."""
    flat: list[Any] = [None] * count
    for values, (indices, _) in zip(per_group, groups, strict=True):
        for index, value in zip(indices, values, strict=True):
            flat[index] = value
    return flat
