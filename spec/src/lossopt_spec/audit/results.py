"""What an audit found: divergences, the largest error of each phase, notes, the verdict.

The text report is :mod:`lossopt_spec.audit.report`; :meth:`AuditResult.to_json` is the
machine-readable one (``--json``). Both name a tensor by its group and parameter index
("group 1, parameter 0, exp_avg"), never by a glued name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from lossopt_spec.tolerances import Tolerance

MAX_DIVERGENCES = 10  # kept per audit: the first and a few later ones
MAX_PER_PHASE = 4  # a problem runs on after a divergence until this many are found


class AuditError(Exception):
    """The audit could not run: the candidate, rule, configuration or options are unusable (exit 2)."""


class CandidateFailed(AuditError):
    """The candidate raised while it was run (in its constructor, ``step()`` or the loss call)."""


def failure_text(error: BaseException) -> str:
    """``ValueError: message (at file.py:123, in step)``: the exception and its innermost frame.

    An :class:`AuditError` is its message alone: it already says where.
    """
    if isinstance(error, AuditError):
        return str(error)
    tb = error.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f" (at {tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}, in {tb.tb_frame.f_code.co_name})" if tb else ""
    return f"{type(error).__name__}: {error}{where}"


@dataclass(frozen=True)
class Divergence:
    """An element where the candidate left the spec by more than the tolerance.

    Attributes:
        phase: the problem's name, or ``"hypothesis"``.
        step: the 1-based step whose update differs (optimizers), or the example's number (losses).
        group: the parameter group (0-based) of an optimizer audit; ``None`` for a loss.
        parameter: the parameter's index within its group; ``None`` for a loss.
        tensor: ``"param"`` (the parameter's values) or the state entry (torch.optim's key,
            ``"exp_avg"``); for a loss ``"value"`` or ``"gradient"``.
        index: the first element out of tolerance (empty for a 0-d tensor or a missing entry).
        candidate: the candidate's value there (``None``: no value to show).
        spec: the spec's value there.
        shape: the tensor's shape.
        detail: what else the reader needs: a shape mismatch, the drawn example, the inputs.
        precision: the lower precision the candidate appears to compute in (``"float32"``), or ``""``.
    """

    phase: str
    step: int
    tensor: str
    group: int | None = None
    parameter: int | None = None
    index: tuple[int, ...] = ()
    candidate: float | None = None
    spec: float | None = None
    shape: tuple[int, ...] = ()
    detail: str = ""
    precision: str = ""

    @property
    def where(self) -> str:
        """``step 3, group 1, parameter 0 (shape (40, 30)), exp_avg[12, 3]``."""
        element = self.tensor + (f"[{', '.join(map(str, self.index))}]" if self.index else "")
        if self.group is None:
            return f"example {self.step}, {element}"
        return f"step {self.step}, group {self.group}, parameter {self.parameter} (shape {self.shape}), {element}"

    def describe(self, tolerance: Tolerance) -> str:
        if self.candidate is None or self.spec is None:
            return f"{self.where}: {self.detail}"
        abs_error = abs(self.candidate - self.spec)
        rel = f", rel {abs_error / abs(self.spec):.2e}" if self.spec != 0.0 and math.isfinite(self.spec) else ""
        text = (
            f"{self.where}: candidate {self.candidate!r} vs spec {self.spec!r} (abs {abs_error:.2e}{rel}; {tolerance})"
        )
        return text + (f"; {self.detail}" if self.detail else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase,
            "step": self.step,
            "group": self.group,
            "parameter": self.parameter,
            "tensor": self.tensor,
            "shape": list(self.shape),
            "index": list(self.index),
            "candidate": _number(self.candidate),
            "spec": _number(self.spec),
            "detail": self.detail,
            "precision": self.precision or None,
        }


class Diverged(Exception):
    """Raised inside a Hypothesis example that diverged, carrying what it found."""

    def __init__(self, divergences: list[Divergence]) -> None:
        super().__init__(divergences[0].where)
        self.divergences = divergences


@dataclass
class LargestError:
    """The element closest to its bound: ``fraction`` of the tolerance used, with its abs and rel error."""

    fraction: float = 0.0
    abs_error: float = 0.0
    rel_error: float | None = None
    where: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "fraction_of_tolerance": self.fraction,
            "abs": self.abs_error,
            "rel": self.rel_error,
            "where": self.where,
        }


@dataclass
class PhaseResult:
    """One problem (or the Hypothesis examples): steps compared, the largest error, divergences if any."""

    name: str
    steps: int = 0
    examples: int = 0
    largest: LargestError = field(default_factory=LargestError)
    divergences: list[Divergence] = field(default_factory=list)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "steps": self.steps,
            "examples": self.examples,
            "largest_error": self.largest.to_json(),
            "divergences": len(self.divergences),
            "note": self.note or None,
        }


@dataclass
class AuditResult:
    """The audit of one candidate against one rule (or loss) at one configuration."""

    candidate: str
    rule: str
    hparams: dict[str, Any]
    dtype: str
    device: str
    tolerance: Tolerance
    kind: str = "optimizer"
    config: dict[str, Any] = field(default_factory=dict)
    passed: dict[str, Any] = field(default_factory=dict)
    candidate_kwargs: dict[str, Any] = field(default_factory=dict)
    rename: dict[str, str] = field(default_factory=dict)
    phases: list[PhaseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    @property
    def conforms(self) -> bool:
        return not self.divergences

    @property
    def verdict(self) -> str:
        return "conforms" if self.conforms else "diverges"

    @property
    def divergences(self) -> list[Divergence]:
        """Every divergence kept, phases in order (problems, then Hypothesis), at most :data:`MAX_DIVERGENCES`."""
        return [d for phase in self.phases for d in phase.divergences][:MAX_DIVERGENCES]

    @property
    def first_divergence(self) -> Divergence | None:
        return next(iter(self.divergences), None)

    @property
    def precision(self) -> str:
        """The lower precision some divergence points to (``"float32"``), or ``""``."""
        return next((d.precision for d in self.divergences if d.precision), "")

    @property
    def largest(self) -> LargestError:
        return max((p.largest for p in self.phases), key=lambda e: e.fraction, default=LargestError())

    def render(self) -> str:
        """The text report (:func:`lossopt_spec.audit.report.render`)."""
        from lossopt_spec.audit.report import render

        return render(self)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` document: see the "Machine-readable output" section of docs/auditing.rst."""
        first = self.first_divergence
        return {
            "verdict": self.verdict,
            "kind": self.kind,
            "rule": self.rule,
            "candidate": self.candidate,
            "config": _jsonable(self.config),
            "hyperparameters": _jsonable(self.hparams),
            "passed_to_candidate": _jsonable(self.passed),
            "candidate_kwargs": _jsonable(self.candidate_kwargs),
            "rename": dict(self.rename),
            "dtype": self.dtype,
            "device": self.device,
            "tolerance": {"rtol": self.tolerance.rtol, "atol": self.tolerance.atol},
            "phases": [p.to_json() for p in self.phases],
            "largest_error": self.largest.to_json(),
            "first_divergence": None if first is None else first.to_json(),
            "later_divergences": [d.to_json() for d in self.divergences[1:]],
            "precision": self.precision or None,
            "notes": list(self.notes),
            "error": None,
        }


def error_json(message: str, **known: Any) -> dict[str, Any]:
    """The ``--json`` document of an audit that could not run (verdict ``"error"``)."""
    return {"verdict": "error", "error": message, **{k: _jsonable(v) for k, v in known.items()}}


def _number(value: float | None) -> float | str | None:
    if value is None or math.isfinite(value):
        return value
    return repr(value)  # JSON has no NaN or inf: "nan", "inf", "-inf"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float):
        return _number(value)
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    return repr(value)
