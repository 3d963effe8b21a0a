"""Devices as a pytest parameter: every test taking a ``device`` argument runs once per device.

``--devices=auto`` (default) runs ``cpu`` and, when ``torch.cuda.is_available()``, ``cuda``.
``--devices=cpu``, ``--devices=cuda`` or ``--devices=cpu,cuda`` choose; a requested device that
is not present skips its tests with the reason.

Every run writes the conformance report (:mod:`conformance.report`): ``--conformance-report=PATH.json``
(default ``reports/conformance/torch-<version>-<devices>.json`` under the rootdir; ``none`` writes
nothing). Tests marked ``not_in_report`` are left out of it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conformance.kernel_paths import kernel_paths
from conformance.report import ReportPlugin
from lossopt import _torch_compat

KNOWN_DEVICES = ("cpu", "cuda")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--devices",
        default="auto",
        help="comma-separated devices to run conformance on (cpu, cuda) or 'auto' (cpu, plus cuda when available)",
    )
    parser.addoption(
        "--conformance-report",
        default=None,
        help="where the conformance run record goes (JSON; the Markdown table is written next to it), or 'none'; "
        "default reports/conformance/torch-<version>-<devices>.json under the rootdir",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "not_in_report: comparisons made by this test stay out of the conformance report"
    )
    option = config.getoption("--conformance-report")
    devices = _requested_devices(config)
    if option == "none":
        path = None
    elif option:
        path = Path(option)
    else:
        path = config.rootpath / "reports" / "conformance" / f"torch-{torch.__version__}-{'+'.join(devices)}.json"
    config.pluginmanager.register(
        ReportPlugin(
            path,
            torch_version=torch.__version__,
            devices=devices,
            torch_features={**_torch_compat.describe(), "kernel_paths": kernel_paths()},
        ),
        "lossopt-conformance-report",
    )


def _requested_devices(config: pytest.Config) -> list[str]:
    value = config.getoption("--devices")
    if value == "auto":
        return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]
    devices = [d.strip() for d in value.split(",") if d.strip()]
    unknown = [d for d in devices if d not in KNOWN_DEVICES]
    if unknown or not devices:
        raise pytest.UsageError(f"--devices: unknown device(s) {unknown or value!r}; use {KNOWN_DEVICES} or 'auto'")
    return devices


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", _requested_devices(metafunc.config), scope="session")


@pytest.fixture(autouse=True)
def _skip_absent_device(request: pytest.FixtureRequest) -> None:
    device = request.node.callspec.params.get("device") if hasattr(request.node, "callspec") else None
    if device == "cuda" and not torch.cuda.is_available():
        pytest.skip(
            f"CUDA requested but torch {torch.__version__} sees no CUDA device "
            f"(torch.version.cuda={torch.version.cuda})"
        )


def pytest_report_header(config: pytest.Config) -> str:
    return f"lossopt conformance: torch {torch.__version__}, devices {_requested_devices(config)}"
