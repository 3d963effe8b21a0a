"""Fixtures shared by the torch package's tests."""

from __future__ import annotations

import pytest

from lossopt.optim.kernels import cpu_build as _cpu_kernels


@pytest.fixture
def without_cpu_kernels(monkeypatch):
    """lossopt's CPU kernels turned off (``LOSSOPT_CPU_KERNELS=0``): the fallbacks run, as without a compiler."""
    monkeypatch.setenv(_cpu_kernels.ENABLE_VARIABLE, "0")
    _cpu_kernels.reset()
    yield
    monkeypatch.delenv(_cpu_kernels.ENABLE_VARIABLE)
    _cpu_kernels.reset()


@pytest.fixture(params=["cpu-kernels", "fallback"])
def cpu_kernels(request, monkeypatch):
    """Run the test twice: with lossopt's CPU kernels, and with them off (torch's / compiled kernels)."""
    if request.param == "fallback":
        monkeypatch.setenv(_cpu_kernels.ENABLE_VARIABLE, "0")
    _cpu_kernels.reset()
    yield request.param
    monkeypatch.delenv(_cpu_kernels.ENABLE_VARIABLE, raising=False)
    _cpu_kernels.reset()
