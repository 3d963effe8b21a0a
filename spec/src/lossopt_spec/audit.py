"""Audit a torch optimizer against an update rule of the spec.

::

    python -m lossopt_spec.audit my_pkg.module:MyAdam --rule adamw --config '{"lr": 1e-3}'

runs the candidate (any ``torch.optim.Optimizer`` subclass, or a callable returning one from
``(params, **hyperparameters)``) and the spec rule side by side, first on the golden problems of
:mod:`lossopt_spec.problems` (quadratic, Rosenbrock, tiny MLP; 50 steps each by default), then on
Hypothesis-drawn examples (parameter groups of drawn shapes and values in [-10, 10], driven for 1
to 12 steps by drawn gradients of a drawn scale: 1e-3, 1 or 100; 1e-3 or 1 below float64). It
reports the first step and the tensor (a parameter or a state entry, torch.optim's names) where
the two diverge, with both values, or "conforms" with the largest error seen. Exit status: 0
conforms, 1 diverges, 2 the audit could not run.

Lock-step: every step starts the spec from the parameters and state the candidate holds, and both
sides get the same gradient (the problem's gradient at those parameters), so rounding does not
accumulate across steps and the step reported is the first step whose update differs.

Requirements: the candidate takes the rule's hyperparameters under the rule's names (they are
torch.optim's: the spec's ``defaults`` follow the torch signature) and keeps its per-parameter
state under the rule's ``state_keys`` (``momentum_buffer``, ``exp_avg``, ...); a state entry the
spec has and the candidate lacks, or the reverse, is a divergence. ``step()`` is called without a
closure. Hyperparameters are the rule's defaults updated by ``config`` and passed to the candidate
explicitly, so both sides run the same configuration; flags that only the candidate has
(``foreach``, ``fused``) go in ``candidate_kwargs``.

Needs torch and Hypothesis (``pip install "lossopt-spec[audit]"``); torch is imported only when an
audit runs: the rest of ``lossopt_spec`` never imports it.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import json
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lossopt_spec.optim import OPTIMIZERS, UpdateRule
from lossopt_spec.problems import PROBLEMS

# The conformance suite's table (conformance/tolerances.py; torch.testing.assert_close's defaults),
# repeated here because the spec cannot import the suite; conformance/test_audit.py checks they agree.
DEFAULT_TOLERANCES: Mapping[str, tuple[float, float]] = {
    "float64": (1e-7, 1e-7),
    "float32": (1.3e-6, 1e-5),
    "float16": (1e-3, 1e-5),
    "bfloat16": (1.6e-2, 1e-5),
}


class AuditError(Exception):
    """The audit could not run: the candidate, rule, configuration or options are unusable."""


@dataclass(frozen=True)
class Divergence:
    """Where the candidate first left the spec.

    Attributes:
        phase: the problem's name, or ``"hypothesis"``.
        step: the 1-based step whose update differs.
        tensor: ``param{i}`` or a state entry ``{key}{i}`` (torch.optim's key, parameter index ``i``).
        index: the first element out of tolerance (empty for a 0-d tensor or a missing entry).
        candidate: the candidate's value there (``None``: the candidate has no such entry).
        spec: the spec's value there (``None``: the spec has no such entry).
        detail: what else the reader needs: a missing entry, a shape, the drawn example.
    """

    phase: str
    step: int
    tensor: str
    index: tuple[int, ...] = ()
    candidate: float | None = None
    spec: float | None = None
    detail: str = ""

    def describe(self, tolerance: tuple[float, float]) -> str:
        where = f"step {self.step}, {self.tensor}" + (f"[{', '.join(map(str, self.index))}]" if self.index else "")
        if self.candidate is None or self.spec is None:
            return f"{where}: {self.detail}"
        abs_error = abs(self.candidate - self.spec)
        rel = f", rel {abs_error / abs(self.spec):.2e}" if self.spec not in (0.0,) and math.isfinite(self.spec) else ""
        text = (
            f"{where}: candidate {self.candidate!r} vs spec {self.spec!r} "
            f"(abs {abs_error:.2e}{rel}; rtol={tolerance[0]:g}, atol={tolerance[1]:g})"
        )
        return text + (f"; {self.detail}" if self.detail else "")


@dataclass
class PhaseResult:
    """One problem (or the Hypothesis examples): steps compared, largest errors, divergence if any."""

    name: str
    steps: int = 0
    examples: int = 0
    max_abs_error: float = 0.0
    max_abs_where: str = ""
    max_rel_error: float = 0.0
    max_rel_where: str = ""
    divergence: Divergence | None = None
    note: str = ""


@dataclass
class AuditResult:
    """The audit of one candidate against one rule at one configuration."""

    candidate: str
    rule: str
    hparams: dict[str, Any]
    dtype: str
    device: str
    tolerance: tuple[float, float]
    phases: list[PhaseResult] = field(default_factory=list)

    @property
    def conforms(self) -> bool:
        return all(phase.divergence is None for phase in self.phases)

    @property
    def first_divergence(self) -> Divergence | None:
        """The divergence of the first phase that diverged (problems in order, then Hypothesis)."""
        return next((p.divergence for p in self.phases if p.divergence is not None), None)

    @property
    def max_abs_error(self) -> float:
        return max((p.max_abs_error for p in self.phases), default=0.0)

    @property
    def max_rel_error(self) -> float:
        return max((p.max_rel_error for p in self.phases), default=0.0)

    def render(self) -> str:
        """The human-readable report: one line per phase, then the verdict."""
        rtol, atol = self.tolerance
        lines = [
            f"audit: {self.candidate} against the spec rule {self.rule!r}",
            "  hyperparameters: " + ", ".join(f"{k}={v!r}" for k, v in self.hparams.items()),
            f"  {self.dtype} on {self.device}; tolerance rtol={rtol:g}, atol={atol:g}; lock-step "
            "(each step starts the spec from the candidate's parameters and state)",
        ]
        for phase in self.phases:
            size = f"{phase.examples} examples, {phase.steps} steps" if phase.examples else f"{phase.steps} steps"
            if phase.divergence is None:
                status = f"conforms  max abs error {phase.max_abs_error:.2e}, max rel error {phase.max_rel_error:.2e}"
            else:
                status = "DIVERGES at " + phase.divergence.describe(self.tolerance)
            lines.append(f"  {phase.name:<11} {size:<26} {status}" + (f" ({phase.note})" if phase.note else ""))
        first = self.first_divergence
        if first is None:
            worst_abs = max(self.phases, key=lambda p: p.max_abs_error)
            worst_rel = max(self.phases, key=lambda p: p.max_rel_error)
            lines.append(
                f"conforms: largest absolute error {self.max_abs_error:.2e} ({worst_abs.name}, "
                f"{worst_abs.max_abs_where or '-'}), largest relative error {self.max_rel_error:.2e} "
                f"({worst_rel.name}, {worst_rel.max_rel_where or '-'})"
            )
        else:
            lines.append(f"DIVERGES: first on {first.phase} at {first.describe(self.tolerance)}")
        return "\n".join(lines)


class _Diverged(Exception):
    def __init__(self, divergence: Divergence) -> None:
        super().__init__(divergence.tensor)
        self.divergence = divergence


# ---------------------------------------------------------------------------------------------
# Loading


def load_candidate(target: str) -> Callable[..., Any]:
    """``"pkg.module:Name"`` (or ``"pkg.module:Outer.Name"``) -> the object it names."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise AuditError(f"candidate {target!r}: expected 'package.module:ClassName'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as error:
        raise AuditError(f"candidate {target!r}: cannot import {module_name!r}: {error}") from error
    for part in attribute.split("."):
        if not hasattr(obj, part):
            raise AuditError(f"candidate {target!r}: module {module_name!r} has no attribute {attribute!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise AuditError(f"candidate {target!r} is not a class or callable")
    return obj  # type: ignore[no-any-return]


def _rule(rule: str | UpdateRule) -> UpdateRule:
    if isinstance(rule, UpdateRule):
        return rule
    if rule not in OPTIMIZERS:
        raise AuditError(f"no rule {rule!r} in lossopt_spec.OPTIMIZERS (available: {', '.join(sorted(OPTIMIZERS))})")
    return OPTIMIZERS[rule]


def _candidate_name(candidate: Any) -> str:
    module = getattr(candidate, "__module__", "")
    name = getattr(candidate, "__qualname__", repr(candidate))
    return f"{module}.{name}" if module else name


def _accepted_hparams(factory: Callable[..., Any], rule: UpdateRule, hparams: Mapping[str, Any]) -> dict[str, Any]:
    """The hyperparameters to pass to the candidate: those its signature takes.

    A rule may extend the optimizer it audits (``sgd``'s warmup, clipping and cyclical lr extend
    ``torch.optim.SGD``); such extras are left out of the call while they hold the rule's default,
    which leaves the rule equal to the plain optimizer. Set to anything else, the candidate cannot
    be audited against them: an ``AuditError`` names them.
    """
    parameters = _named_parameters(factory)
    if parameters is None:  # no signature to read: pass everything
        return dict(hparams)
    accepted = {k: v for k, v in hparams.items() if k in parameters}
    refused = sorted(k for k in hparams if k not in parameters and hparams[k] != rule.defaults.get(k))
    if refused:
        raise AuditError(
            f"{_candidate_name(factory)} takes no {refused}, which the configuration sets away from the "
            f"rule's defaults ({', '.join(f'{k}={hparams[k]!r}' for k in refused)})"
        )
    return accepted


def _named_parameters(factory: Callable[..., Any]) -> set[str] | None:
    """The keyword names ``factory`` takes; through ``**kwargs`` to the first base class that names its own."""
    names: set[str] = set()
    callables = (
        [vars(c)["__init__"] for c in factory.__mro__ if "__init__" in vars(c)]
        if isinstance(factory, type)
        else [factory]
    )
    for function in callables:
        try:
            parameters = inspect.signature(function).parameters.values()
        except (TypeError, ValueError):
            return None
        names |= {p.name for p in parameters if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if not any(p.kind is p.VAR_KEYWORD for p in parameters):
            return names
    return None


# ---------------------------------------------------------------------------------------------
# One lock-step step


class _Side:
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

        self.torch = torch
        self.rule = rule
        self.hparams = dict(hparams)
        self.params = [
            torch.tensor(np.asarray(p, dtype=np.float64), dtype=getattr(torch, dtype), device=device).requires_grad_()
            for p in initial
        ]
        passed = _accepted_hparams(factory, rule, self.hparams)
        try:
            self.optimizer = factory(self.params, **passed, **candidate_kwargs)
        except TypeError as error:
            raise AuditError(
                f"{_candidate_name(factory)} does not take the rule's hyperparameters "
                f"{sorted(self.hparams)} (+ {sorted(candidate_kwargs)}): {error}"
            ) from error
        if not isinstance(self.optimizer, torch.optim.Optimizer):
            raise AuditError(
                f"{_candidate_name(factory)}(...) returned {type(self.optimizer).__name__}, not an Optimizer"
            )
        self.spec_state = rule.init(self.held_params(), self.hparams)

    def held_params(self) -> list[np.ndarray]:
        return [_numpy(p) for p in self.params]

    def finite(self) -> bool:
        """Whether the candidate's parameters are all finite (past that, NaN equals NaN: nothing to learn)."""
        return all(np.isfinite(p).all() for p in self.held_params())

    def step(
        self, step: int, grads: Sequence[np.ndarray], phase: str, tolerance: tuple[float, float], result: PhaseResult
    ) -> None:
        """One update on both sides from the candidate's current parameters and state; compare."""
        torch = self.torch
        before = self.held_params()
        for p, g in zip(self.params, grads, strict=True):
            p.grad = torch.tensor(np.asarray(g, dtype=np.float64), dtype=p.dtype, device=p.device)
        held_grads = [_numpy(p.grad) for p in self.params if p.grad is not None]
        state = self._spec_state_from_candidate()
        expected_params, expected_state = self.rule.update(before, held_grads, state, step, self.hparams)
        self.optimizer.step()
        result.steps += 1
        for i, (param, expected) in enumerate(zip(self.params, expected_params, strict=True)):
            _compare(_numpy(param), np.asarray(expected, dtype=np.float64), phase, step, f"param{i}", tolerance, result)
        for i, (param, want_state) in enumerate(zip(self.params, expected_state, strict=True)):
            held = self.optimizer.state.get(param, {})
            for key in self.rule.state_keys:
                want = want_state.get(key)
                got = held.get(key)
                name = f"{key}{i}"
                if want is None and got is None:
                    continue
                if want is None:
                    raise _Diverged(
                        Divergence(phase, step, name, detail="the candidate holds this state entry; the spec has none")
                    )
                if got is None:
                    raise _Diverged(
                        Divergence(phase, step, name, detail="the spec holds this state entry; the candidate has none")
                    )
                _compare(_numpy(got), np.asarray(want, dtype=np.float64), phase, step, name, tolerance, result)
        self.spec_state = expected_state

    def _spec_state_from_candidate(self) -> list[dict[str, Any]]:
        """The spec's state with each entry the candidate also holds replaced by the candidate's value."""
        state = []
        for param, spec_entries in zip(self.params, self.spec_state, strict=True):
            held = self.optimizer.state.get(param, {})
            entries = dict(spec_entries)
            for key in self.rule.state_keys:
                if entries.get(key) is not None and held.get(key) is not None:
                    value = _numpy(held[key])
                    entries[key] = value if np.ndim(entries[key]) else value.reshape(())
            state.append(entries)
        return state


def _numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        return np.asarray(value.detach().to(device="cpu", dtype=_torch().float64).numpy())
    return np.asarray(value, dtype=np.float64)


def _torch() -> Any:
    import torch

    return torch


def _compare(
    got: np.ndarray,
    want: np.ndarray,
    phase: str,
    step: int,
    name: str,
    tolerance: tuple[float, float],
    result: PhaseResult,
) -> None:
    if got.shape != want.shape:
        raise _Diverged(Divergence(phase, step, name, detail=f"shape {got.shape} in the candidate vs {want.shape}"))
    rtol, atol = tolerance
    with np.errstate(all="ignore"):
        diff = np.abs(got - want)
        close = (np.isfinite(want) & (diff <= atol + rtol * np.abs(want))) | (got == want)
        close |= np.isnan(got) & np.isnan(want)
        finite = np.isfinite(got) & np.isfinite(want)
        diff = np.where(finite, diff, 0.0)
        rel = np.where(finite & (want != 0), diff / np.abs(want), 0.0)
    if not close.all():
        index = tuple(int(i) for i in np.argwhere(~close)[0])
        raise _Diverged(Divergence(phase, step, name, index, float(got[index]), float(want[index])))
    where = f"step {step}, {name}"
    if diff.size and diff.max() > result.max_abs_error:
        result.max_abs_error = float(diff.max())
        result.max_abs_where = where + _index_text(np.unravel_index(int(diff.argmax()), diff.shape))
    if rel.size and rel.max() > result.max_rel_error:
        result.max_rel_error = float(rel.max())
        result.max_rel_where = where + _index_text(np.unravel_index(int(rel.argmax()), rel.shape))


def _index_text(index: tuple[Any, ...]) -> str:
    return f"[{', '.join(str(int(i)) for i in index)}]" if index else ""


# ---------------------------------------------------------------------------------------------
# Phases


def _problem_phase(
    make: Callable[[Sequence[np.ndarray]], _Side], name: str, seed: int, steps: int, tolerance: tuple[float, float]
) -> PhaseResult:
    problem = PROBLEMS[name](seed)
    result = PhaseResult(name)
    side = make(problem.initial_params)
    try:
        with np.errstate(all="ignore"):
            for step in range(1, steps + 1):
                side.step(step, problem.grad(side.held_params()), name, tolerance, result)
                if not side.finite():
                    result.note = (
                        f"stopped after step {step}: the parameters left the finite range, the problem diverges "
                        "at this configuration; try a smaller lr"
                    )
                    break
    except _Diverged as diverged:
        result.divergence = diverged.divergence
    return result


def _hypothesis_phase(
    make: Callable[[Sequence[np.ndarray]], _Side], examples: int, seed: int, tolerance: tuple[float, float], dtype: str
) -> PhaseResult:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import array_shapes, arrays
    from hypothesis.reporting import with_reporter

    result = PhaseResult("hypothesis")
    # Gradients up to 10 x scale. Rounding error is relative to the operands and the tolerance to the
    # result, so where b = mu b + g cancels, gradients of 1e3 exceed float32's atol with no bug.
    scales = [1e-3, 1.0, 1e2] if dtype == "float64" else [1e-3, 1.0]
    elements = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False, allow_subnormal=False)
    shapes = st.lists(array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=5), min_size=1, max_size=3)

    @hypothesis_seed(seed)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        print_blob=False,
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        group = data.draw(shapes, label="shapes")
        params = [data.draw(arrays(np.float64, s, elements=elements), label=f"param{i}") for i, s in enumerate(group)]
        n_steps = data.draw(st.integers(1, 12), label="steps")
        scale = data.draw(st.sampled_from(scales), label="gradient scale")
        side = make(params)
        probe = PhaseResult("hypothesis")
        try:
            for step in range(1, n_steps + 1):
                grads = [scale * data.draw(arrays(np.float64, s, elements=elements)) for s in group]
                with np.errstate(all="ignore"):
                    side.step(step, grads, "hypothesis", tolerance, probe)
                if not side.finite():
                    break
        except _Diverged as diverged:
            shapes_text = ", ".join(str(tuple(s)) for s in group)
            divergence = diverged.divergence
            detail = f"drawn example: parameters of shapes [{shapes_text}], gradients of scale {scale:g}"
            raise _Diverged(
                Divergence(
                    divergence.phase,
                    divergence.step,
                    divergence.tensor,
                    divergence.index,
                    divergence.candidate,
                    divergence.spec,
                    "; ".join(d for d in (divergence.detail, detail) if d),
                )
            ) from None
        finally:
            result.examples += 1
        result.steps += probe.steps
        if probe.max_abs_error > result.max_abs_error:
            result.max_abs_error, result.max_abs_where = probe.max_abs_error, probe.max_abs_where
        if probe.max_rel_error > result.max_rel_error:
            result.max_rel_error, result.max_rel_where = probe.max_rel_error, probe.max_rel_where

    try:
        with with_reporter(lambda _message: None):
            run()
    except _Diverged as diverged:  # the shrunk (smallest) failing example
        result.divergence = diverged.divergence
    return result


# ---------------------------------------------------------------------------------------------
# The API


def audit(
    candidate: Callable[..., Any] | str,
    rule: str | UpdateRule,
    config: Mapping[str, Any] | None = None,
    *,
    candidate_kwargs: Mapping[str, Any] | None = None,
    problems: Iterable[str] = ("quadratic", "rosenbrock", "tiny_mlp"),
    steps: int = 50,
    examples: int = 100,
    seed: int = 0,
    dtype: str = "float64",
    device: str = "cpu",
    rtol: float | None = None,
    atol: float | None = None,
) -> AuditResult:
    """Run ``candidate`` and the spec ``rule`` side by side; see the module docstring.

    Args:
        candidate: a ``torch.optim.Optimizer`` subclass (or a callable building one from
            ``(params, **hparams)``), or ``"package.module:Name"``.
        rule: a name in :data:`lossopt_spec.OPTIMIZERS`, or an :class:`UpdateRule`.
        config: hyperparameters overriding the rule's defaults; passed to both sides.
        candidate_kwargs: extra constructor arguments for the candidate only (``{"foreach": False}``).
        problems: golden problems to run (names in :data:`lossopt_spec.problems.PROBLEMS`).
        steps: steps per problem.
        examples: Hypothesis examples (0: none).
        seed: the problems' seed and Hypothesis' seed.
        dtype: the candidate's parameter dtype (the spec runs in float64 from the same values).
        device: the candidate's device.
        rtol, atol: the tolerance; default: the conformance suite's for ``dtype``.

    Returns:
        An :class:`AuditResult`; ``result.conforms``, ``result.first_divergence``, ``result.render()``.

    Raises:
        AuditError: the candidate cannot be loaded or built, the rule or a hyperparameter is unknown.
    """
    factory = load_candidate(candidate) if isinstance(candidate, str) else candidate
    update_rule = _rule(rule)
    try:
        hparams = update_rule.hparams(**dict(config or {}))
    except TypeError as error:
        raise AuditError(str(error)) from error
    if dtype not in DEFAULT_TOLERANCES:
        raise AuditError(f"dtype {dtype!r}: use one of {sorted(DEFAULT_TOLERANCES)}")
    unknown = [p for p in problems if p not in PROBLEMS]
    if unknown:
        raise AuditError(f"unknown problem(s) {unknown}; known: {sorted(PROBLEMS)}")
    default_rtol, default_atol = DEFAULT_TOLERANCES[dtype]
    tolerance = (default_rtol if rtol is None else rtol, default_atol if atol is None else atol)
    extra = dict(candidate_kwargs or {})

    def make(initial: Sequence[np.ndarray]) -> _Side:
        return _Side(factory, update_rule, hparams, extra, initial, dtype, device)

    result = AuditResult(
        candidate=candidate if isinstance(candidate, str) else _candidate_name(candidate),
        rule=update_rule.name,
        hparams=hparams,
        dtype=dtype,
        device=device,
        tolerance=tolerance,
    )
    for name in problems:
        result.phases.append(_problem_phase(make, name, seed, steps, tolerance))
    if examples > 0:
        result.phases.append(_hypothesis_phase(make, examples, seed, tolerance, dtype))
    return result


def _json_object(text: str, option: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        raise AuditError(f"{option}: not JSON ({error}): {text!r}") from error
    if not isinstance(value, dict):
        raise AuditError(f"{option}: expected a JSON object, got {text!r}")
    # JSON has no tuples; torch.optim takes betas=(b1, b2) as a tuple
    return {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lossopt_spec.audit",
        description="Check a torch optimizer against a lossopt_spec update rule (needs torch and hypothesis).",
    )
    parser.add_argument("candidate", help="the optimizer to audit, as package.module:ClassName")
    parser.add_argument("--rule", required=True, help=f"the spec rule (one of: {', '.join(sorted(OPTIMIZERS))})")
    parser.add_argument("--config", default="{}", help="hyperparameters for both sides, as a JSON object")
    parser.add_argument("--candidate-kwargs", default="{}", help="constructor arguments for the candidate only (JSON)")
    parser.add_argument("--problems", default="quadratic,rosenbrock,tiny_mlp", help="comma-separated golden problems")
    parser.add_argument("--steps", type=int, default=50, help="steps per problem (default 50)")
    parser.add_argument("--examples", type=int, default=100, help="Hypothesis examples (default 100; 0: none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float64", choices=sorted(DEFAULT_TOLERANCES))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rtol", type=float, default=None, help="default: the conformance suite's for --dtype")
    parser.add_argument("--atol", type=float, default=None, help="default: the conformance suite's for --dtype")
    args = parser.parse_args(argv)
    try:
        result = audit(
            args.candidate,
            args.rule,
            _json_object(args.config, "--config"),
            candidate_kwargs=_json_object(args.candidate_kwargs, "--candidate-kwargs"),
            problems=[p for p in args.problems.split(",") if p],
            steps=args.steps,
            examples=args.examples,
            seed=args.seed,
            dtype=args.dtype,
            device=args.device,
            rtol=args.rtol,
            atol=args.atol,
        )
    except AuditError as error:
        print(f"audit error: {error}", file=sys.stderr)
        return 2
    print(result.render())
    return 0 if result.conforms else 1


if __name__ == "__main__":
    sys.exit(main())
