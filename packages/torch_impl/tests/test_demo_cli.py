"""python -m lossopt demo: the quickstart converges and the CLI reports it."""

from lossopt.__main__ import main
from lossopt.examples import run_quickstart


def test_quickstart_converges():
    result = run_quickstart(epochs=10)
    assert result.losses[-1] < 0.01 * result.losses[0]
    assert result.weight_error < 0.05


def test_cli_demo_exits_zero_and_prints_verdict(capsys):
    assert main(["demo", "--epochs", "10"]) == 0
    assert "demo: converged" in capsys.readouterr().out
