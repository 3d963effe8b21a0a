"""One rank of the 2-process CPU (gloo) run of ``test_distributed.py``; also the problem both sides share.

Run as ``python _distributed_worker.py OUT_DIR`` with ``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and
``MASTER_PORT`` set (``test_distributed.py`` launches it). Every scenario trains the same tiny MLP on
the same global batches; each rank takes its half of every batch. Rank 0 writes the final full
parameters (and any scenario's error, as text) to ``OUT_DIR/results.pt``; the test computes the
single-process trajectories itself with :func:`single_process` and compares.

The functions above ``main`` import nothing distributed, so the test imports this file for them.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import torch

from lossopt.optim import AdaBelief, AdvancedAdam, AdvancedAdamW, AdvancedSGD, Muon, RAdam
from lossopt.optim.muon import muon_groups

STEPS = 6
GLOBAL_BATCH = 8
IN, HIDDEN, OUT = 6, 8, 3  # OUT = 3 rows: FSDP2 shards the last weight unevenly over 2 ranks (2 + 1)
DTYPE = torch.float64  # float64: reordering a sum changes the result by ~1e-16 relative, not ~1e-7

MUON_HPARAMS: dict[str, Any] = {"lr": 0.05, "warmup_steps": 2, "max_grad_norm": 0.5, "ns_dtype": torch.float64}

# lr, warmup and clipping on (clipping active: max_grad_norm below the first steps' norms)
OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "sgd": (AdvancedSGD, {"lr": 0.1, "momentum": 0.9, "warmup_steps": 2, "max_grad_norm": 0.5}),
    "adamw": (AdvancedAdamW, {"lr": 0.05, "warmup_steps": 2, "max_grad_norm": 0.5, "weight_decay": 0.1}),
    "adam": (AdvancedAdam, {"lr": 0.05, "warmup_steps": 2, "max_grad_norm": 0.5, "amsgrad": True}),
    "radam": (RAdam, {"lr": 0.05, "warmup_steps": 2, "max_grad_norm": 0.5}),
    "adabelief": (AdaBelief, {"lr": 0.05, "warmup_steps": 2, "max_grad_norm": 0.5}),
    # the weights in a Muon group (orthogonalised whole under FSDP2: gathered), the biases in an AdamW group;
    # a float64 orthogonalisation, so that the reduction order's ulps stay ulps
    "muon": (lambda params, **kw: Muon(muon_groups(params), **kw), {**MUON_HPARAMS}),
    "muon_single": (lambda params, **kw: Muon(muon_groups(params), foreach=False, **kw), {**MUON_HPARAMS}),
}
FSDP_HPARAMS: dict[str, Any] = {"lr": 0.05, "max_grad_norm": 0.05, "weight_decay": 0.1}  # norms ~0.3-1: clips
FSDP_KERNELS: dict[str, dict[str, Any]] = {"foreach": {}, "single": {"foreach": False}, "fused": {"fused": True}}
ZERO_HPARAMS: dict[str, Any] = {"lr": 0.05, "warmup_steps": 2, "weight_decay": 0.1}  # no max_grad_norm: see test


def make_model() -> torch.nn.Module:
    """The same initial weights in every process."""
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(IN, HIDDEN), torch.nn.Tanh(), torch.nn.Linear(HIDDEN, OUT)).to(DTYPE)


def make_batches() -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``STEPS`` global batches of ``GLOBAL_BATCH`` rows."""
    generator = torch.Generator().manual_seed(1)
    return [
        (
            torch.randn(GLOBAL_BATCH, IN, generator=generator, dtype=DTYPE),
            torch.randn(GLOBAL_BATCH, OUT, generator=generator, dtype=DTYPE),
        )
        for _ in range(STEPS)
    ]


