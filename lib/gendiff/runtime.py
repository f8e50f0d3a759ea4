"""Run-time settings shared by every chapter: profile, device, threads, seeds, and the checkpoint cache.

Everything is read from the environment once, so the book build and nbval (whose kernels inherit the
environment) see the same settings:

==================  ===========================================================================
``BOOK_PROFILE``    ``ci`` (default: the whole book on 2 CPU cores in minutes) or ``full`` (one GPU,
                    paper-like scale). Anything else is an error that lists the valid values.
``BOOK_DEVICE``     ``cuda``, ``mps`` or ``cpu``; default: the first available in that order.
``BOOK_THREADS``    torch intra-op threads on the CPU (default 1, see ``benchmarks/threads.py``).
``BOOK_CACHE``      checkpoint folder (default ``data/checkpoints`` in the repository).
==================  ===========================================================================
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import io
import json
import os
import random
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping, TypeVar

import numpy as np
import torch

PROFILES = ("ci", "full")
#: Bump when a change in the library makes old checkpoints wrong (e.g. a new training loss).
CACHE_VERSION = 1
REPO_ROOT = Path(__file__).resolve().parents[2]

T = TypeVar("T")


def profile() -> str:
    """The active profile, from ``BOOK_PROFILE`` (default ``ci``).

    Raises ``ValueError`` naming the valid profiles for anything else.
    """
    name = os.environ.get("BOOK_PROFILE", "ci").strip().lower() or "ci"
    if name not in PROFILES:
        raise ValueError(f"BOOK_PROFILE={name!r} is not a profile of this book; valid values: {', '.join(PROFILES)}")
    return name


def pick(configs: Mapping[str, T]) -> T:
    """Return ``configs[profile()]``: one config per chapter, with both profiles side by side."""
    missing = [p for p in PROFILES if p not in configs]
    if missing:
        raise KeyError(f"config table lacks profiles {missing}")
    return configs[profile()]


@functools.lru_cache(maxsize=None)
def device() -> torch.device:
    """``BOOK_DEVICE`` if set, else cuda → mps → cpu (the first available)."""
    want = os.environ.get("BOOK_DEVICE", "").strip().lower()
    if want:
        if want.startswith("cuda") and not torch.cuda.is_available():
            raise RuntimeError(f"BOOK_DEVICE={want} but CUDA is not available")
        if want == "mps" and not torch.backends.mps.is_available():
            raise RuntimeError("BOOK_DEVICE=mps but MPS is not available")
        if not (want.startswith("cuda") or want in ("mps", "cpu")):
            raise ValueError(f"BOOK_DEVICE={want!r}: use cuda, mps or cpu")
        return torch.device(want)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def threads() -> int:
    """CPU threads for torch, from ``BOOK_THREADS`` (default 1).

    The default comes from ``benchmarks/threads.py`` on the 2-core machines this book is tested on: with
    the cores busy (load 11), one thread trained the ``ci`` models 9–13× faster than two; on an idle
    machine two threads were only 6–12 % faster. One thread also lets chapters train two models in
    parallel processes.
    """
    raw = os.environ.get("BOOK_THREADS", "1")
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"BOOK_THREADS={raw!r} is not an integer") from None
    if n < 1:
        raise ValueError(f"BOOK_THREADS must be >= 1, got {n}")
    return n


def show_progress(requested: bool = True) -> bool:
    """Whether to draw a tqdm bar: ``requested`` unless ``TQDM_DISABLE`` is set (``make test`` and the book
    build set it; an explicit ``disable=False`` would otherwise override tqdm's own reading of it)."""
    return bool(requested) and os.environ.get("TQDM_DISABLE", "").strip().lower() in ("", "0", "false")


def setup(seed: int = 0, *, verbose: bool = True) -> dict:
    """Configure torch once per chapter and seed every generator; returns (and prints) the settings.

    Sets the thread count, flushes denormals on the CPU (they slow tiny activations 10×), enables TF32
    matmuls on CUDA (safe for training; analyses that need float64 ask for it explicitly).
    """
    torch.set_num_threads(threads())
    torch.set_flush_denormal(True)
    if device().type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    seed_everything(seed)
    info = dict(profile=profile(), device=str(device()), threads=threads(), torch=torch.__version__,
                cache=str(cache_dir()))
    if verbose:
        print(" | ".join(f"{k}: {v}" for k, v in info.items()))
    return info


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A fresh seeded ``torch.Generator``: the way randomness enters every function of the library."""
    return torch.Generator(device=device).manual_seed(int(seed))


def cache_dir() -> Path:
    """``BOOK_CACHE`` or ``<repo>/data/checkpoints``; created on first use."""
    path = Path(os.environ.get("BOOK_CACHE") or REPO_ROOT / "data" / "checkpoints")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _jsonable(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return _jsonable(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, torch.Tensor):
        return tensor_digest(obj)
    if isinstance(obj, np.ndarray):
        return tensor_digest(torch.from_numpy(np.ascontiguousarray(obj)))
    if isinstance(obj, float):
        return repr(obj)
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    return repr(obj)


def tensor_digest(t: torch.Tensor) -> str:
    """A short content hash of a tensor (shape, dtype and bytes), so data can be part of a cache key."""
    t = t.detach().cpu().contiguous()
    h = hashlib.sha1(f"{tuple(t.shape)}{t.dtype}".encode())
    h.update(t.reshape(-1).clone().view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:16]


def config_hash(key: Any) -> str:
    """SHA-1 (12 hex digits) of a JSON rendering of ``key`` (dicts, dataclasses, tensors by content)."""
    blob = json.dumps({"v": CACHE_VERSION, "key": _jsonable(key)}, sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


@contextlib.contextmanager
def _file_lock(path: Path):
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _atomic_save(obj: Any, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def cache_path(name: str, key: Any) -> Path:
    """Where :func:`cached` stores the entry ``name`` for ``key``."""
    return cache_dir() / f"{name}-{config_hash(key)}.pt"


def is_cached(name: str, key: Any) -> bool:
    """Whether :func:`cached` has a file for ``(name, key)`` (it may still turn out unreadable)."""
    return cache_path(name, key).exists()


def cached(name: str, key: Any, compute: Callable[[], Any], *, refresh: bool = False) -> Any:
    """Return ``compute()``, stored under ``<cache>/<name>-<hash(key)>.pt`` and reused on later calls.

    ``key`` must describe everything that determines the result (configs, data by content). The value
    may hold tensors, numbers, strings, lists and dicts (it is loaded with ``weights_only=True``).
    Writes are atomic (temporary file + ``os.replace``); a process that finds another one computing the
    same entry waits for it (file lock) instead of computing it twice. A file that cannot be read
    (truncated, corrupt) is reported with a warning and recomputed.
    """
    path = cache_path(name, key)
    with _file_lock(path.with_suffix(".lock")):
        if path.exists() and not refresh:
            try:
                with open(path, "rb") as fh:
                    return torch.load(io.BytesIO(fh.read()), map_location="cpu", weights_only=True)
            except Exception as err:  # noqa: BLE001 -- any unreadable file is recomputed
                warnings.warn(f"checkpoint {path.name} is unreadable ({type(err).__name__}: {err}); recomputing it",
                              RuntimeWarning, stacklevel=2)
        value = compute()
        _atomic_save(value, path)
        return value
