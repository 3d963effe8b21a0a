"""The command line: every subcommand on tiny settings, --help, usage errors, determinism, the report."""

import importlib.metadata
import subprocess
import sys

import pytest
import torch
from png_checks import assert_not_blank

from lossopt.__main__ import main
from lossopt.examples import run_quickstart
from lossopt.examples.catalogue import registered_losses
from lossopt.factory import LOSSES, OPTIMIZERS


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)  # the CLI sets --threads (default 1)


def expected_plots(problems):
    names = ["training.png", *(f"optimizers_{p}.png" for p in problems), "regression_losses.png"]
    if {"cross_entropy", "focal"} & set(LOSSES):
        names.append("focal_vs_ce.png")
    return sorted(names)


def test_quickstart_converges():
    result = run_quickstart(epochs=10)
    assert result.losses[-1] < 0.01 * result.losses[0]
    assert result.weight_error < 0.05


def test_demo_writes_summary_and_non_blank_plots(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path), "--steps", "30", "--epochs", "2"]) == 0
    out = capsys.readouterr().out
    assert "demo: every run decreased its training loss" in out
    assert f"report folder: {tmp_path.resolve()}" in out
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    assert pngs == expected_plots(["regression", "classification", "segmentation", "multi_task"])
    for png in tmp_path.glob("*.png"):
        assert_not_blank(png)
    summary = (tmp_path / "summary.md").read_text()
    for needle in ("## Training examples", "## Optimizer comparison (30 full-batch steps", "Fastest to converge on"):
        assert needle in summary
    assert "Verdict: every optimizer setting decreased the training loss on every problem." in summary
    assert all(f"![{p[:-4]}]({p})" in summary for p in pngs)
    assert "seed=0, steps=30, epochs=2, device=cpu" in summary


def test_demo_without_plots_writes_only_the_summary(tmp_path):
    assert main(["demo", "-o", str(tmp_path), "--steps", "5", "--epochs", "2", "--no-plots"]) == 0
    assert [p.name for p in tmp_path.iterdir()] == ["summary.md"]


def test_compare_optimizers_prints_fastest_and_plots(tmp_path, capsys):
    argv = ["compare-optimizers", "--steps", "20", "--problems", "regression", "classification", "-o", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("fastest: ") == 2
    assert sorted(p.name for p in tmp_path.glob("*.png")) == [
        "optimizers_classification.png",
        "optimizers_regression.png",
    ]


def test_compare_losses_prints_fits_and_plots(tmp_path, capsys):
    assert main(["compare-losses", "--steps", "20", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in registered_losses("regression"):
        assert f"  {name}" in out
    assert (tmp_path / "regression_losses.png").exists()


def test_list_names_the_registered_entries(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert f"losses:     {', '.join(sorted(LOSSES))}" in out
    assert f"optimizers: {', '.join(sorted(OPTIMIZERS))}" in out


def test_same_seed_same_numbers_other_seed_other_numbers(tmp_path, capsys):
    def run(seed):
        argv = ["compare-optimizers", "--steps", "10", "--problems", "regression", "--seed", str(seed), "--no-plots"]
        assert main(argv) == 0
        return capsys.readouterr().out

    assert run(3) == run(3)
    assert run(3) != run(4)


@pytest.mark.parametrize("command", [[], ["demo"], ["compare-optimizers"], ["compare-losses"], ["list"]])
def test_help_works(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: lossopt")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--steps", "0"], "argument --steps: expected a positive integer, got 0"),
        (["demo", "--epochs", "many"], "argument --epochs: expected a positive integer, got 'many'"),
        (["demo", "--bogus"], "unrecognized arguments: --bogus"),
        (["compare-optimizers", "--problems", "imagenet"], "argument --problems: invalid choice: 'imagenet'"),
        (["compare-losses", "--device", "tpu:x"], "argument --device: not a torch device: 'tpu:x'"),
        (["train"], "argument COMMAND: invalid choice: 'train'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_option_is_a_usage_error(argv, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: lossopt")
    assert message in err


def test_missing_matplotlib_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr("lossopt.examples.demo.plots_available", lambda: False)
    with pytest.raises(SystemExit) as exit_info:
        main(["compare-losses", "--steps", "5", "-o", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "plots need matplotlib: pip install 'lossopt[plots]' (or pass --no-plots)" in capsys.readouterr().err


def test_progress_bars_only_when_asked_or_on_a_terminal(capsys):
    argv = ["compare-optimizers", "--steps", "3", "--problems", "regression", "--no-plots"]
    assert main(argv) == 0
    assert capsys.readouterr().err == ""  # stderr is not a terminal under pytest
    assert main([*argv, "--progress"]) == 0
    assert "regression: sgd" in capsys.readouterr().err


def test_module_and_console_script_entry_points():
    done = subprocess.run([sys.executable, "-m", "lossopt", "list"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("losses:")
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="lossopt")
    assert script.value == "lossopt.__main__:main"
