"""Every code block of the design document that uses lossopt's API runs as written, apart from the import.

The document (``data/loss_and_optim_design.md``, a copy of the project's seed) is parsed; each
Python block that reads one of the API's names (``create_optimizer``, ``ClassificationLosses``,
``AdvancedAdamW``, ``LossFunctionExamples``, ...) is executed with ``from lossopt import ...``
in place of its relative imports and the few fixtures it assumes (``model``, ``predictions``,
``dataloader``, ``num_epochs``, ``logger``). Results must be finite and trainable: losses have
finite, non-zero gradients, optimizers lower the training loss. The two feature blocks are split
into their statements, which need different fixtures.
"""

from __future__ import annotations

import ast
import logging
import math
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from lossopt import compat

DOCUMENT = Path(__file__).parent / "data" / "loss_and_optim_design.md"

API_NAMES = {
    "create_optimizer",
    "create_loss_function",
    "ClassificationLosses",
    "RegressionLosses",
    "SegmentationLosses",
    "CustomLosses",
    "LossFunctionExamples",
    "OptimizationExamples",
    "TrainingExamples",
    "LossOptimizationAnalysis",
    *compat.DESIGN_OPTIMIZERS,
}
IMPORT = f"from lossopt import {', '.join(sorted(API_NAMES))}\nimport torch\nfrom torch import nn\n"


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small models: one thread is fastest and immune to a loaded machine
    yield
    torch.set_num_threads(threads)


def code_blocks() -> list[tuple[str, str]]:
    """(heading, code) of every ```python block, with the nearest heading above it."""
    text = DOCUMENT.read_text(encoding="utf-8")
    blocks, heading = [], ""
    for match in re.finditer(r"^(#+ [^\n]*)$|^```python\n(.*?)^```", text, re.MULTILINE | re.DOTALL):
        if match.group(1):
            heading = match.group(1).lstrip("#").replace("*", "").strip()
        else:
            blocks.append((heading, match.group(2)))
    return blocks


def uses_api(code: str) -> bool:
    """The code reads one of the API's names (a ``class AdvancedAdamW(...)`` definition does not)."""
    return any(
        isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in API_NAMES
        for node in ast.walk(ast.parse(code))
    )


def as_lossopt_imports(code: str) -> str:
    """``from .optimization_algorithms import create_optimizer`` -> ``from lossopt import create_optimizer``."""
    return re.sub(r"^(\s*)from \.\w+ import ", r"\1from lossopt import ", code, flags=re.MULTILINE)


# ---------------------------------------------------------------------------------------- fixtures


def _gen(seed: int = 1) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _leaf(*shape: int) -> torch.Tensor:
    # predictions from their own stream, so they never equal the targets drawn with _gen()
    return torch.randn(*shape, generator=_gen(0)).requires_grad_()


def _loss_fixtures(qualname: str) -> dict[str, Any]:
    """The variables a loss statement of the feature block reads, shaped for that loss."""
    g = _gen()
    namespace, method = qualname.split(".")
    if method in ("cross_entropy_loss", "focal_loss", "hinge_loss") and namespace == "ClassificationLosses":
        return {"predictions": _leaf(16, 5), "targets": torch.randint(0, 5, (16,), generator=g)}
    if method in ("dice_loss", "iou_loss") or namespace == "SegmentationLosses":
        return {"predictions": _leaf(4, 1, 8, 8), "targets": (torch.rand(4, 1, 8, 8, generator=g) < 0.4).float()}
    if namespace == "RegressionLosses":
        return {"predictions": _leaf(16, 4), "targets": torch.randn(16, 4, generator=g)}
    if method == "contrastive_loss":
        return {"embeddings": _leaf(16, 8), "labels": torch.arange(16) % 4}
    if method == "triplet_loss":
        return {"anchor": _leaf(16, 8), "positive": torch.randn(16, 8, generator=g), "negative": torch.randn(16, 8)}
    if method == "multi_task_loss":
        return {
            "predictions": {"classification": _leaf(16, 5), "regression": _leaf(16, 3)},
            "targets": {
                "classification": torch.randint(0, 5, (16,), generator=g),
                "regression": torch.randn(16, 3, generator=g),
            },
            "loss_weights": {"classification": 1.0, "regression": 0.5},
        }
    raise AssertionError(f"no fixture for {qualname}: add one")


def _called_qualname(statement: ast.stmt) -> str:
    call = statement.value if isinstance(statement, (ast.Assign, ast.Expr)) else None
    assert isinstance(call, ast.Call), ast.unparse(statement)
    assert isinstance(call.func, ast.Attribute), ast.unparse(statement)
    assert isinstance(call.func.value, ast.Name)
    return f"{call.func.value.id}.{call.func.attr}"


