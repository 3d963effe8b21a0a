"""Tensors in an entry's parameter groups on both sides: the torch optimizer's group dicts and the spec's groups.

Most rules take every tensor in one group; Muon puts matrices in a Muon group and the rest in an AdamW group
(``OptimizerInfo.grouping``). The spec side steps every group with one global gradient norm
(``lossopt_spec.optim.clip.update_groups``), as the torch optimizers step their param groups.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from conformance.assertions import assert_matches_spec
from conformance.entries import Grouping, OptimizerInfo
from lossopt_spec.optim.clip import update_groups


def torch_groups(tensors: Sequence[Any], grouping: Grouping) -> list[dict[str, Any]]:
    """The param-group dicts of ``tensors`` (a group's overrides as its keys)."""
    return [{"params": [tensors[i] for i in indices], **overrides} for indices, overrides in grouping]


def split(info: OptimizerInfo, groups: Sequence[Sequence[Any]], overrides: Sequence[Mapping[str, Any]]) -> Grouping:
    """Groups of a test (tensors with their shapes, and each group's overrides), each split by the entry's grouping;
    indices count the tensors of every group in order."""
    out: Grouping = []
    start = 0
    for tensors, own in zip(groups, overrides, strict=True):
        for indices, extra in info.grouping([tuple(np.shape(t)) for t in tensors]):
            out.append(([start + i for i in indices], {**own, **extra}))
        start += len(tensors)
    return out


class SpecGroups:
    """The spec's side of grouped parameters: their values, states and hyperparameters, per group."""

    def __init__(
        self, info: OptimizerInfo, arrays: Sequence[np.ndarray], grouping: Grouping, hparams: Mapping[str, Any]
    ):
        self.rule, self.grouping, self.count = info.spec, grouping, len(arrays)
        self.hparams = [self.rule.hparams(**{**hparams, **overrides}) for _, overrides in grouping]
        self.params = [[np.asarray(arrays[i], dtype=np.float64) for i in indices] for indices, _ in grouping]
        self.states = [self.rule.init(p, h) for p, h in zip(self.params, self.hparams, strict=True)]

    def step(self, grads: Sequence[np.ndarray], step: int) -> None:
        per_group = [[grads[i] for i in indices] for indices, _ in self.grouping]
        self.params, self.states = update_groups(
            self.rule.update, self.params, per_group, self.states, step, self.hparams
        )

    def assert_matched(self, params: Sequence[Any], *, label: str = "", **report: Any) -> None:
        """Every torch parameter equals its spec value (``assert_matches_spec``; ``report``: its other keywords,
        ``label`` appended to each ``param{i}``)."""
        for i, (got, want) in enumerate(zip(params, self.flat(), strict=True)):
            assert_matches_spec(got, want, check=f"param{i}{label}", **report)

    def flat(self) -> list[np.ndarray]:
        """The parameters in the order of the arrays given."""
        out: list[Any] = [None] * self.count
        for values, (indices, _) in zip(self.params, self.grouping, strict=True):
            for index, value in zip(indices, values, strict=True):
                out[index] = value
        return out
