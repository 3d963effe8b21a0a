"""lossopt's own CPU kernels for ``fused=True``: AdamW / Adam with clipping, and AdaBelief.

Why: torch's fused Adam kernel takes the clip coefficient through ``grad_scale`` but *writes the
rescaled gradient back* into ``p.grad`` (a 4-byte-per-parameter write on top of the 28 bytes of the
update), and AdaBelief has no torch kernel at all (the ``torch.compile``-generated one pays tens of
microseconds of Dynamo per call and a compilation of 15 to 40 s). The C source beside this file
(``_cpu_kernels.c``) holds one pass per rule over every tensor of a group, reading p, g, m, v once
and writing p, m, v once; the gradient is only read.

Build: on the first fused step of a process, with the C compiler torch's own CPU code generation
uses (``$CC``, else ``cc``, ``gcc`` or ``clang`` on ``PATH``), in well under a second, into a cache
directory (``$LOSSOPT_CACHE_DIR``, else ``$XDG_CACHE_HOME/lossopt``, else ``~/.cache/lossopt``) under a
name that hashes the source, the compiler, its flags and the CPU (``-march=native``), so later
processes load it. The file is written under a temporary name and renamed, so ranks of one job
building at once do not see a half-written library. OpenMP is used where the compiler has it (the
kernel then runs on ``torch.get_num_threads()`` threads), else the kernel is serial.

When there is no compiler or the build fails, a ``RuntimeWarning`` says why once and the optimizers
fall back to what ran before (torch's fused kernel for AdamW / Adam, the compiled update for
AdaBelief): the same results within rounding. ``LOSSOPT_CPU_KERNELS=0`` turns the kernels off.

Which tensors: CPU, float32 or float64, plain tensors (not DTensor shards), contiguous or all of a
parameter's tensors dense in the same channels-last format, with float32 step counters (AdamW).
Everything else takes the fallback, tensor by tensor.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile
import warnings
from collections.abc import Sequence
from importlib import resources
from operator import attrgetter
from pathlib import Path

import torch

SOURCE_NAME = "_cpu_kernels.c"
FLAGS = ["-std=c99", "-O3", "-march=native", "-fno-math-errno", "-ffp-contract=off", "-fPIC", "-shared"]
OPENMP_FLAG = "-fopenmp"
ENABLE_VARIABLE = "LOSSOPT_CPU_KERNELS"
CACHE_VARIABLE = "LOSSOPT_CACHE_DIR"
DTYPES = {torch.float32: "f32", torch.float64: "f64"}

_Pointers = ctypes.POINTER(ctypes.c_void_p)


class _State:
    """The loaded library (``None``: unavailable) and why, filled by the first :func:`library` call."""

    loaded = False
    library: ctypes.CDLL | None = None
    reason = ""


def cache_dir() -> Path:
    """Where built libraries are kept: ``$LOSSOPT_CACHE_DIR``, ``$XDG_CACHE_HOME/lossopt`` or ``~/.cache/lossopt``."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lossopt"