def _classifier() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 5))


def _classification_batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = _gen()
    y = torch.randint(0, 5, (128,), generator=g)
    x = torch.randn(5, 20, generator=g)[y] + torch.randn(128, 20, generator=g)
    return x, y


def _train(model: nn.Module, optimizer: torch.optim.Optimizer, loss_fn: Any, steps: int) -> tuple[float, float]:
    x, y = _classification_batch()
    loss_fn = loss_fn or (lambda out, target: nn.functional.cross_entropy(out, target))
    with torch.no_grad():
        before = float(loss_fn(model(x), y))
    for _ in range(steps):
        optimizer.zero_grad()
        loss_fn(model(x), y).backward()
        optimizer.step()
    with torch.no_grad():
        after = float(loss_fn(model(x), y))
    return before, after


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _logger() -> tuple[logging.Logger, _Collect]:
    logger = logging.getLogger("lossopt.tests.design_document")
    logger.handlers.clear()
    handler = _Collect()
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, handler


def _loop_fixtures(kind: str) -> dict[str, Any]:
    g = _gen()
    if kind == "classification":  # the design's 100 -> 10 model; 8 batches of 32; 25 epochs = 200 steps
        centers = 2.0 * torch.randn(10, 100, generator=g)
        batches = []
        for _ in range(8):
            y = torch.randint(0, 10, (32,), generator=g)
            batches.append((centers[y] + torch.randn(32, 100, generator=g), y))
        return {"dataloader": batches, "num_epochs": 25}
    if kind == "segmentation":
        batches = []
        for _ in range(4):
            mask = (torch.rand(8, 1, 16, 16, generator=g) < 0.3).float()
            batches.append((mask + 0.3 * torch.randn(8, 1, 16, 16, generator=g), mask))
        return {"dataloader": batches, "num_epochs": 10}
    if kind == "multi_task":
        w = torch.randn(100, 5, generator=g) / 10
        batches = []
        for _ in range(4):
            x = torch.randn(32, 100, generator=g)
            batches.append((x, {"classification": (x[:, :10]).argmax(dim=1), "regression": x @ w}))
        return {"dataloader": batches, "num_epochs": 10}
    raise AssertionError(kind)


# ------------------------------------------------------------------------------------------- cases

LOOP_BLOCKS = {
    "1. Complete Training Pipeline": "classification",
    "2. Segmentation Training": "segmentation",
    "3. Multi-Task Learning": "multi_task",
}
SPLIT_BLOCKS = {"Loss Function Features", "Optimizer Features"}
WHOLE_BLOCKS = {"Factory Functions", "Example Implementations", *LOOP_BLOCKS}


def cases() -> list[Any]:
    out = []
    for heading, code in code_blocks():
        if not uses_api(code):
            continue
        if heading in SPLIT_BLOCKS:
            for statement in ast.parse(code).body:
                source = ast.unparse(statement)
                out.append(pytest.param(heading, source, id=f"{heading}: {source.split('(')[0]}"))
        else:
            out.append(pytest.param(heading, code, id=heading))
    return out


def test_the_document_has_the_blocks_this_test_knows():
    headings = {heading for heading, code in code_blocks() if uses_api(code)}
    assert headings == SPLIT_BLOCKS | WHOLE_BLOCKS, "a block of the document is new or gone: update the fixtures"
    # the blocks that only sketch implementations (snippets lossopt corrects, docs/differences.toml) are not API uses
    sketches = [heading for heading, code in code_blocks() if not uses_api(code)]
    assert "Advanced AdamW with Warmup and Gradient Clipping" in sketches
    assert "Focal Loss for Class Imbalance" in sketches


def test_the_copy_is_the_projects_design_document():
    seed = Path(__file__).resolve().parents[3].parent / "shared" / "seed" / DOCUMENT.name
    if not seed.exists():
        pytest.skip(f"no {seed} beside this checkout to compare the copy with")
    assert DOCUMENT.read_bytes() == seed.read_bytes(), f"{DOCUMENT} differs from {seed}: copy it again, verbatim"


def test_relative_imports_become_lossopt_imports():
    assert as_lossopt_imports("    from .loss_functions import CustomLosses\n") == (
        "    from lossopt import CustomLosses\n"
    )


