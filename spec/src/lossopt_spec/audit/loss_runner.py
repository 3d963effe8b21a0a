"""The loss audit: a function or ``nn.Module`` class against a spec loss, value and gradient on drawn inputs.

::

    python -m lossopt_spec.audit torch.nn.functional:huber_loss --loss huber --config '{"delta": 2.0}'

Each drawn example (:mod:`lossopt_spec.audit.loss_inputs`) is evaluated at every reduction asked
(``--reductions``, default none, mean and sum): a function as ``candidate(predictions, targets,
**hyperparameters, reduction=r)``, a class as ``candidate(**hyperparameters, reduction=r)`` called
on ``(predictions, targets)``. Hyperparameters are passed by the rules of
:mod:`lossopt_spec.audit.candidates`; ``--candidate-kwargs`` go to the call (function) or the
constructor (class) only. A candidate that takes no ``reduction`` is audited at the one reduction
``--reductions`` names, without passing it. The value is compared, then the gradient of
``sum(value * upstream)`` with respect to the predictions (a drawn upstream gradient) against
the spec's vector-Jacobian product. Integer targets stay int64; a JSON list in ``--config`` is an
array (a float64 array for the spec, a tensor of ``--dtype`` for the candidate: class weights).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from lossopt_spec.audit.candidates import candidate_name, check_renames, load_candidate, plan_call
from lossopt_spec.audit.results import (
    MAX_PER_PHASE,
    AuditError,
    AuditResult,
    CandidateFailed,
    Diverged,
    Divergence,
    PhaseResult,
    failure_text,
)
from lossopt_spec.losses import LOSSES, LossSpec
from lossopt_spec.tolerances import AUDIT_TOLERANCES, within

# the losses taking (predictions, targets), by the kind of inputs drawn for them (loss_inputs.py)
KIND_OF_LOSS: Mapping[str, str] = {
    **dict.fromkeys(["mse", "mae", "huber", "log_cosh", "quantile"], "pair"),
    "sigmoid_focal": "binary",
    **dict.fromkeys(["cross_entropy", "focal"], "classes"),
    "hinge": "hinge",
    **dict.fromkeys(["dice", "iou", "tversky", "bce_dice", "focal_dice"], "segmentation"),
    "kl_divergence": "distributions",
}
AUDITABLE_LOSSES = tuple(KIND_OF_LOSS)


def resolve_loss(name: str) -> LossSpec:
    if name not in LOSSES:
        raise AuditError(f"no loss {name!r} in lossopt_spec.LOSSES (available: {', '.join(sorted(LOSSES))})")
    if name not in KIND_OF_LOSS:
        inputs = list(inspect.signature(LOSSES[name].value).parameters)[:3]
        raise AuditError(
            f"the loss {name!r} takes ({', '.join(inputs)}, ...), not (predictions, targets): the loss audit "
            f"covers {', '.join(AUDITABLE_LOSSES)}"
        )
    return LOSSES[name]


def spec_keywords(spec: LossSpec) -> dict[str, Any]:
    """The spec loss's keyword arguments and their defaults, without the inputs and ``reduction``."""
    parameters = list(inspect.signature(spec.value).parameters.values())[2:]
    return {p.name: p.default for p in parameters if p.name != "reduction"}


class _Call:
    """Evaluating the candidate on tensors: a function, or a class built per reduction."""

    def __init__(
        self, factory: Callable[..., Any], passed: Mapping[str, Any], extra: Mapping[str, Any], takes_reduction: bool
    ) -> None:
        self.factory, self.passed, self.extra, self.takes_reduction = (
            factory,
            dict(passed),
            dict(extra),
            takes_reduction,
        )

    def __call__(self, predictions: Any, targets: Any, reduction: str, tensor: Callable[[Any], Any]) -> Any:
        kwargs = {k: tensor(v) for k, v in {**self.passed, **self.extra}.items()}
        if self.takes_reduction:
            kwargs["reduction"] = reduction
        if isinstance(self.factory, type):
            return self.factory(**kwargs)(predictions, targets)
        return self.factory(predictions, targets, **kwargs)