def find_compiler() -> str | None:
    """``$CC`` if set, else the first of ``cc``, ``gcc``, ``clang`` on ``PATH``."""
    if os.environ.get("CC"):
        return os.environ["CC"]
    for name in ("cc", "gcc", "clang"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _cpu_signature() -> str:
    """What ``-march=native`` depends on: the machine and, on Linux, the CPU's feature flags."""
    signature = platform.machine() + platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as cpuinfo:
            for line in cpuinfo:
                if line.startswith(("flags", "Features")):
                    return signature + line
    except OSError:
        pass
    return signature


def _compile(compiler: str, source: bytes, target: Path) -> str:
    """Build ``target`` (with OpenMP, else serial); return ``""`` or the compiler's error."""
    target.parent.mkdir(parents=True, exist_ok=True)
    error = ""
    with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
        source_path = Path(scratch) / SOURCE_NAME
        source_path.write_bytes(source)
        built = Path(scratch) / target.name
        for extra in ([OPENMP_FLAG], []):
            command = [compiler, *FLAGS, *extra, str(source_path), "-o", str(built), "-lm"]
            try:
                result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
            except (OSError, subprocess.SubprocessError) as exc:
                return f"{' '.join(command)}: {exc}"
            if result.returncode == 0:
                os.replace(built, target)  # atomic: another process sees the old file or the whole new one
                return ""
            error = f"{' '.join(command)} exited with {result.returncode}: {result.stderr.strip()[-500:]}"
    return error


def _declare(library: ctypes.CDLL) -> None:
    size_array = ctypes.POINTER(ctypes.c_int64)
    for suffix in DTYPES.values():
        adam = getattr(library, f"lossopt_adam_{suffix}")
        adam.restype = ctypes.c_int
        adam.argtypes = [ctypes.c_int64, *[_Pointers] * 5, size_array, _Pointers, ctypes.c_void_p]
        adam.argtypes += [ctypes.c_double] * 4 + [ctypes.c_int] * 4 + [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        adabelief = getattr(library, f"lossopt_adabelief_{suffix}")
        adabelief.restype = ctypes.c_int
        adabelief.argtypes = [ctypes.c_int64, *[_Pointers] * 5, size_array, ctypes.c_void_p, ctypes.c_int64]
        adabelief.argtypes += [ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        sgd = getattr(library, f"lossopt_sgd_{suffix}")
        sgd.restype = ctypes.c_int
        sgd.argtypes = [ctypes.c_int64, *[_Pointers] * 3, size_array, ctypes.c_void_p, *[ctypes.c_double] * 3]
        sgd.argtypes += [ctypes.c_int] * 3 + [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
        sumsq = getattr(library, f"lossopt_sumsq_{suffix}")
        sumsq.restype = ctypes.c_int
        sumsq.argtypes = [ctypes.c_int64, _Pointers, size_array, ctypes.POINTER(ctypes.c_double), ctypes.c_int]


def _load() -> tuple[ctypes.CDLL | None, str]:
    if os.environ.get(ENABLE_VARIABLE, "1").strip().lower() in ("0", "false", "no", "off"):
        return None, f"turned off by {ENABLE_VARIABLE}={os.environ[ENABLE_VARIABLE]}"
    compiler = find_compiler()
    if compiler is None:
        return None, "no C compiler found ($CC, cc, gcc, clang)"
    try:
        source = resources.files("lossopt.optim").joinpath(SOURCE_NAME).read_bytes()
    except OSError as exc:  # an installation without the package data
        return None, f"cannot read the kernels' source {SOURCE_NAME}: {exc}"
    try:
        version = subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"the C compiler {compiler!r} does not run: {exc}"
    key = hashlib.sha256(b"\0".join([source, version.encode(), " ".join(FLAGS).encode(), _cpu_signature().encode()]))
    target = cache_dir() / f"cpu_kernels-{key.hexdigest()[:20]}.so"
    if not target.exists():
        try:
            error = _compile(compiler, source, target)
        except OSError as exc:
            error = f"cannot write {target}: {exc}"
        if error:
            return None, error
    try:
        library = ctypes.CDLL(str(target))
        _declare(library)
    except (OSError, AttributeError) as exc:
        return None, f"cannot load {target}: {exc}"
    return library, ""


def library() -> ctypes.CDLL | None:
    """The built kernels, or ``None`` (after one ``RuntimeWarning`` saying why) where they cannot be built."""
    if not _State.loaded:
        _State.library, _State.reason = _load()
        _State.loaded = True
        if _State.library is None and not _State.reason.startswith("turned off"):
            warnings.warn(
                f"lossopt: the CPU kernels of fused=True could not be built ({_State.reason}); fused AdamW/Adam "
                "run torch's fused kernel and fused AdaBelief its torch.compile kernel instead",
                RuntimeWarning,
                stacklevel=3,
            )
    return _State.library


def unavailable_reason() -> str:
    """Why :func:`library` is ``None`` (``""`` when the kernels are loaded)."""
    library()
    return _State.reason


def reset() -> None:
    """Forget the loaded library (the next :func:`library` call loads or builds it again); for tests."""
    _State.loaded, _State.library, _State.reason = False, None, ""


_PLAIN_TYPES = frozenset({torch.Tensor, torch.nn.Parameter})
_dtype = attrgetter("dtype")
_on_cpu = attrgetter("is_cpu")
_contiguous = torch.Tensor.is_contiguous


def _all_take(tensors: Sequence[torch.Tensor], dtype: torch.dtype) -> bool:
    return (
        all(map(_on_cpu, tensors))
        and set(map(_dtype, tensors)) <= {dtype}
        and set(map(type, tensors)) <= _PLAIN_TYPES
        and all(map(_contiguous, tensors))
    )


def _takes(tensor: torch.Tensor, dtype: torch.dtype) -> bool:
    return tensor.is_cpu and tensor.dtype == dtype and type(tensor) in _PLAIN_TYPES


_CHANNELS_LAST = {4: torch.channels_last, 5: torch.channels_last_3d}


def _same_dense_layout(tensors: Sequence[torch.Tensor]) -> bool:
    """All contiguous, or all dense in the same channels-last format: their elements in the same memory order."""
    if all(map(_contiguous, tensors)):
        return True
    layout = _CHANNELS_LAST.get(tensors[0].dim())
    return layout is not None and all(t.is_contiguous(memory_format=layout) for t in tensors)


def eligible(lists: Sequence[Sequence[torch.Tensor]]) -> bool:
    """Whether the kernels take every tensor: CPU, one of :data:`DTYPES`, contiguous, plain; library built.

    Every tensor of every list must share the first one's dtype. The checks run per list with
    ``map`` (about 0.2 us a tensor: a step of 2,000 parameters checks 8,000 tensors).
    """
    dtype = lists[0][0].dtype
    return dtype in DTYPES and all(_all_take(tensors, dtype) for tensors in lists) and library() is not None


def partition(lists: Sequence[Sequence[torch.Tensor]]) -> tuple[list[int], list[int]]:
    """``(taken, others)``: the positions whose tensors (one from each list) the kernels take, and the rest.

    Taken: CPU, plain, the dtype of ``lists[0][0]``, and all contiguous or all dense in the same
    channels-last format (a ``channels_last`` model: the kernels are elementwise, only the memory order
    has to agree). One non-contiguous parameter (a transposed view made a leaf) sends only itself to
    the fallback.
    """
    positions = list(range(len(lists[0])))
    if not positions or lists[0][0].dtype not in DTYPES or library() is None:
        return [], positions
    dtype = lists[0][0].dtype
    if all(_all_take(tensors, dtype) for tensors in lists):
        return positions, []
    taken: list[int] = []
    others: list[int] = []
    for i, tensors in enumerate(zip(*lists, strict=True)):
        ok = all(_takes(t, dtype) for t in tensors) and _same_dense_layout(tensors)
        (taken if ok else others).append(i)
    return taken, others


def float32_counters(steps: Sequence[torch.Tensor]) -> bool:
    """Whether every step counter is a one-element float32 CPU tensor (the Adam kernel increments them)."""
    return (
        all(map(_on_cpu, steps))
        and set(map(_dtype, steps)) <= {torch.float32}
        and set(map(type, steps)) <= _PLAIN_TYPES
        and all(t.numel() == 1 for t in steps)
    )


def _pointers(tensors: Sequence[torch.Tensor]) -> ctypes.Array[ctypes.c_void_p]:
    return (ctypes.c_void_p * max(len(tensors), 1))(*map(_data_ptr, tensors))


def _sizes(tensors: Sequence[torch.Tensor]) -> ctypes.Array[ctypes.c_int64]:
    return (ctypes.c_int64 * max(len(tensors), 1))(*map(_numel, tensors))


_data_ptr = torch.Tensor.data_ptr
_numel = torch.Tensor.numel


def _scalar(tensor: torch.Tensor | None, dtype: torch.dtype) -> torch.Tensor | None:
    """``tensor`` as a contiguous 0-dim CPU tensor of ``dtype`` (a no-op when it already is one)."""
    if tensor is None:
        return None
    return tensor.detach().reshape(()).to(device="cpu", dtype=dtype).contiguous()


def _step_scalars(
    lr: float | torch.Tensor, multiplier: torch.Tensor | None, found_inf: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
    """``lr`` and ``multiplier`` as float64 and ``found_inf`` as float32 0-dim CPU tensors, for the kernels to read."""
    rate = torch.tensor(lr, dtype=torch.float64) if not isinstance(lr, torch.Tensor) else _scalar(lr, torch.float64)
    assert rate is not None
    return rate, _scalar(multiplier, torch.float64), _scalar(found_inf, torch.float32)


def _address(tensor: torch.Tensor | None) -> int | None:
    return None if tensor is None else tensor.data_ptr()


def _check(status: int, rule: str) -> None:
    if status != 0:
        raise MemoryError(f"lossopt's CPU {rule} kernel could not allocate its work arrays")


def adam(
    params: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor],
    exp_avgs: Sequence[torch.Tensor],
    exp_avg_sqs: Sequence[torch.Tensor],
    max_exp_avg_sqs: Sequence[torch.Tensor],
    steps: Sequence[torch.Tensor],
    *,
    lr: float | torch.Tensor,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled: bool,
    amsgrad: bool,
    maximize: bool,
    bias_correction: bool,
    multiplier: torch.Tensor | None,
    found_inf: torch.Tensor | None,
) -> None:
    """One AdamW (``decoupled``) / Adam step of every tensor, gradients multiplied by ``multiplier``.

    The counters in ``steps`` (0-dim float32 CPU tensors) are incremented; a nonzero ``found_inf``
    leaves everything, counters included, as it was. ``lr``, ``multiplier`` and ``found_inf`` may be
    0-dim CPU tensors: the kernel reads them itself (no ``.item()``).
    """
    library_ = library()
    assert library_ is not None
    kernel = getattr(library_, f"lossopt_adam_{DTYPES[params[0].dtype]}")
    rate, gmul, skip = _step_scalars(lr, multiplier, found_inf)
    status = kernel(
        len(params),
        _pointers(params),
        _pointers(grads),
        _pointers(exp_avgs),
        _pointers(exp_avg_sqs),
        _pointers(max_exp_avg_sqs if amsgrad else []),
        _sizes(params),
        _pointers(steps),
        rate.data_ptr(),
        beta1,
        beta2,
        eps,
        weight_decay,
        int(decoupled),
        int(amsgrad),
        int(maximize),
        int(bias_correction),
        _address(gmul),
        _address(skip),
        torch.get_num_threads(),
    )
    _check(status, "Adam")


def sgd(
    params: Sequence[torch.Tensor],
    grads: Sequence[torch.Tensor],
    buffers: Sequence[torch.Tensor],
    *,
    lr: float | torch.Tensor,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
    is_first_step: bool,
    multiplier: torch.Tensor | None,
    found_inf: torch.Tensor | None,
) -> None:
    """One SGD step of every tensor, gradients multiplied by ``multiplier`` (``buffers`` empty without momentum).

    ``is_first_step`` seeds the buffers with the (scaled, decayed) gradient; a nonzero ``found_inf``
    leaves everything as it was.
    """
    library_ = library()
    assert library_ is not None
    kernel = getattr(library_, f"lossopt_sgd_{DTYPES[params[0].dtype]}")
    rate, gmul, skip = _step_scalars(lr, multiplier, found_inf)
    status = kernel(
        len(params),
        _pointers(params),
        _pointers(grads),
        _pointers(buffers) if momentum != 0 else None,
        _sizes(params),
        rate.data_ptr(),
        momentum,
        dampening,
        weight_decay,
        int(nesterov),
        int(maximize),
        int(is_first_step),
        _address(gmul),
        _address(skip),
        torch.get_num_threads(),
    )
    _check(status, "SGD")


def adabelief(
    lists: Sequence[Sequence[torch.Tensor]], coefs: torch.Tensor, skip: torch.Tensor | None, plain: bool
) -> None:
    """``_adabelief_fused_update`` of every tensor: ``lists`` = (p, g, m, s[, s_max]), one ``coefs`` row each."""
    library_ = library()
    assert library_ is not None
    params = lists[0]
    kernel = getattr(library_, f"lossopt_adabelief_{DTYPES[params[0].dtype]}")
    rows = coefs.detach().to(device="cpu", dtype=params[0].dtype).contiguous()
    flag = _scalar(skip, torch.float32)
    status = kernel(
        len(params),
        *[_pointers(tensors) for tensors in lists],
        *([_pointers([])] if len(lists) == 4 else []),
        _sizes(params),
        rows.data_ptr(),
        rows.shape[1],
        _address(flag),
        int(plain),
        torch.get_num_threads(),
    )
    _check(status, "AdaBelief")


def sum_of_squares(tensors: Sequence[torch.Tensor]) -> float:
    """:math:`\\sum_k \\lVert x^{(k)} \\rVert_2^2` in float64, in one parallel pass over :func:`eligible` tensors.

    Deterministic: the blocks' partial sums are added in a fixed order whatever the thread count.
    """
    library_ = library()
    assert library_ is not None
    total = ctypes.c_double(0.0)
    kernel = getattr(library_, f"lossopt_sumsq_{DTYPES[tensors[0].dtype]}")
    _check(
        kernel(len(tensors), _pointers(tensors), _sizes(tensors), ctypes.byref(total), torch.get_num_threads()), "norm"
    )
    return total.value
