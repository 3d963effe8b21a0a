"""The optimizer audit: the golden problems, then Hypothesis-drawn examples, each a phase.

See :mod:`lossopt_spec.audit` for what is run and what is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from lossopt_spec.audit.candidates import (
    CallPlan,
    candidate_name,
    check_renames,
    load_candidate,
    plan_call,
    resolve_rule,
)
from lossopt_spec.audit.lockstep import Side
from lossopt_spec.audit.results import MAX_PER_PHASE, AuditError, AuditResult, Diverged, LargestError, PhaseResult
from lossopt_spec.optim import UpdateRule
from lossopt_spec.problems import PROBLEMS
from lossopt_spec.tolerances import AUDIT_TOLERANCES, Tolerance

EXPLODED = 1e30  # a problem whose parameters pass this magnitude diverges at the configuration: stop there
DEFAULT_PROBLEMS = ("quadratic", "rosenbrock", "tiny_mlp")

MakeSide = Callable[[Sequence[Sequence[np.ndarray]], Sequence[Mapping[str, Any]]], Side]


def _keep_largest(into: LargestError, other: LargestError) -> None:
    if other.where and (other.fraction > into.fraction or not into.where):
        into.fraction, into.abs_error, into.rel_error, into.where = (
            other.fraction,
            other.abs_error,
            other.rel_error,
            other.where,
        )


def _problem_phase(
    make: MakeSide, name: str, seed: int, steps: int, tolerance: Tolerance, min_dims: int = 0
) -> tuple[PhaseResult, Side]:
    problem = PROBLEMS[name](seed)
    result = PhaseResult(name)
    shapes = [np.shape(p) for p in problem.initial_params]

    def given(arrays: Sequence[np.ndarray]) -> list[np.ndarray]:  # a rule of matrices gets vectors as (1, n) rows
        return [np.reshape(a, (1,) * (min_dims - np.ndim(a)) + np.shape(a)) for a in arrays]

    side = make([given(problem.initial_params)], [{}])
    with np.errstate(all="ignore"):
        for step in range(1, steps + 1):
            held = [np.reshape(a, s) for a, s in zip(side.held(side.groups[0]), shapes, strict=True)]
            found, largest = side.step(step, [given(problem.grad(held))], name, tolerance)
            result.steps += 1
            _keep_largest(result.largest, largest)
            result.divergences.extend(found[: MAX_PER_PHASE - len(result.divergences)])
            if len(result.divergences) >= MAX_PER_PHASE:
                break
            magnitude = side.largest_magnitude()
            if not magnitude < EXPLODED:
                result.note = (
                    f"stopped after step {step}: the parameters reached |x| = {magnitude:.1e}, the problem diverges "
                    "at this configuration (try a smaller lr); the steps before were compared"
                )
                break
    return result, side


def _hypothesis_phase(
    make: MakeSide,
    hparams: Mapping[str, Any],
    varied: Callable[[str], bool],
    examples: int,
    seed: int,
    tolerance: Tolerance,
    dtype: str,
    notes: list[str],
    min_dims: int = 0,
) -> PhaseResult:
    from hypothesis import strategies as st

    from lossopt_spec.audit.drawn_groups import draw_example
    from lossopt_spec.audit.search import search

    result = PhaseResult("hypothesis")
    # Gradients up to 10 x scale. Rounding error is relative to the operands and the tolerance to the
    # result, so where b = mu b + g cancels, gradients of 1e3 exceed float32's atol with no bug.
    scales = [1e-3, 1.0, 1e2] if dtype == "float64" else [1e-3, 1.0]

    def example(data: st.DataObject) -> None:
        drawn = draw_example(data, hparams, varied, scales, min_dims)
        side = make([[t.initial for t in g] for g in drawn.groups], drawn.overrides)
        result.examples += 1
        try:
            for step in range(1, drawn.steps + 1):
                with np.errstate(all="ignore"):
                    found, largest = side.step(step, drawn.gradients(data, step), "hypothesis", tolerance)
                result.steps += 1
                if found:
                    detail = drawn.describe()
                    raise Diverged(
                        [
                            replace(d, detail="; ".join(x for x in (d.detail, detail) if x))
                            for d in found[:MAX_PER_PHASE]
                        ]
                    )
                _keep_largest(result.largest, largest)
                if not side.largest_magnitude() < EXPLODED:
                    break
        finally:
            notes.extend(n for n in side.notes if n not in notes)

    result.divergences = search(example, examples, seed, notes)
    return result


def audit(
    candidate: Callable[..., Any] | str,
    rule: str | UpdateRule,
    config: Mapping[str, Any] | None = None,
    *,
    candidate_kwargs: Mapping[str, Any] | None = None,
    rename: Mapping[str, str] | None = None,
    problems: Iterable[str] = DEFAULT_PROBLEMS,
    steps: int = 50,
    examples: int = 100,
    seed: int = 0,
    dtype: str = "float64",
    device: str = "cpu",
    rtol: float | None = None,
    atol: float | None = None,
) -> AuditResult:
    """Run ``candidate`` and the spec ``rule`` side by side; see the package docstring.

    Args:
        candidate: a ``torch.optim.Optimizer`` subclass (or a callable building one from
            ``(params, **hparams)``), or ``"package.module:Name"``.
        rule: a name in :data:`lossopt_spec.OPTIMIZERS`, or an :class:`UpdateRule`.
        config: hyperparameters overriding the rule's defaults; passed to both sides.
        candidate_kwargs: extra constructor arguments for the candidate only (``{"foreach": False}``).
        rename: spec name -> the candidate's name, for hyperparameters and state entries.
        problems: golden problems to run (names in :data:`lossopt_spec.problems.PROBLEMS`).
        steps: steps per problem.
        examples: Hypothesis examples (0: none).
        seed: the problems' seed and Hypothesis' seed.
        dtype: the candidate's parameter dtype (the spec runs in float64 from the same values).
        device: the candidate's device.
        rtol, atol: the tolerance; default: the audit's for ``dtype``
            (:data:`lossopt_spec.tolerances.AUDIT_TOLERANCES`).

    Returns:
        An :class:`AuditResult`; ``result.conforms``, ``result.first_divergence``, ``result.to_json()``.

    Raises:
        AuditError: the audit could not run (the candidate, rule, configuration or an option is
            unusable, or the candidate raised; :class:`CandidateFailed` then).
    """
    from lossopt_spec.audit.setup import check_run, tolerance_for

    problems = list(problems)
    check_run(problems, steps, examples, dtype, device)
    factory = load_candidate(candidate) if isinstance(candidate, str) else candidate
    update_rule = resolve_rule(rule)
    renames = dict(rename or {})
    check_renames(renames, [*update_rule.defaults, *update_rule.state_keys], f"the rule {update_rule.name!r}")
    config = dict(config or {})
    try:
        hparams = update_rule.hparams(**config)
    except TypeError as error:
        raise AuditError(str(error)) from error
    tolerance = tolerance_for(dtype, rtol, atol, AUDIT_TOLERANCES)
    state_names = set(update_rule.state_keys)
    plan = plan_call(
        factory, {k: v for k, v in hparams.items() if k not in state_names}, update_rule.defaults, config, renames
    )
    extra = dict(candidate_kwargs or {})

    def make(groups: Sequence[Sequence[np.ndarray]], overrides: Sequence[Mapping[str, Any]]) -> Side:
        return Side(factory, update_rule, hparams, plan, extra, renames, groups, overrides, dtype, device)

    result = AuditResult(
        candidate=candidate if isinstance(candidate, str) else candidate_name(factory),
        rule=update_rule.name,
        hparams=hparams,
        dtype=dtype,
        device=device,
        tolerance=tolerance,
        config=config,
        passed=plan.passed,
        candidate_kwargs=extra,
        rename=renames,
    )
    for note in plan.notes:
        result.note(note)
    for name in problems:
        phase, side = _problem_phase(make, name, seed, steps, tolerance, update_rule.min_dims)
        result.phases.append(phase)
        for note in side.notes:
            result.note(note)
    if examples > 0:
        notes: list[str] = []
        result.phases.append(
            _hypothesis_phase(
                make, hparams, _varied(plan, renames), examples, seed, tolerance, dtype, notes, update_rule.min_dims
            )
        )
        for note in notes:
            result.note(note)
    return result


def _varied(plan: CallPlan, renames: Mapping[str, str]) -> Callable[[str], bool]:
    """Whether a later group may set the spec hyperparameter ``name``: the candidate is sent it."""
    return lambda name: renames.get(name, name) in plan.passed