def audit_loss(
    candidate: Callable[..., Any] | str,
    loss: str,
    config: Mapping[str, Any] | None = None,
    *,
    candidate_kwargs: Mapping[str, Any] | None = None,
    rename: Mapping[str, str] | None = None,
    reductions: Sequence[str] = ("none", "mean", "sum"),
    min_dims: int = 0,
    examples: int = 100,
    seed: int = 0,
    dtype: str = "float64",
    device: str = "cpu",
    rtol: float | None = None,
    atol: float | None = None,
) -> AuditResult:
    """Audit a loss ``candidate`` against the spec loss ``loss``; see the module docstring.

    ``min_dims``: draw elementwise and segmentation inputs with at least this many dimensions.

    Raises:
        AuditError: the audit could not run (unknown loss, hyperparameter or reduction, a candidate
            that does not import or raises: :class:`CandidateFailed`).
    """
    from lossopt_spec.audit.setup import check_dtype_and_device, tolerance_for

    spec = resolve_loss(loss)
    check_dtype_and_device(dtype, device, AUDIT_TOLERANCES)
    if examples < 1:
        raise AuditError(f"--examples {examples}: a loss audit needs at least 1 drawn example")
    factory = load_candidate(candidate) if isinstance(candidate, str) else candidate
    defaults = spec_keywords(spec)
    config = dict(config or {})
    unknown = sorted(set(config) - set(defaults))
    if unknown:
        raise AuditError(f"{loss}: unknown hyperparameter(s) {unknown}; valid: {sorted(defaults)}")
    renames = dict(rename or {})
    check_renames(renames, defaults, f"the loss {loss!r}")
    hparams = {
        k: np.asarray(v, np.float64) if isinstance(v, list | tuple) else v for k, v in {**defaults, **config}.items()
    }
    plan = plan_call(factory, {**defaults, **config}, defaults, config, renames)
    takes_reduction = plan.signature.takes("reduction") or not plan.signature.complete
    reductions = list(reductions)
    if not takes_reduction and len(reductions) != 1:
        raise AuditError(
            f"{candidate_name(factory)} takes no 'reduction': name the one it computes with --reductions "
            "(none, mean or sum)"
        )
    bad = [r for r in reductions if r not in ("none", "mean", "sum", "batchmean")]
    if bad or not reductions:
        raise AuditError(f"--reductions {bad or reductions}: use none, mean, sum (and batchmean for kl_divergence)")
    result = AuditResult(
        candidate=candidate if isinstance(candidate, str) else candidate_name(factory),
        rule=loss,
        hparams={**defaults, **config},
        dtype=dtype,
        device=device,
        tolerance=tolerance_for(dtype, rtol, atol, AUDIT_TOLERANCES),
        kind="loss",
        config=config,
        passed=plan.passed,
        candidate_kwargs=dict(candidate_kwargs or {}),
        rename=renames,
    )
    for note in plan.notes:
        result.note(note)
    call = _Call(factory, plan.passed, result.candidate_kwargs, takes_reduction)
    drawing = {**config, "min_dims": min_dims}
    result.phases.append(_loss_phase(call, spec, hparams, drawing, reductions, examples, seed, result))
    return result


