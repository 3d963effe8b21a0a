"""The per-tensor and multi-tensor kernels: a rule's per-tensor update, run over one parameter group.

Every kernel of :mod:`lossopt.optim.kernels` has one signature, ``kernel(rule, batch, inputs)``, and
returns the part of the batch it did not take (``None`` when it took everything), so that
:class:`~lossopt.optim.base.RuleOptimizer` can hand the rest to the next kernel:

- ``rule`` is the optimizer (it satisfies :class:`Rule`); ``batch`` the group's tensors
  (:class:`Batch`); ``inputs`` what the step prologue computed for the group (:class:`StepInputs`).
- :func:`per_tensor` (``foreach=False``) and :func:`foreach` (the default) prepare the gradients
  (:func:`prepared_grads`), evaluate the rule's scalars (:func:`step_scalars`) and call the rule's
  per-tensor update with :class:`~.lanes.Lane` (one tensor) or :class:`~.lanes.Lanes` (``torch._foreach_*``).

Skipped steps (``found_inf``, :mod:`lossopt.optim.kernels._nonfinite`) are data, not branches: the
gradients become zeros and the rule's scalars their "no change" values (a decay of 1, a step of 0).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from lossopt.optim.kernels.lanes import Lane, Lanes

LOW_PRECISION = (torch.float16, torch.bfloat16)
CPU_BLOCK_BYTES: int | None = 1 << 18
"""Bytes of parameters per multi-tensor block on a CPU (``None``: the whole list at once), sized so a block's
tensors and temporaries stay in a core's L2 cache between the update's statements."""
Group = Mapping[str, Any]


class Rule(Protocol):
    """What a kernel needs of a rule (every :class:`~lossopt.optim.base.RuleOptimizer` has it)."""

    first_step_differs: bool
    float32_arithmetic: bool
    host_arithmetic: bool

    def coupled_decay(self, group: Group) -> float: ...

    def scalars(self, group: Group, t: Any, lr: Any, skip: torch.Tensor | None) -> dict[str, Any]: ...

    update: Callable[..., None]


@dataclass
class Batch:
    """The tensors of one group that have gradients: parameters, gradients, state lists, counters.

    ``states`` holds one list per name of the rule's state (``None`` entries where a tensor has
    none, e.g. ``max_exp_avg_sq`` without AMSGrad); ``fresh`` marks the tensors whose state was
    created at this step; ``host_counters``: the ``step`` counters are the CPU ones ``torch.optim`` reads;
    ``sources``: the parameters as the group holds them (DTensors, complex tensors), where ``params`` are
    the local shards and real views the elementwise kernels update.
    """

    params: list[torch.Tensor]
    grads: list[torch.Tensor]
    states: list[list[torch.Tensor | None]]
    steps: list[torch.Tensor] = field(default_factory=list)
    fresh: list[bool] = field(default_factory=list)
    host_counters: bool = True
    sources: list[torch.Tensor] = field(default_factory=list)

    def subset(self, indices: Sequence[int]) -> Batch:
        states = [[tensors[i] for i in indices] for tensors in self.states]
        return Batch(
            [self.params[i] for i in indices],
            [self.grads[i] for i in indices],
            states,
            [self.steps[i] for i in indices] if self.steps else [],
            [self.fresh[i] for i in indices] if self.fresh else [],
            self.host_counters,
            [self.sources[i] for i in indices] if self.sources else [],
        )


@dataclass(frozen=True)
class StepInputs:
    """What the step prologue computed for one group.

    ``lr``: this step's learning rate (a float, or a 0-dim tensor never read back); ``multiplier``:
    the clip coefficient times ``GradScaler``'s :math:`1/S`, a 0-dim tensor (``None``: 1);
    ``found_inf``: skip the step where nonzero (``None``: no skipping).
    """

    group: Group
    lr: float | torch.Tensor
    multiplier: torch.Tensor | None
    found_inf: torch.Tensor | None


# --------------------------------------------------------------------------- the per-step scalars


class Scalars:
    """One tensor's (or one run's) scalars as attributes, ``s.neg_step_size`` (Dynamo traces it)."""

    first: bool = False
    """The update of tensors whose state is new (:attr:`Rule.first_step_differs`)."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            setattr(self, name, value)

    def __getattr__(self, name: str) -> Any:  # the rule's own names, set in __init__ (for type checkers)
        raise AttributeError(f"this step's scalars have no {name!r}")


