"""Every ``>>>`` example in lossopt's docstrings runs and prints what it shows."""

import doctest
import importlib
import pkgutil

import pytest

import lossopt

MODULES = sorted(
    {"lossopt"}
    | {m.name for m in pkgutil.walk_packages(lossopt.__path__, prefix="lossopt.") if not m.name.endswith("__main__")}
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples failed in {name}"
