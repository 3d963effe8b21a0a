"""Audit a torch optimizer against an update rule of the spec.

::

    python -m lossopt_spec.audit my_pkg.module:MyAdam --rule adamw --config '{"lr": 1e-3}'

runs the candidate (any ``torch.optim.Optimizer`` subclass, or a callable returning one from
``(params, **hyperparameters)``) and the spec rule side by side, first on the golden problems of
:mod:`lossopt_spec.problems` (quadratic, Rosenbrock, tiny MLP; 50 steps each by default), then on
Hypothesis-drawn examples (parameter groups of drawn shapes and values in [-10, 10], driven for 1
to 12 steps by drawn gradients of a drawn scale: 1e-3, 1 or 100; 1e-3 or 1 below float64). It
reports the first step and the tensor (a parameter or a state entry, torch.optim's names) where
the two diverge, with both values, or "conforms" with the largest error seen. A rule of matrices
(``UpdateRule.min_dims`` 2: Muon) gets the problems' vectors as ``(1, n)`` rows and drawn 2-d tensors. Exit status: 0
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

Modules: :mod:`~lossopt_spec.audit.runner` (:func:`audit`: the phases),
:mod:`~lossopt_spec.audit.lockstep` (one step on both sides), :mod:`~lossopt_spec.audit.bridge`
(NumPy <-> torch, shared with the conformance suite), :mod:`~lossopt_spec.audit.candidates`
(loading the candidate and the hyperparameters it takes), :mod:`~lossopt_spec.audit.results`
(the report) and :mod:`~lossopt_spec.audit.cli` (the command line). The tolerances are
:data:`lossopt_spec.tolerances.DEFAULT_TOLERANCES`, the conformance suite's.
"""

from lossopt_spec.audit.candidates import load_candidate
from lossopt_spec.audit.cli import main
from lossopt_spec.audit.results import AuditError, AuditResult, CandidateFailed, Divergence, PhaseResult
from lossopt_spec.audit.runner import audit
from lossopt_spec.tolerances import AUDIT_TOLERANCES

__all__ = [
    "AUDIT_TOLERANCES",
    "AuditError",
    "AuditResult",
    "CandidateFailed",
    "Divergence",
    "PhaseResult",
    "audit",
    "load_candidate",
    "main",
]