@dataclass
class StepScalars:
    """A rule's scalars for a batch: ``uniform`` values (the same for every tensor) and ``per_tensor`` lists."""

    uniform: dict[str, Any]
    per_tensor: dict[str, list[Any]]

    def for_tensor(self, i: int) -> Scalars:
        return Scalars({**self.uniform, **{k: v[i] for k, v in self.per_tensor.items()}})

    def for_lists(self, indices: Sequence[int]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
        """``uniform`` and ``per_tensor`` of the tensors at ``indices``."""
        return self.uniform, {k: [v[i] for i in indices] for k, v in self.per_tensor.items()}

    def for_tensors(self, indices: Sequence[int]) -> Scalars:
        return Scalars({**self.uniform, **{k: [v[i] for i in indices] for k, v in self.per_tensor.items()}})


def step_scalars(rule: Rule, batch: Batch, inputs: StepInputs, like: torch.Tensor) -> StepScalars:
    """The rule's scalars for this step: Python numbers, or 0-dim tensors never read back to Python.

    - Host counters and a rule with ``host_arithmetic`` (Adam, SGD): the formula runs once per distinct
      step ``t`` (read from the CPU counters, no device sync), in Python float64 arithmetic as
      ``torch.optim``'s host kernels; a tensor ``lr`` or a possible skip only make some results tensors.
    - Otherwise (device counters: ``capturable``, fused Adam, ``skip_nonfinite``; or a rule that keeps
      even its CPU counters unread, RAdam and AdaBelief): once, on the stacked counters in float64, on
      their device; per-tensor results are split into 0-dim tensors.

    Tensors on the parameters' device are cast to their dtype; CPU scalars of accelerator parameters
    stay on the CPU (the kernels read them there, as ``torch.optim`` does).
    """
    group = inputs.group
    if not (rule.host_arithmetic and batch.host_counters) and batch.steps:
        t = torch.stack(batch.steps).to(torch.float64)
        skip = None if inputs.found_inf is None else inputs.found_inf.to(t.device, non_blocking=True) != 0
        uniform, per_tensor = {}, {}
        for key, value in rule.scalars(group, t, inputs.lr, skip).items():
            if isinstance(value, torch.Tensor) and value.dim() == 1:
                per_tensor[key] = list(_placed(value, like).unbind())
            else:
                uniform[key] = _placed(value, like)
        return StepScalars(uniform, per_tensor)
    skip = None if inputs.found_inf is None else inputs.found_inf.to(like.device, non_blocking=True) != 0
    host: list[float | None] = [float(step) for step in batch.steps] or [None]
    by_step = {t: rule.scalars(group, t, inputs.lr, skip) for t in dict.fromkeys(host)}
    first = next(iter(by_step.values()))
    same = {k for k, v in first.items() if all(_same(values[k], v) for values in by_step.values())}
    uniform = {k: _placed(first[k], like) for k in same}
    per_tensor = {k: [_placed(by_step[t][k], like) for t in host] for k in first if k not in same}
    return StepScalars(uniform, per_tensor)


def _same(a: Any, b: Any) -> bool:
    return a is b or (not isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor) and a == b)


def _placed(value: Any, like: torch.Tensor) -> Any:
    """A tensor scalar on ``like``'s device in its dtype; a CPU one of accelerator parameters stays as it is."""
    if isinstance(value, torch.Tensor) and value.device == like.device:
        return value.to(like.dtype)
    return value


# --------------------------------------------------------------------------- the gradients


def prepared_grads(
    grads: Sequence[torch.Tensor],
    params: Sequence[torch.Tensor],
    inputs: StepInputs,
    l2: float,
    *,
    per_tensor: bool,
) -> list[torch.Tensor]:
    """(c) :math:`\\kappa g`, (1) :math:`-g` with ``maximize``, (2) :math:`g + \\lambda \\theta` (L2), zeros on a skip.

    New tensors only where one of them applies; ``p.grad`` is never written. ``per_tensor``: plain
    tensor operations (the ``foreach=False`` path, also under autograd), else ``torch._foreach_*``.
    """
    maximize = bool(inputs.group.get("maximize", False))
    multiplier, found_inf = inputs.multiplier, inputs.found_inf
    if per_tensor:
        out = []
        for grad, param in zip(grads, params, strict=True):
            if multiplier is not None:
                grad = grad * multiplier.to(grad.device)  # (c) g <- kappa g
            if maximize:
                grad = -grad  # (1) g <- -g
            if l2 != 0:
                grad = grad.add(param, alpha=l2)  # (2) g <- g + wd p
            if found_inf is not None:
                grad = torch.where(
                    found_inf.to(grad.device) != 0, torch.zeros((), dtype=grad.dtype, device=grad.device), grad
                )
            out.append(grad)
        return out
    out, owned = list(grads), False  # owned: the list holds temporaries of this step, never p.grad
    if multiplier is not None:
        out, owned = list(torch._foreach_mul(out, multiplier.to(out[0].device))), True  # (c) g <- kappa g
    if maximize:
        if owned:
            torch._foreach_neg_(out)  # (1) g <- -g
        else:
            out, owned = list(torch._foreach_neg(out)), True  # (1) g <- -g
    if l2 != 0:
        if owned:
            torch._foreach_add_(out, list(params), alpha=l2)  # (2) g <- g + wd p
        else:
            out = list(torch._foreach_add(out, list(params), alpha=l2))  # (2) g <- g + wd p
    if found_inf is not None:
        skip = found_inf.to(out[0].device) != 0
        zero = torch.zeros((), dtype=out[0].dtype, device=out[0].device)
        out = [torch.where(skip, zero, g) for g in out]  # a skipped step: g = 0 (inf and NaN replaced)
    return out