def _loss_phase(
    call: _Call,
    spec: LossSpec,
    hparams: dict[str, Any],
    config: Mapping[str, Any],
    reductions: Sequence[str],
    examples: int,
    seed: int,
    result: AuditResult,
) -> PhaseResult:
    import torch
    from hypothesis import strategies as st

    from lossopt_spec.audit.bridge import TORCH_DTYPES, to_numpy
    from lossopt_spec.audit.lockstep import update_largest
    from lossopt_spec.audit.loss_inputs import draw_inputs
    from lossopt_spec.audit.search import search

    phase = PhaseResult("hypothesis")
    dtype, tolerance = TORCH_DTYPES[result.dtype], result.tolerance
    notes: list[str] = []

    def tensor(value: Any) -> Any:
        return torch.tensor(value, dtype=dtype, device=result.device) if isinstance(value, np.ndarray) else value

    def example(data: st.DataObject) -> None:
        inputs = draw_inputs(KIND_OF_LOSS[spec.name], spec.name, data, config)
        phase.examples += 1
        number = phase.examples
        found: list[Divergence] = []
        for reduction in reductions:
            predictions = torch.tensor(inputs["predictions"], dtype=dtype, device=result.device).requires_grad_()
            targets_np = inputs["targets"]
            integer = np.issubdtype(targets_np.dtype, np.integer)
            targets = torch.tensor(targets_np, dtype=torch.int64 if integer else dtype, device=result.device)
            held_p, held_t = to_numpy(predictions), targets_np if integer else to_numpy(targets)
            with np.errstate(all="ignore"):
                want = np.asarray(spec.value(held_p, held_t, **hparams, reduction=reduction), np.float64)
            upstream = np.asarray(data.draw(_upstream(want.shape), label=f"upstream {reduction}"), np.float64)
            with np.errstate(all="ignore"):
                want_grad = np.asarray(
                    spec.grad(held_p, held_t, **hparams, reduction=reduction, grad_output=upstream), np.float64
                )
            try:
                value = call(predictions, targets, reduction, tensor)
                (value * torch.tensor(upstream, dtype=value.dtype, device=value.device)).sum().backward()
            except Exception as error:
                raise CandidateFailed(
                    f"the candidate raised on example {number} ({_shapes(inputs)}, reduction={reduction!r}): "
                    f"{failure_text(error)}"
                ) from error
            phase.steps += 1
            detail = f"reduction={reduction!r}; {_shapes(inputs)}{_small_inputs(inputs)}"
            got = to_numpy(value)
            grad = None if predictions.grad is None else to_numpy(predictions.grad)
            for name, got_array, want_array in (("value", got, want), ("gradient", grad, want_grad)):
                divergence = _compare(number, name, got_array, want_array, tolerance, detail, result.dtype)
                if divergence is not None:
                    found.append(divergence)
                elif got_array is not None:
                    update_largest(phase.largest, got_array, want_array, tolerance, f"example {number}, {name}")
        if found:
            raise Diverged(found[:MAX_PER_PHASE])

    phase.divergences = search(example, examples, seed, notes)
    for note in notes:
        result.note(note)
    return phase


def _upstream(shape: tuple[int, ...]) -> Any:
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import arrays

    if not shape:
        return st.sampled_from([1.0, -0.5, 3.0]).map(np.asarray)
    return arrays(np.float64, shape, elements=st.floats(-4.0, 4.0, allow_subnormal=False))


def _compare(
    number: int, name: str, got: np.ndarray | None, want: np.ndarray, tolerance: Any, detail: str, dtype: str
) -> Divergence | None:
    if got is None:
        return Divergence(
            "hypothesis", number, name, shape=want.shape, detail="no gradient reached the predictions; " + detail
        )
    if got.shape != want.shape:
        return Divergence(
            "hypothesis",
            number,
            name,
            shape=want.shape,
            detail=f"shape {got.shape} in the candidate vs {want.shape} in the spec; {detail}",
        )
    close = within(got, want, tolerance)
    if close.all():
        return None
    from lossopt_spec.audit.precision import lower_precision, precision_detail  # imports torch

    index = tuple(int(i) for i in np.argwhere(~close)[0])
    narrow = lower_precision(got, want, None, dtype, ~close)
    if narrow:
        detail = f"{precision_detail(narrow, dtype)}; {detail}"
    return Divergence(
        "hypothesis",
        number,
        name,
        index=index,
        candidate=float(got[index]),
        spec=float(want[index]),
        shape=want.shape,
        detail=detail,
        precision=narrow,
    )


def _shapes(inputs: Mapping[str, np.ndarray]) -> str:
    return ", ".join(f"{k} of shape {v.shape} ({v.dtype})" for k, v in inputs.items())


def _small_inputs(inputs: Mapping[str, np.ndarray]) -> str:
    """The inputs themselves when they are small enough to read (and to reproduce the example)."""
    if all(v.size <= 12 for v in inputs.values()):
        return "; " + ", ".join(f"{k}={np.array2string(v, separator=', ', precision=17)}" for k, v in inputs.items())
    return ""