def shard(batch: tuple[torch.Tensor, torch.Tensor], rank: int, world_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rank ``rank``'s contiguous slice of a global batch."""
    rows = GLOBAL_BATCH // world_size
    x, y = batch
    return x[rank * rows : (rank + 1) * rows], y[rank * rows : (rank + 1) * rows]


def train(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: list[tuple[torch.Tensor, torch.Tensor]],
    on_step: Callable[[], None] | None = None,
) -> None:
    """``STEPS`` steps of mean-squared error (the mean over the rows this process holds)."""
    for x, y in batches:
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x), y).backward()
        optimizer.step()
        if on_step is not None:
            on_step()


def single_process(cls: type[torch.optim.Optimizer], hparams: dict[str, Any]) -> tuple[list[torch.Tensor], list[Any]]:
    """The reference: the full batches in one process. Returns the final parameters and ``last_grad_norm`` per step."""
    model = make_model()
    optimizer = cls(model.parameters(), **hparams)
    norms: list[Any] = []
    train(model, optimizer, make_batches(), lambda: norms.append(_norm(optimizer)))
    return [p.detach().clone() for p in model.parameters()], norms


def _norm(optimizer: Any) -> float | None:
    """``float(optimizer.last_grad_norm)``, as a training loop would log it (a replicated DTensor under FSDP2)."""
    norm = getattr(optimizer, "last_grad_norm", None)
    return None if norm is None else float(norm)


def _full(p: torch.Tensor) -> torch.Tensor:
    """The whole parameter (a collective for a DTensor: every rank must call it)."""
    data = p.detach()
    return (data.full_tensor() if hasattr(data, "full_tensor") else data).clone()


def _fully_shard(model: torch.nn.Module) -> list[torch.Tensor]:
    """FSDP2 on each Linear and on the root; returns the parameters (DTensors sharded on dim 0)."""
    try:
        from torch.distributed.fsdp import fully_shard
    except ImportError:  # torch < 2.6
        from torch.distributed._composable.fsdp import fully_shard  # type: ignore[no-redef]
    from torch.distributed.tensor import DTensor

    for layer in model:
        if isinstance(layer, torch.nn.Linear):
            fully_shard(layer)
    fully_shard(model)
    params = list(model.parameters())
    if not all(isinstance(p, DTensor) for p in params):
        raise AssertionError(f"fully_shard left plain tensors: {[type(p).__name__ for p in params]}")
    return params


def run_ddp(name: str, rank: int, world_size: int) -> dict[str, Any]:
    from torch.nn.parallel import DistributedDataParallel

    cls, hparams = OPTIMIZERS[name]
    model = DistributedDataParallel(make_model())
    optimizer = cls(model.parameters(), **hparams)
    norms: list[Any] = []
    batches = [shard(b, rank, world_size) for b in make_batches()]
    train(model, optimizer, batches, lambda: norms.append(_norm(optimizer)))
    return {"params": [_full(p) for p in model.module.parameters()], "norms": norms}


def run_fsdp2(rank: int, world_size: int, cls: type[torch.optim.Optimizer], hparams: dict[str, Any]) -> dict[str, Any]:
    """FSDP2 training; also each step's norm of this rank's shards alone (what a per-shard clip would use)."""
    model = make_model()
    params = _fully_shard(model)
    optimizer = cls(params, **hparams)
    norms: list[Any] = []
    shard_norms: list[float] = []

    def record() -> None:
        norms.append(_norm(optimizer))
        local = [p.grad.to_local() for p in params if p.grad is not None]  # type: ignore[attr-defined]
        shard_norms.append(float(torch.linalg.vector_norm(torch.cat([g.reshape(-1) for g in local]))))

    train(model, optimizer, [shard(b, rank, world_size) for b in make_batches()], record)
    local_shapes = [tuple(p.to_local().shape) for p in params]  # type: ignore[attr-defined]
    last_norm = optimizer.last_grad_norm  # type: ignore[attr-defined]
    return {
        "params": [_full(p) for p in params],
        "norms": norms,
        "shard_norms": shard_norms,
        "local_shapes": local_shapes,
        "norm_type": type(last_norm).__name__,
        "norm_placements": str(getattr(last_norm, "placements", None)),
    }