def _upcast(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """float32 copies of float16/bfloat16 tensors (the others as they are), for the update's arithmetic."""
    return [t.float() if t.dtype in LOW_PRECISION else t for t in tensors]


def _write_back(originals: Sequence[torch.Tensor], computed: Sequence[torch.Tensor]) -> None:
    pairs = [(o, c) for o, c in zip(originals, computed, strict=True) if o is not c]
    if pairs:
        torch._foreach_copy_([o for o, _ in pairs], [c for _, c in pairs])


# --------------------------------------------------------------------------- the two kernels


def _prepared(
    rule: Rule, batch: Batch, inputs: StepInputs, per_tensor: bool, scalars: StepScalars | None = None
) -> tuple[list[Any], list[Any], StepScalars]:
    """The update's parameters and gradients (float32 copies where the rule computes in float32), and its scalars
    (``scalars`` where given: those of this batch, computed once for the blocks of a larger one)."""
    params = _upcast(batch.params) if rule.float32_arithmetic else batch.params
    grads = _upcast(batch.grads) if rule.float32_arithmetic else batch.grads
    l2 = rule.coupled_decay(inputs.group)
    grads = prepared_grads(grads, params, inputs, l2, per_tensor=per_tensor)
    return params, grads, step_scalars(rule, batch, inputs, params[0]) if scalars is None else scalars


def per_tensor(rule: Rule, batch: Batch, inputs: StepInputs) -> None:
    """``foreach=False``: the rule's update tensor by tensor, through :class:`~lossopt.optim.kernels.lanes.Lane`."""
    params, grads, scalars = _prepared(rule, batch, inputs, per_tensor=True)
    for i, param in enumerate(params):
        s = scalars.for_tensor(i)
        s.first = batch.fresh[i] if batch.fresh else False
        states = [None if state[i] is None else Lane(state[i]) for state in batch.states]  # type: ignore[arg-type]
        rule.update(Lane(param), Lane(grads[i]), *states, s)
    if rule.float32_arithmetic:
        _write_back(batch.params, params)


def _blocks(batch: Batch, indices: list[int], device: torch.device) -> list[list[int]]:
    """``indices`` in runs of about :data:`CPU_BLOCK_BYTES` per parameter list on a CPU (one run elsewhere).

    A CPU runs a ``torch._foreach_*`` op tensor by tensor, so a block's update is the same arithmetic as the
    whole list's: only its temporaries and operands stay in the core's cache from one statement to the next.
    """
    if device.type != "cpu" or CPU_BLOCK_BYTES is None:
        return [indices]
    blocks: list[list[int]] = [[]]
    size = 0
    for i in indices:
        if size >= CPU_BLOCK_BYTES:
            blocks.append([])
            size = 0
        blocks[-1].append(i)
        size += batch.params[i].numel() * batch.params[i].element_size()
    return blocks


def foreach(rule: Rule, batch: Batch, inputs: StepInputs) -> None:
    """The default kernel: the rule's update as ``torch._foreach_*`` launches, one per (device, dtype) and statement
    (on a CPU one per block of :data:`CPU_BLOCK_BYTES` and statement: :func:`_blocks`)."""
    runs: dict[tuple[Any, ...], list[int]] = {}
    for i, p in enumerate(batch.params):
        runs.setdefault((p.device, p.dtype, rule.first_step_differs and batch.fresh[i]), []).append(i)
    for (device, dtype, first), indices in runs.items():
        part = batch if len(indices) == len(batch.params) else batch.subset(indices)
        blocks = _blocks(part, list(range(len(indices))), device)
        run_scalars = None
        if len(blocks) > 1:  # the scalars once for every block of the run
            computed = torch.float32 if rule.float32_arithmetic and dtype in LOW_PRECISION else dtype
            run_scalars = step_scalars(rule, part, inputs, torch.empty(0, dtype=computed, device=device))
        for block in blocks:
            piece = part if len(block) == len(indices) else part.subset(block)
            scalars = None if run_scalars is None else StepScalars(*run_scalars.for_lists(block))
            params, grads, scalars = _prepared(rule, piece, inputs, per_tensor=False, scalars=scalars)
            s = scalars.for_tensors(range(len(params)))
            s.first = first
            states = [None if state[0] is None else Lanes(state) for state in piece.states]  # type: ignore[arg-type]
            rule.update(Lanes(params), Lanes(grads), *states, s)
            if rule.float32_arithmetic:
                _write_back(piece.params, params)


__all__ = ["Batch", "Rule", "StepInputs", "StepScalars", "foreach", "per_tensor", "prepared_grads", "step_scalars"]
