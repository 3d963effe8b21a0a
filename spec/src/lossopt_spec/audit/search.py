"""Running a Hypothesis search for an audit: its settings, and what its failures mean.

A failing example is shrunk to the smallest Hypothesis finds. A failure is either
:class:`~lossopt_spec.audit.results.Diverged` (the example diverged: the audit's verdict) or
anything else the candidate raised (the audit could not run:
:class:`~lossopt_spec.audit.results.CandidateFailed`, exit 2). When Hypothesis finds several
distinct failures it raises them together (an exception group): the divergences in it win and
each other failure becomes a note; with no divergence among them the first error is reported.
Hypothesis' own errors (a flaky candidate, giving different results on the same example) are
audit errors too, with Hypothesis' message.

Imports Hypothesis: only a phase that draws examples imports this module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException
from hypothesis.reporting import with_reporter

from lossopt_spec.audit.results import AuditError, CandidateFailed, Diverged, Divergence, failure_text


def search(example: Callable[[st.DataObject], None], examples: int, seed: int, notes: list[str]) -> list[Divergence]:
    """Run ``example`` on up to ``examples`` drawn examples; the shrunk example's divergences, or ``[]``.

    Failures other than divergences found beside them are appended to ``notes``.
    """

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
        example(data)

    try:
        with with_reporter(lambda _message: None):
            run()
    except Diverged as diverged:
        return diverged.divergences
    except AuditError:
        raise
    except BaseExceptionGroup as group:
        return _from_group(group, notes)
    except HypothesisException as error:
        raise AuditError(f"the Hypothesis search could not finish: {failure_text(error)}") from error
    except Exception as error:
        raise CandidateFailed(f"the candidate raised while an example ran: {failure_text(error)}") from error
    return []


def _from_group(group: BaseExceptionGroup[Any], notes: list[str]) -> list[Divergence]:
    diverged, others = group.split(Diverged)
    if diverged is not None:
        found: list[Divergence] = []
        for error in _leaves(diverged):
            found.extend(error.divergences)  # type: ignore[attr-defined]
        for error in _leaves(others) if others is not None else []:
            notes.append(f"another drawn example failed differently: {failure_text(error)}")
        return found
    first = next(iter(_leaves(others))) if others is not None else group
    if isinstance(first, AuditError):
        raise first
    raise CandidateFailed(
        f"several examples failed; the first: {failure_text(first)}"  # type: ignore[arg-type]
    ) from group


def _leaves(group: BaseExceptionGroup[Any]) -> list[BaseException]:
    leaves: list[BaseException] = []
    for error in group.exceptions:
        leaves.extend(_leaves(error) if isinstance(error, BaseExceptionGroup) else [error])
    return leaves