def run_zero(rank: int, world_size: int, clip_before_step: float | None) -> dict[str, Any]:
    """ZeroRedundancyOptimizer(AdvancedAdamW): each rank steps its partition, then broadcasts it.

    ``clip_before_step``: clip with ``torch.nn.utils.clip_grad_norm_`` over the whole (DDP) model
    before ``step()``, the way to clip under ZeRO (the inner optimizer sees only its partition).
    """
    from torch.distributed.optim import ZeroRedundancyOptimizer
    from torch.nn.parallel import DistributedDataParallel

    model = DistributedDataParallel(make_model())
    optimizer = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=AdvancedAdamW, **ZERO_HPARAMS)
    for x, y in [shard(b, rank, world_size) for b in make_batches()]:
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.mse_loss(model(x), y).backward()
        if clip_before_step is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_before_step)
        optimizer.step()
    local = sum(p.numel() for group in optimizer.optim.param_groups for p in group["params"])
    optimizer.consolidate_state_dict(to=0)
    state = optimizer.state_dict() if rank == 0 else None
    return {"params": [_full(p) for p in model.module.parameters()], "local_numel": local, "state_dict": state}


def run_zero_muon(rank: int, world_size: int) -> dict[str, Any]:
    """ZeroRedundancyOptimizer(Muon) over Muon and AdamW groups: whole parameters per rank, no clipping."""
    from torch.distributed.optim import ZeroRedundancyOptimizer
    from torch.nn.parallel import DistributedDataParallel

    model = DistributedDataParallel(make_model())
    hparams = {k: v for k, v in MUON_HPARAMS.items() if k != "max_grad_norm"}
    optimizer = ZeroRedundancyOptimizer(muon_groups(model.parameters()), optimizer_class=Muon, **hparams)
    train(model, optimizer, [shard(b, rank, world_size) for b in make_batches()])
    local = sum(p.numel() for group in optimizer.optim.param_groups for p in group["params"])
    return {"params": [_full(p) for p in model.module.parameters()], "local_numel": local}


def _exit_with_parent() -> None:
    """End this rank if the test that launched it dies (a killed pytest leaves no orphans waiting on collectives)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(3)

    threading.Thread(target=watch, daemon=True).start()


def main(out_dir: Path) -> int:
    import torch.distributed as dist

    _exit_with_parent()
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    dist.init_process_group("gloo", rank=rank, world_size=world_size, timeout=timedelta(seconds=60))
    torch.set_num_threads(1)
    scenarios: dict[str, Callable[[], dict[str, Any]]] = {}
    for name, (cls, hparams) in OPTIMIZERS.items():
        scenarios[f"ddp-{name}"] = lambda name=name: run_ddp(name, rank, world_size)
        scenarios[f"fsdp2-{name}"] = lambda cls=cls, hparams=hparams: run_fsdp2(rank, world_size, cls, hparams)
    for kernel, flags in FSDP_KERNELS.items():
        hparams = {**FSDP_HPARAMS, **flags}
        scenarios[f"fsdp2-adamw-clip-{kernel}"] = lambda hparams=hparams: run_fsdp2(
            rank, world_size, AdvancedAdamW, hparams
        )
    scenarios["zero"] = lambda: run_zero(rank, world_size, None)
    scenarios["zero-clip"] = lambda: run_zero(rank, world_size, FSDP_HPARAMS["max_grad_norm"])
    scenarios["zero-muon"] = lambda: run_zero_muon(rank, world_size)
    results: dict[str, Any] = {}
    for key, scenario in scenarios.items():
        try:
            results[key] = scenario()
        except Exception:  # recorded for the test to report; both ranks fail the same way (same code, same data)
            results[key] = {"error": traceback.format_exc()}
        dist.barrier()
    gathered: list[Any] = [None] * world_size
    dist.all_gather_object(gathered, results)
    if rank == 0:
        torch.save({"torch": str(torch.__version__), "ranks": gathered}, out_dir / "results.pt")
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
