"""One lock-step step: the candidate and the spec update from the same parameters, state and gradient.

Each step starts the spec from the parameters and state the candidate holds (read back through
:mod:`lossopt_spec.audit.bridge`), and both sides get the same gradient, so rounding does not
accumulate across steps and the first step whose update differs is the step reported. Each
parameter group is updated by the rule with its own hyperparameters, with one gradient norm over
every group for clipping, as the torch optimizers do.

What is compared, per group and parameter: the parameter, then each of the rule's state entries
(under ``--rename`` names). Not divergences, but notes: state entries only the candidate keeps, an
entry of the rule the candidate does not keep (nothing to compare), and a ``step`` count kept per
group (``param_groups[i]["step"]``, as pytorch_optimizer does), which is compared there instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from lossopt_spec.audit.candidates import CallPlan, candidate_name
from lossopt_spec.audit.results import AuditError, CandidateFailed, Divergence, LargestError, failure_text
from lossopt_spec.optim import UpdateRule
from lossopt_spec.optim.clip import global_grad_norm
from lossopt_spec.tolerances import Tolerance, within


class Side:
    """The candidate optimizer over leaf tensors in groups, and the spec state that follows it."""

    def __init__(
        self,
        factory: Callable[..., Any],
        rule: UpdateRule,
        hparams: Mapping[str, Any],
        plan: CallPlan,
        candidate_kwargs: Mapping[str, Any],
        renames: Mapping[str, str],
        groups: Sequence[Sequence[np.ndarray]],
        overrides: Sequence[Mapping[str, Any]],
        dtype: str,
        device: str,
    ) -> None:
        import torch

        from lossopt_spec.audit import bridge  # imports torch: only once an audit runs

        self.bridge, self.rule, self.dtype = bridge, rule, dtype
        self.renames = dict(renames)
        self.hparams = [{**hparams, **o} for o in overrides]
        self.groups = [bridge.to_tensors(g, dtype, device) for g in groups]
        self.notes: list[str] = []
        if len(self.groups) == 1 and not overrides[0]:
            params: Any = self.groups[0]
        else:
            params = [
                {"params": g, **{self.renames.get(k, k): v for k, v in o.items() if self.renames.get(k) != "-"}}
                for g, o in zip(self.groups, overrides, strict=True)
            ]
        try:
            self.optimizer = factory(params, **plan.passed, **candidate_kwargs)
        except Exception as error:
            raise CandidateFailed(
                f"{candidate_name(factory)}(params, {_call_text({**plan.passed, **candidate_kwargs})}) raised "
                f"{failure_text(error)}"
            ) from error
        if not isinstance(self.optimizer, torch.optim.Optimizer):
            raise AuditError(
                f"{candidate_name(factory)}(...) returned {type(self.optimizer).__name__}, not an Optimizer"
            )
        if rule.to_train is not None and callable(getattr(self.optimizer, "train", None)):
            self.optimizer.train()  # type: ignore[attr-defined]  # a rule with train / eval modes: steps in train mode
        try:
            self.spec_state = [rule.init(self.held(g), h) for g, h in zip(self.groups, self.hparams, strict=True)]
        except (TypeError, ValueError) as error:
            raise AuditError(f"the spec rule {rule.name!r} refuses this configuration: {error}") from error

    def held(self, tensors: Sequence[Any]) -> list[np.ndarray]:
        """Copies of the values (a float64 CPU tensor's NumPy view would follow the candidate's in-place step)."""
        return [np.array(x, copy=True) for x in self.bridge.rounded(tensors)]

    def largest_magnitude(self) -> float:
        """The largest |value| of the candidate's parameters (inf or NaN past the finite range)."""
        values = [np.max(np.abs(p)) if p.size else 0.0 for g in self.groups for p in self.held(g)]
        return float(max(values, default=0.0))

    def _candidate_entry(self, group: int, tensor: Any, key: str) -> Any:
        name = self.renames.get(key, key)
        value = self.optimizer.state.get(tensor, {}).get(name)
        if value is None and key == "step" and name in self.optimizer.param_groups[group]:
            value = self.optimizer.param_groups[group][name]
            self._note(f"the candidate keeps '{name}' per parameter group, not per parameter: compared there")
        return value

    def _note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def _spec_state_from_candidate(self) -> list[list[dict[str, Any]]]:
        """The spec's state with each entry the candidate holds replaced by the candidate's value."""
        read = []
        for g, (tensors, states) in enumerate(zip(self.groups, self.spec_state, strict=True)):
            group_state = []
            for tensor, entries in zip(tensors, states, strict=True):
                entries = dict(entries)
                for key in self.rule.state_keys:
                    held = self._candidate_entry(g, tensor, key)
                    if key != "step" and entries.get(key) is not None and _is_tensor(held):
                        value = np.array(self.bridge.to_numpy(held), copy=True)
                        if value.shape == np.shape(entries[key]):
                            entries[key] = value
                group_state.append(entries)
            read.append(group_state)
        return read

    def step(
        self, step: int, grads: Sequence[Sequence[np.ndarray]], phase: str, tolerance: Tolerance
    ) -> tuple[list[Divergence], LargestError]:
        """One update on both sides from the candidate's parameters and state; the divergences and the largest error."""
        before = [self.held(g) for g in self.groups]
        for tensors, group_grads in zip(self.groups, grads, strict=True):
            self.bridge.set_grads(tensors, group_grads)
        held_grads = [self.held([p.grad for p in g]) for g in self.groups]
        state = self._spec_state_from_candidate()
        norm = global_grad_norm(x for g in held_grads for x in g)
        expected = []
        for params, group_grads, group_state, hparams in zip(before, held_grads, state, self.hparams, strict=True):
            extra = {"grad_norm": norm} if hparams.get("max_grad_norm") is not None else {}
            expected.append(self.rule.update(params, group_grads, group_state, step, hparams, **extra))
        try:
            self.optimizer.step()
        except Exception as error:
            raise CandidateFailed(
                f"the candidate raised in step() at step {step} of {phase}: {failure_text(error)}"
            ) from error
        found: list[Divergence] = []
        largest = LargestError()
        for g, (tensors, (want_params, want_state)) in enumerate(zip(self.groups, expected, strict=True)):
            for i, (tensor, want) in enumerate(zip(tensors, want_params, strict=True)):
                where = _Where(phase, step, g, i, tuple(np.shape(want)))
                got = self.bridge.to_numpy(tensor)
                self._compare(
                    got, np.asarray(want, np.float64), before[g][i], "param", where, tolerance, found, largest
                )
                for key in self.rule.state_keys:
                    self._compare_entry(
                        tensor, key, want_state[i].get(key), state[g][i].get(key), where, tolerance, found, largest
                    )
            self._note_extra_entries(tensors)
        self.spec_state = [s for _, s in expected]
        return found, largest

    def _compare_entry(
        self,
        tensor: Any,
        key: str,
        want: Any,
        previous: Any,
        where: _Where,
        tolerance: Tolerance,
        found: list[Divergence],
        largest: LargestError,
    ) -> None:
        name = self.renames.get(key, key)
        got = self._candidate_entry(where.group, tensor, key)
        if want is None and got is None:
            return
        if want is None:
            self._note(f"the candidate keeps '{name}' where the spec has no such entry (not compared)")
            return
        if got is None:
            hint = "" if key == "step" else f"; if it keeps it under another name, --rename {key}=NAME"
            self._note(f"the candidate keeps no '{name}' (the rule's state entry {key!r}): not compared{hint}")
            return
        got_array = self.bridge.to_numpy(got) if _is_tensor(got) else np.asarray(float(got))
        want_array = np.asarray(want, dtype=np.float64)
        if key == "step":
            got_array, want_array = got_array.reshape(()), want_array.reshape(())
        if got_array.shape != want_array.shape:
            self._note(
                f"the candidate's '{name}' has shape {got_array.shape}, the spec's {want_array.shape}: not compared"
            )
            return
        prior = None if previous is None or key == "step" else np.asarray(previous, dtype=np.float64)
        self._compare(got_array, want_array, prior, key, where, tolerance, found, largest)

    def _compare(
        self,
        got: np.ndarray,
        want: np.ndarray,
        before: np.ndarray | None,
        tensor: str,
        where: _Where,
        tolerance: Tolerance,
        found: list[Divergence],
        largest: LargestError,
    ) -> None:
        if got.shape != want.shape:
            found.append(
                where.divergence(tensor, detail=f"shape {got.shape} in the candidate vs {want.shape} in the spec")
            )
            return
        close = within(got, want, tolerance)
        if not close.all():
            from lossopt_spec.audit.precision import lower_precision, precision_detail  # imports torch

            index = tuple(int(i) for i in np.argwhere(~close)[0])
            narrow = lower_precision(got, want, before, self.dtype, ~close)
            found.append(
                where.divergence(
                    tensor,
                    index,
                    float(got[index]),
                    float(want[index]),
                    precision=narrow,
                    detail=precision_detail(narrow, self.dtype) if narrow else "",
                )
            )
        update_largest(largest, got, want, tolerance, f"{where.text()}, {tensor}")

    def _note_extra_entries(self, tensors: Sequence[Any]) -> None:
        known = {self.renames.get(k, k) for k in self.rule.state_keys}
        extra = sorted({k for t in tensors for k in self.optimizer.state.get(t, {}) if k not in known})
        if extra:
            self._note(f"the candidate keeps state entries the rule has none of: {extra} (not compared)")


