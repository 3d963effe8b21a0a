"""The lock-step runner: the golden problems, then Hypothesis-drawn examples, each a phase of the audit.

See :mod:`lossopt_spec.audit` for what is run and what is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from lossopt_spec.audit.candidates import candidate_name, load_candidate, resolve_rule
from lossopt_spec.audit.lockstep import Side
from lossopt_spec.audit.results import AuditError, AuditResult, Diverged, PhaseResult
from lossopt_spec.optim import UpdateRule
from lossopt_spec.problems import PROBLEMS
from lossopt_spec.tolerances import DEFAULT_TOLERANCES, Tolerance


def _problem_phase(
    make: Callable[[Sequence[np.ndarray]], Side], name: str, seed: int, steps: int, tolerance: Tolerance
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
    except Diverged as diverged:
        result.divergence = diverged.divergence
    return result


def _hypothesis_phase(
    make: Callable[[Sequence[np.ndarray]], Side], examples: int, seed: int, tolerance: Tolerance, dtype: str
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
        except Diverged as diverged:
            shapes_text = ", ".join(str(tuple(s)) for s in group)
            divergence = diverged.divergence
            detail = f"drawn example: parameters of shapes [{shapes_text}], gradients of scale {scale:g}"
            raise Diverged(replace(divergence, detail="; ".join(d for d in (divergence.detail, detail) if d))) from None
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
    except Diverged as diverged:  # the shrunk (smallest) failing example
        result.divergence = diverged.divergence
    return result


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
        rtol, atol: the tolerance; default: the conformance suite's for ``dtype``
            (:data:`lossopt_spec.tolerances.DEFAULT_TOLERANCES`).

    Returns:
        An :class:`AuditResult`; ``result.conforms``, ``result.first_divergence``, ``result.render()``.

    Raises:
        AuditError: the candidate cannot be loaded or built, the rule or a hyperparameter is unknown.
    """
    factory = load_candidate(candidate) if isinstance(candidate, str) else candidate
    update_rule = resolve_rule(rule)
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
    tolerance = Tolerance(default_rtol if rtol is None else rtol, default_atol if atol is None else atol)
    extra = dict(candidate_kwargs or {})

    def make(initial: Sequence[np.ndarray]) -> Side:
        return Side(factory, update_rule, hparams, extra, initial, dtype, device)

    result = AuditResult(
        candidate=candidate if isinstance(candidate, str) else candidate_name(candidate),
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
