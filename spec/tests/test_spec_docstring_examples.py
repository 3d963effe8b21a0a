"""Every ``>>>`` example in lossopt_spec's docstrings runs and prints what it shows (they are in the docs)."""

import doctest
import importlib
import pkgutil

import pytest

import lossopt_spec

MODULES = sorted(
    {"lossopt_spec"}
    | {m.name for m in pkgutil.walk_packages(lossopt_spec.__path__, prefix="lossopt_spec.") if "__main__" not in m.name}
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples failed in {name}"
