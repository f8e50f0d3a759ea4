"""Run-time settings shared by every chapter: profile, device, threads, seeds, and where the cache lives.

Everything is read from the environment once, so the book build and nbval (whose kernels inherit the
environment) see the same settings:

==================  ===========================================================================
``BOOK_PROFILE``    ``ci`` (default: the whole book on 2 CPU cores in minutes), ``gpu`` (the whole book
                    on one modern GPU in ≤ 15 minutes, larger than ``ci``: ``make gpu-check``) or
                    ``full`` (one GPU, paper-like scale). Anything else is an error that lists the
                    valid values.
``BOOK_DEVICE``     ``cuda``, ``mps`` or ``cpu``; default: the first available in that order.
``BOOK_THREADS``    torch intra-op threads on the CPU (default 1, see ``benchmarks/threads.py``).
``BOOK_CACHE``      checkpoint folder (default ``data/checkpoints`` in the repository).
==================  ===========================================================================

A bad value fails at the first use (``setup`` reads them all) with one line that names the fix.

**Cache entries are keyed by the code that made them.** :func:`cached` stores ``compute()`` under a hash
of ``key`` *and* of :func:`code_digest` of the computation: the bytes of every library source file it
reaches (the callable's own file, and the functions, classes and modules its code names, followed
through the library). A change to a loss, a model's forward or the training loop therefore makes a new
entry; a change to a file the computation does not reach (a plot module, a chapter's prose) does not.
Only file contents are hashed (no paths, no times), so a key is the same on every machine.
"""
from __future__ import annotations

import functools
import os
import random
from pathlib import Path
from typing import Mapping, TypeVar

import numpy as np
import torch

PROFILES = ("ci", "gpu", "full")
#: Bump when a change that no code digest sees makes old checkpoints wrong: this module's seeding
#: (``generator``, ``seed_everything``) or a third-party package's behaviour.
CACHE_VERSION = 1
REPO_ROOT = Path(__file__).resolve().parents[2]
# Outside a checkout (pip-installed, e.g. in Colab) caches and results go to the user's cache folder.
DATA_ROOT = (REPO_ROOT / "data" if (REPO_ROOT / "pyproject.toml").exists()
             else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "gendiff")

T = TypeVar("T")


def profile() -> str:
    """The active profile, from ``BOOK_PROFILE`` (default ``ci``).

    Raises ``ValueError`` naming the valid profiles for anything else.
    """
    name = os.environ.get("BOOK_PROFILE", "ci").strip().lower() or "ci"
    if name not in PROFILES:
        raise ValueError(f"BOOK_PROFILE={name!r} is not a profile of this book; valid values: {', '.join(PROFILES)} "
                         "(set BOOK_PROFILE=ci, or unset it)")
    return name


def pick(configs: Mapping[str, T]) -> T:
    """Return ``configs[profile()]``: one config per chapter, with every profile side by side."""
    missing = [p for p in PROFILES if p not in configs]
    if missing:
        raise KeyError(f"config table lacks profiles {missing}")
    return configs[profile()]


@functools.lru_cache(maxsize=None)
def device() -> torch.device:
    """``BOOK_DEVICE`` if set, else cuda → mps → cpu (the first available)."""
    want = os.environ.get("BOOK_DEVICE", "").strip().lower()
    if want:
        fix = "unset BOOK_DEVICE to use the first available device, or set BOOK_DEVICE=cpu"
        kind, _, index = want.partition(":")
        if kind not in ("cuda", "mps", "cpu") or (index and (kind != "cuda" or not index.isdigit())):
            raise ValueError(f"BOOK_DEVICE={want!r} is not a device: use cuda, cuda:N, mps or cpu ({fix})")
        if kind == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(f"BOOK_DEVICE={want} but this torch sees no CUDA GPU ({fix})")
        if kind == "cuda" and index and int(index) >= torch.cuda.device_count():
            raise RuntimeError(f"BOOK_DEVICE={want} but only {torch.cuda.device_count()} CUDA GPU(s) exist ({fix})")
        if kind == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise RuntimeError(f"BOOK_DEVICE=mps but MPS is not available on this machine ({fix})")
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
    raw = os.environ.get("BOOK_THREADS", "1").strip() or "1"
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"BOOK_THREADS={raw!r} is not an integer >= 1 (set BOOK_THREADS=1, or unset it)")
    return n


