"""Building and loading lossopt's own CPU kernels for ``fused=True`` (``cpu_kernels.c``; why: :mod:`.cpu`).

On the first fused step of a process the C source is built with ``$CC`` (else ``cc``, ``gcc`` or ``clang`` on
``PATH``), ``-O3 -march=native``, OpenMP where the compiler has it, into ``$LOSSOPT_CACHE_DIR`` (else
``$XDG_CACHE_HOME/lossopt`` or ``~/.cache/lossopt``) under a name hashing the source, the compiler, its flags
and the CPU; later processes load it. The file is written under a temporary name and renamed, so ranks of one
job building at once never see half a library. No compiler, or a failed build: one ``RuntimeWarning`` says why
and the optimizers fall back (:mod:`.cpu`'s kernels take nothing). ``LOSSOPT_CPU_KERNELS=0`` turns them off.
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
from importlib import resources
from pathlib import Path

import torch

SOURCE_NAME = "cpu_kernels.c"
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
        source = resources.files("lossopt.optim.kernels").joinpath(SOURCE_NAME).read_bytes()
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
                f"lossopt: the CPU kernels of fused=True could not be built ({_State.reason}); fused AdamW/Adam/SGD "
                "run torch's fused kernels and fused AdaBelief its torch.compile kernel (the multi-tensor one where "
                "Inductor has no C++ compiler) instead",
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
