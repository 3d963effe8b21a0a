"""What an audit found, and its report as text: per phase, the largest errors or the first divergence."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from lossopt_spec.tolerances import Tolerance


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
            f"(abs {abs_error:.2e}{rel}; {Tolerance(*tolerance)})"
        )
        return text + (f"; {self.detail}" if self.detail else "")


class Diverged(Exception):
    """Raised inside a phase at the first divergence; the phase records it and stops."""

    def __init__(self, divergence: Divergence) -> None:
        super().__init__(divergence.tensor)
        self.divergence = divergence


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
        lines = [
            f"audit: {self.candidate} against the spec rule {self.rule!r}",
            "  hyperparameters: " + ", ".join(f"{k}={v!r}" for k, v in self.hparams.items()),
            f"  {self.dtype} on {self.device}; tolerance {Tolerance(*self.tolerance)}; lock-step "
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
