"""Clipping by one global L2 norm over every gradient of every parameter group.

Symbols: gradients :math:`g^{(k)}` of every parameter :math:`k` in every group, threshold
:math:`M` (``max_grad_norm``), :math:`\\epsilon_c = 10^{-6}` (:data:`CLIP_EPS`).

.. math::

    n &= \\Big(\\sum_k \\lVert g^{(k)} \\rVert_2^2\\Big)^{1/2}                      &(c1)\\\\
    \\kappa &= \\min\\left(1, \\frac{M}{n + \\epsilon_c}\\right)                     &(c2)\\\\
    g^{(k)} &\\leftarrow \\kappa \\, g^{(k)}                                           &(c3)

exactly as ``torch.nn.utils.clip_grad_norm_`` (Pascanu et al. 2013, "On the difficulty of
training recurrent neural networks", arXiv:1211.5063). The rules apply (c3) to the gradient they
use; the caller's gradient arrays are not modified.

How a per-group ``update`` gets a norm over *every* group: an update rule receives one group, so
its ``update`` takes an optional keyword ``grad_norm`` (the :math:`n` of (c1) over all groups).
When it is omitted the rule uses the norm of its own group's gradients, which is the global norm
whenever there is a single group (trajectories, single-step checks). :func:`update_groups` steps
several groups the way the torch optimizers do: one norm over all of them, then each group's
update with that norm.

Non-finite norms follow ``clip_grad_norm_(error_if_nonfinite=False)``: a gradient holding
``inf`` gives :math:`n = \\infty` and :math:`\\kappa = 0` (finite gradient entries become 0, infinite
ones NaN); a NaN gives :math:`\\kappa = ` NaN and every clipped gradient is NaN. The update then
proceeds with those values (the optimizers also keep the norm for the training loop to inspect).

Differs from the original design: its snippet clips only ``param_groups[0]['params']`` (with the
norm of group 0 only) and clips ``p.grad`` in place; here the norm covers every group and the
clipped gradient is what the update uses.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

CLIP_EPS = 1e-6

CLIP_DEFAULTS: dict[str, Any] = {"max_grad_norm": None}


def global_grad_norm(grads: Iterable[np.ndarray]) -> float:
    """(c1) the L2 norm of all ``grads`` taken together (0.0 for none), in float64."""
    total = 0.0
    for grad in grads:
        total += float(np.sum(np.square(np.asarray(grad, dtype=np.float64))))
    return float(np.sqrt(total))  # (c1) n = sqrt(sum |g|^2)


def clip_coefficient(norm: float, max_norm: float) -> float:
    """(c2) :math:`\\kappa = \\min(1, M / (n + \\epsilon_c))`; NaN when ``norm`` is NaN, 0 when it is inf."""
    return float(np.minimum(1.0, max_norm / (norm + CLIP_EPS)))  # (c2) kappa = min(1, M / (n + eps))


def clipped_grads(grads: Sequence[np.ndarray], hparams: Mapping[str, Any], grad_norm: float | None) -> list[np.ndarray]:
    """(c3) the gradients a rule uses: scaled by :math:`\\kappa` when ``hparams['max_grad_norm']`` is set.

    ``grad_norm`` is the global norm over every group; ``None`` means "this group is all there is".
    Without clipping the arrays are returned as float64, unscaled.
    """
    arrays = [np.asarray(g, dtype=np.float64) for g in grads]
    max_norm = hparams.get("max_grad_norm")
    if max_norm is None:
        return arrays
    norm = global_grad_norm(arrays) if grad_norm is None else grad_norm
    coefficient = clip_coefficient(norm, max_norm)
    return [g * coefficient for g in arrays]  # (c3) g <- kappa g


GroupUpdate = Callable[..., tuple[list[np.ndarray], list[dict[str, Any]]]]


def update_groups(
    update: GroupUpdate,
    groups: Sequence[Sequence[np.ndarray]],
    grads: Sequence[Sequence[np.ndarray]],
    states: Sequence[list[dict[str, Any]]],
    step: int,
    hparams: Sequence[Mapping[str, Any]],
) -> tuple[list[list[np.ndarray]], list[list[dict[str, Any]]]]:
    """One step over several parameter groups with one global gradient norm, as the torch optimizers take it.

    ``update`` is a rule's ``update``; ``groups[i]``, ``grads[i]``, ``states[i]`` and
    ``hparams[i]`` belong to group ``i``. Returns the new parameters and states per group.
    """
    norm = global_grad_norm(g for group in grads for g in group)
    new_params, new_states = [], []
    for params, group_grads, state, group_hparams in zip(groups, grads, states, hparams, strict=True):
        p, s = update(list(params), list(group_grads), state, step, group_hparams, grad_norm=norm)
        new_params.append(p)
        new_states.append(s)
    return new_params, new_states
