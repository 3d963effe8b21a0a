"""One lock-step step: the candidate and the spec update from the same parameters, state and gradient.

Each step starts the spec from the parameters and state the candidate holds (read back through
:mod:`lossopt_spec.audit.bridge`), and both sides get the same gradient, so rounding does not
accumulate across steps and the first step whose update differs is the step reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from lossopt_spec.audit.candidates import accepted_hparams, candidate_name
from lossopt_spec.audit.results import AuditError, Diverged, Divergence, PhaseResult
from lossopt_spec.optim import UpdateRule
from lossopt_spec.tolerances import Tolerance, finite_errors, within


class Side:
    """The candidate optimizer over leaf tensors, and the spec state that follows it."""

    def __init__(
        self,
        factory: Callable[..., Any],
        rule: UpdateRule,
        hparams: Mapping[str, Any],
        candidate_kwargs: Mapping[str, Any],
        initial: Sequence[np.ndarray],
        dtype: str,
        device: str,
    ) -> None:
        import torch

        from lossopt_spec.audit import bridge  # imports torch: only once an audit runs

        self.bridge = bridge
        self.rule = rule
        self.hparams = dict(hparams)
        self.params = bridge.to_tensors(initial, dtype, device)
        passed = accepted_hparams(factory, rule, self.hparams)
        try:
            self.optimizer = factory(self.params, **passed, **candidate_kwargs)
        except TypeError as error:
            raise AuditError(
                f"{candidate_name(factory)} does not take the rule's hyperparameters "
                f"{sorted(self.hparams)} (+ {sorted(candidate_kwargs)}): {error}"
            ) from error
        if not isinstance(self.optimizer, torch.optim.Optimizer):
            raise AuditError(
                f"{candidate_name(factory)}(...) returned {type(self.optimizer).__name__}, not an Optimizer"
            )
        self.spec_state = rule.init(self.held_params(), self.hparams)

    def held_params(self) -> list[np.ndarray]:
        return self.bridge.rounded(self.params)

    def finite(self) -> bool:
        """Whether the candidate's parameters are all finite (past that, NaN equals NaN: nothing to learn)."""
        return all(np.isfinite(p).all() for p in self.held_params())

    def step(
        self, step: int, grads: Sequence[np.ndarray], phase: str, tolerance: Tolerance, result: PhaseResult
    ) -> None:
        """One update on both sides from the candidate's current parameters and state; compare."""
        bridge = self.bridge
        before = self.held_params()
        bridge.set_grads(self.params, grads)
        held_grads = bridge.rounded([p.grad for p in self.params if p.grad is not None])
        state = bridge.held_state(self.optimizer, self.params, self.spec_state, self.rule.state_keys)
        expected_params, expected_state = self.rule.update(before, held_grads, state, step, self.hparams)
        self.optimizer.step()
        result.steps += 1
        for i, (param, expected) in enumerate(zip(self.held_params(), expected_params, strict=True)):
            compare(param, np.asarray(expected, dtype=np.float64), phase, step, f"param{i}", tolerance, result)
        held = bridge.spec_state_as_tensors(self.optimizer, self.params, self.rule.state_keys)
        for i, (got_state, want_state) in enumerate(zip(held, expected_state, strict=True)):
            for key in self.rule.state_keys:
                want = want_state.get(key)
                got = got_state[key]
                name = f"{key}{i}"
                if want is None and got is None:
                    continue
                if want is None:
                    raise Diverged(
                        Divergence(phase, step, name, detail="the candidate holds this state entry; the spec has none")
                    )
                if got is None:
                    raise Diverged(
                        Divergence(phase, step, name, detail="the spec holds this state entry; the candidate has none")
                    )
                compare(bridge.to_numpy(got), np.asarray(want, dtype=np.float64), phase, step, name, tolerance, result)
        self.spec_state = expected_state


def compare(
    got: np.ndarray,
    want: np.ndarray,
    phase: str,
    step: int,
    name: str,
    tolerance: Tolerance,
    result: PhaseResult,
) -> None:
    """Raise :class:`Diverged` at the first element out of ``tolerance``; else note the largest errors in ``result``."""
    if got.shape != want.shape:
        raise Diverged(Divergence(phase, step, name, detail=f"shape {got.shape} in the candidate vs {want.shape}"))
    close = within(got, want, tolerance)
    if not close.all():
        index = tuple(int(i) for i in np.argwhere(~close)[0])
        raise Diverged(Divergence(phase, step, name, index, float(got[index]), float(want[index])))
    diff, rel = finite_errors(got, want)
    where = f"step {step}, {name}"
    if diff.size and diff.max() > result.max_abs_error:
        result.max_abs_error = float(diff.max())
        result.max_abs_where = where + _index_text(np.unravel_index(int(diff.argmax()), diff.shape))
    if rel.size and rel.max() > result.max_rel_error:
        result.max_rel_error = float(rel.max())
        result.max_rel_where = where + _index_text(np.unravel_index(int(rel.argmax()), rel.shape))


def _index_text(index: tuple[Any, ...]) -> str:
    return f"[{', '.join(str(int(i)) for i in index)}]" if index else ""
