"""The registry record of an optimizer: a pure ``init`` / ``update`` pair.

A parameter group is a list of float64 arrays; its state is a list of dicts, one per parameter,
with keys named as ``torch.optim`` names them (``momentum_buffer``, ``exp_avg``, ...) so a spec
state and a torch ``state_dict`` can be compared key by key. ``step`` is the 1-based index of the
update being computed. A rule whose parameters take other values for evaluation than for training
(Schedule-Free: :math:`x` and :math:`y`) also has the mode switches ``to_eval`` and ``to_train``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Params = list[np.ndarray]
State = list[dict[str, Any]]
HParams = Mapping[str, Any]
InitFn = Callable[[Params, Mapping[str, Any]], State]
UpdateFn = Callable[[Params, Params, State, int, Mapping[str, Any]], tuple[Params, State]]
ModeFn = Callable[[Params, State, Mapping[str, Any]], Params]


@dataclass(frozen=True)
class UpdateRule:
    """An optimizer of the spec.

    Attributes:
        name: the project-wide name (``"sgd"``).
        init: ``init(params, hparams) -> state``.
        update: ``update(params, grads, state, step, hparams) -> (params, state)``; pure: it
            returns new arrays and never writes into its arguments.
        defaults: every hyperparameter with its default, as the torch optimizer's signature.
        state_keys: the per-parameter state keys ``update`` maintains.
        min_dims: the fewest dims a parameter of a group at the defaults may have (0: any; Muon: 2, it
            orthogonalises matrices). The audit gives such a rule its problems' vectors as ``(1, n)`` rows
            and draws tensors of at least this many dims.
        to_eval: ``to_eval(params, state, hparams) -> params``, the parameters to evaluate from those
            ``update`` trains (the torch optimizer's ``eval()``); ``None`` where they are the same.
        to_train: ``to_train(params, state, hparams) -> params``, back (``train()``).
    """

    name: str
    init: InitFn
    update: UpdateFn
    defaults: Mapping[str, Any] = field(default_factory=dict)
    state_keys: tuple[str, ...] = ()
    min_dims: int = 0
    to_eval: ModeFn | None = None
    to_train: ModeFn | None = None

    def hparams(self, **overrides: Any) -> dict[str, Any]:
        """The defaults with ``overrides`` applied; an unknown name is an error."""
        unknown = sorted(set(overrides) - set(self.defaults))
        if unknown:
            raise TypeError(f"{self.name}: unknown hyperparameter(s) {unknown}; valid: {sorted(self.defaults)}")
        return {**self.defaults, **overrides}
