"""The spec, lossopt and the conformance registry define the same names."""

import pytest

import lossopt
import lossopt_spec
from conformance.registry import LOSS_INFOS, OPTIMIZER_INFOS


def missing_names(kind: str, sides: dict[str, set[str]]) -> list[str]:
    """One sentence per name that some side defines and another lacks."""
    problems = []
    for holder, names in sides.items():
        for other, other_names in sides.items():
            for name in sorted(other_names - names):
                problems.append(f"{holder} is missing the {kind} {name!r} that {other} defines")
    return problems


@pytest.mark.parametrize(
    ("kind", "sides"),
    [
        (
            "loss",
            {"lossopt": set(lossopt.LOSSES), "lossopt_spec": set(lossopt_spec.LOSSES), "conformance": set(LOSS_INFOS)},
        ),
        (
            "optimizer",
            {
                "lossopt": set(lossopt.OPTIMIZERS),
                "lossopt_spec": set(lossopt_spec.OPTIMIZERS),
                "conformance": set(OPTIMIZER_INFOS),
            },
        ),
    ],
)
def test_every_side_defines_the_same_names(kind, sides):
    problems = missing_names(kind, sides)
    assert not problems, "; ".join(problems)


def test_missing_names_message_names_entry_and_sides():
    problems = missing_names("loss", {"lossopt": {"mse"}, "lossopt_spec": {"mse", "tversky"}})
    assert problems == ["lossopt is missing the loss 'tversky' that lossopt_spec defines"]


def test_registry_keys_are_the_entries_names():
    assert all(name == info.name for name, info in LOSS_INFOS.items())
    assert all(name == info.name for name, info in OPTIMIZER_INFOS.items())
    assert all(lossopt_spec.LOSSES[name].name == name for name in lossopt_spec.LOSSES)
    assert all(lossopt_spec.OPTIMIZERS[name].name == name for name in lossopt_spec.OPTIMIZERS)


def test_spec_rule_defaults_equal_torch_constructor_defaults():
    import inspect

    for name, info in OPTIMIZER_INFOS.items():
        signature = inspect.signature(info.torch_cls.__init__).parameters
        for key, default in info.spec.defaults.items():
            assert key in signature, f"{name}: spec hyperparameter {key!r} is not a {info.torch_cls.__name__} argument"
            assert signature[key].default == default, (
                f"{name}: default {key}={signature[key].default!r} in lossopt vs {default!r} in the spec"
            )