def _check_loss(value: Any, leaves: list[torch.Tensor], where: str) -> None:
    assert isinstance(value, torch.Tensor), f"{where}: returned {type(value).__name__}, not a tensor"
    assert torch.isfinite(value).all(), f"{where}: not finite: {value}"
    value.sum().backward()
    grads = [leaf.grad for leaf in leaves if leaf.grad is not None]
    assert grads, f"{where}: no gradient reached the predictions"
    assert all(torch.isfinite(g).all() for g in grads), f"{where}: non-finite gradient"
    assert any(g.abs().sum() > 0 for g in grads), f"{where}: zero gradient everywhere (not trainable)"


def _run_statement(heading: str, source: str) -> None:
    statement = ast.parse(source).body[0]
    assert isinstance(statement, ast.Assign)
    assert isinstance(statement.targets[0], ast.Name)
    target = statement.targets[0].id
    if heading == "Loss Function Features":
        fixtures = _loss_fixtures(_called_qualname(statement))
        namespace: dict[str, Any] = dict(fixtures)
        exec(IMPORT + source, namespace)
        leaves = [v for v in fixtures.values() if isinstance(v, torch.Tensor) and v.requires_grad]
        leaves += [
            t
            for v in fixtures.values()
            if isinstance(v, dict)
            for t in v.values()
            if isinstance(t, torch.Tensor) and t.requires_grad
        ]
        _check_loss(namespace[target], leaves, source.split("(")[0])
    else:  # an optimizer constructed over model.parameters(): it must lower the training loss
        model = _classifier()
        start = [p.detach().clone() for p in model.parameters()]
        namespace = {"model": model}
        exec(IMPORT + source, namespace)
        before, after = _train(model, namespace[target], None, steps=200)
        assert any(not torch.equal(a, p) for a, p in zip(start, model.parameters(), strict=True)), "params never moved"
        assert math.isfinite(after), f"{source.split('(')[0]}: loss {before} -> {after}"
        assert after < before, f"{source.split('(')[0]}: loss {before} -> {after}"


def _losses_logged(messages: list[str], epochs: int) -> list[list[float]]:
    values = [float(m.rsplit("Loss: ", 1)[1]) for m in messages]
    per_epoch = len(values) // epochs
    return [values[i * per_epoch : (i + 1) * per_epoch] for i in range(epochs)]


@pytest.mark.slow
@pytest.mark.parametrize(("heading", "code"), cases())
def test_design_document_block_runs(heading, code):
    if heading in SPLIT_BLOCKS:
        _run_statement(heading, code)
        return
    code = as_lossopt_imports(code)
    namespace: dict[str, Any] = {}
    if heading in LOOP_BLOCKS:
        logger, handler = _logger()
        namespace.update(_loop_fixtures(LOOP_BLOCKS[heading]), logger=logger)
        exec(IMPORT + code, namespace)
        epochs = _losses_logged(handler.messages, namespace["num_epochs"])
        flat = [v for epoch in epochs for v in epoch]
        assert flat, f"{heading}: nothing logged"
        assert all(math.isfinite(v) for v in flat), f"{heading}: logged losses {flat}"
        first, last = sum(epochs[0]) / len(epochs[0]), sum(epochs[-1]) / len(epochs[-1])
        assert last < first, f"{heading}: mean loss of the first epoch {first} -> last epoch {last}"
    elif heading == "Factory Functions":
        namespace["model"] = _classifier()
        exec(IMPORT + code, namespace)
        before, after = _train(namespace["model"], namespace["optimizer"], namespace["loss_fn"], steps=200)
        assert math.isfinite(after), f"{heading}: loss {before} -> {after}"
        assert after < before, f"{heading}: loss {before} -> {after}"
    else:  # Example Implementations
        exec(IMPORT + code, namespace)
        for name in ("classification_losses", "regression_losses", "segmentation_losses", "custom_losses"):
            assert namespace[name].all_finite(), f"{name}: {namespace[name]}"
        assert namespace["multi_task_loss"].all_finite()
        assert namespace["regression_losses"].values, "no regression loss evaluated"
        assert namespace["basic_optimizers"], "no optimizer in the basic examples"
        assert all(isinstance(o, torch.optim.Optimizer) for o in namespace["basic_optimizers"].values())
        assert isinstance(namespace["basic_model"], nn.Module)
        assert namespace["basic_x"].shape[0] == 256
        for name in ("classification_training", "regression_training", "segmentation_training"):
            assert namespace[name].decreased, f"{name}: {namespace[name].epoch_losses}"
        assert namespace["optimizer_comparison"].all_decreased()
        assert all(math.isfinite(v) for vs in namespace["loss_comparison"].regression_values.values() for v in vs)