def show_progress(requested: bool = True) -> bool:
    """Whether to draw a tqdm bar: ``requested`` unless ``TQDM_DISABLE`` is set (``make test`` and the book
    build set it; an explicit ``disable=False`` would otherwise override tqdm's own reading of it)."""
    return bool(requested) and os.environ.get("TQDM_DISABLE", "").strip().lower() in ("", "0", "false")


def setup(seed: int = 0, *, verbose: bool = True) -> dict:
    """Configure torch once per chapter and seed every generator; returns (and prints) the settings.

    Sets the thread count, flushes denormals on the CPU (they slow tiny activations 10×), enables TF32
    matmuls on CUDA (safe for training; analyses that need float64 ask for it explicitly). Every setting is
    checked here, in a chapter's first cell: an unknown ``BOOK_PROFILE``, ``BOOK_EXECUTOR`` or ``BOOK_MEMO``, or
    an executor whose engine is not installed, raises before anything trains.
    """
    from .executors import check_executor
    from .memo import enabled as memo_enabled

    executor = check_executor()
    memo_enabled()
    torch.set_num_threads(threads())
    torch.set_flush_denormal(True)
    if device().type == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    seed_everything(seed)
    info = dict(profile=profile(), device=str(device()), threads=threads(), executor=executor,
                torch=torch.__version__, cache=str(cache_dir()))
    if verbose:
        print(" | ".join(f"{k}: {v}" for k, v in info.items()))
    return info


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def autocast(device: torch.device, enabled: bool = True):
    """bf16 autocast on CUDA (the book's only mixed precision: training forward passes), a no-op elsewhere."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=enabled and torch.device(device).type == "cuda")


def generator(seed: int, device: str | torch.device = "cpu") -> torch.Generator:
    """A fresh seeded ``torch.Generator``: the way randomness enters every function of the library."""
    return torch.Generator(device=device).manual_seed(int(seed))


def cache_dir() -> Path:
    """``BOOK_CACHE`` or ``<repo>/data/checkpoints`` (``~/.cache/gendiff/checkpoints`` outside a checkout);
    created on first use.

    Raises ``PermissionError`` naming the fix when the folder cannot be created or written to (checked
    here, before any training, not when the first checkpoint is saved).
    """
    path = Path(os.environ.get("BOOK_CACHE") or DATA_ROOT / "checkpoints")
    try:
        path.mkdir(parents=True, exist_ok=True)
        problem = None if os.access(path, os.W_OK | os.X_OK) else "not writable"
    except OSError as err:
        problem = f"{type(err).__name__}: {err.strerror or err}"
    if problem:
        raise PermissionError(f"checkpoint folder {path} is unusable ({problem}); set BOOK_CACHE to a folder "
                              "you can write, e.g. BOOK_CACHE=$HOME/.cache/gendiff")
    return path


def results_dir() -> Path:
    """``BOOK_RESULTS`` or ``<repo>/data/results``: where chapters save their claims ledgers."""
    return Path(os.environ.get("BOOK_RESULTS") or DATA_ROOT / "results")


# The cache lives in gendiff.cache; its names stay reachable here (``runtime.cached`` …), imported on first use.
_CACHE_NAMES = {"cached", "is_cached", "cache_path", "code_digest", "config_hash", "tensor_digest", "_file_lock",
                "_atomic_save", "_file_sha"}


def __getattr__(name: str):
    if name in _CACHE_NAMES:
        from . import cache
        return getattr(cache, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