class _Where:
    """Where a comparison is: phase, step, group, parameter and its shape."""

    def __init__(self, phase: str, step: int, group: int, parameter: int, shape: tuple[int, ...]) -> None:
        self.phase, self.step, self.group, self.parameter, self.shape = phase, step, group, parameter, shape

    def text(self) -> str:
        return f"step {self.step}, group {self.group}, parameter {self.parameter}"

    def divergence(
        self,
        tensor: str,
        index: tuple[int, ...] = (),
        candidate: float | None = None,
        spec: float | None = None,
        detail: str = "",
        precision: str = "",
    ) -> Divergence:
        return Divergence(
            self.phase,
            self.step,
            tensor,
            self.group,
            self.parameter,
            index,
            candidate,
            spec,
            self.shape,
            detail,
            precision,
        )


def update_largest(largest: LargestError, got: np.ndarray, want: np.ndarray, tolerance: Tolerance, where: str) -> None:
    """Keep in ``largest`` the finite element that used the largest fraction of its bound ``atol + rtol |want|``."""
    finite = np.isfinite(got) & np.isfinite(want)
    if not finite.any():
        return
    with np.errstate(all="ignore"):
        error = np.where(finite, np.abs(got - want), 0.0)
        fraction = error / (tolerance.atol + tolerance.rtol * np.abs(want))
    fraction = np.where(finite, np.nan_to_num(fraction, nan=0.0), 0.0)
    flat = int(np.argmax(fraction))
    if fraction.flat[flat] <= largest.fraction and largest.where:
        return
    index = np.unravel_index(flat, fraction.shape)
    spec_value = float(want[index])
    largest.fraction = float(fraction[index])
    largest.abs_error = float(error[index])
    largest.rel_error = largest.abs_error / abs(spec_value) if spec_value != 0 else None
    largest.where = where + (f"[{', '.join(str(int(i)) for i in index)}]" if index else "")


def _is_tensor(value: Any) -> bool:
    return hasattr(value, "detach")


def _call_text(kwargs: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
