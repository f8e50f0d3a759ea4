"""The checkpoint cache: entries keyed by configuration, data *and* the code that made them.

:func:`cached` stores ``compute()`` under a hash of ``key`` and of :func:`code_digest` of the computation: the
bytes of every library source file it reaches (the callable's own file, and the functions, classes and
modules its code names, followed through the library). A change to a loss, a model's forward or the training
loop therefore makes a new entry; a change to a file the computation does not reach (a plot module, a
chapter's prose) does not. Only file contents are hashed (no paths, no times), so a key is the same on every
machine. Several processes may share one cache: a file lock per entry, atomic writes, corrupt files
recomputed. The folder is :func:`gendiff.runtime.cache_dir` (``BOOK_CACHE``). The names here are also
reachable as ``gendiff.runtime.<name>``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import inspect
import io
import json
import os
import sysconfig
import tempfile
import types
import warnings
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np
import torch

from . import runtime

#: the cache's own machinery is not part of any key (``runtime.CACHE_VERSION`` covers it)
_MACHINERY = {str(Path(__file__).resolve()), str(Path(runtime.__file__).resolve()),
              str(Path(__file__).with_name("executors.py").resolve())}


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
    blob = json.dumps({"v": runtime.CACHE_VERSION, "key": _jsonable(key)}, sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


# ----------------------------------------------------------------------------------------------------
# code digests: which source a cached result depends on
# ----------------------------------------------------------------------------------------------------
_THIRD_PARTY = tuple({str(Path(sysconfig.get_paths()[k]).resolve()) for k in ("stdlib", "purelib", "platlib")})
_FILE_SHA: dict[str, tuple[int, int, str]] = {}


def _file_sha(path: str) -> str:
    st = os.stat(path)
    memo = _FILE_SHA.get(path)
    if memo is None or memo[:2] != (st.st_mtime_ns, st.st_size):   # times only invalidate the memo
        memo = (st.st_mtime_ns, st.st_size, hashlib.sha1(Path(path).read_bytes()).hexdigest())
        _FILE_SHA[path] = memo
    return memo[2]


def _source_sha(obj: Any) -> str | None:
    """SHA-1 of the file defining ``obj`` (its bytes); of ``obj``'s own source text when it was typed in a
    notebook cell or a ``-c`` script; ``None`` for third-party code and for this module (settings and the
    cache machinery: see ``runtime.CACHE_VERSION``)."""
    try:
        path = inspect.getfile(obj)
    except TypeError:                           # built in: C code
        return None
    except OSError:                             # a class typed in a notebook
        path = ""
    if os.path.isfile(path):
        real = str(Path(path).resolve())
        if real.startswith(_THIRD_PARTY) or "site-packages" in real or real in _MACHINERY:
            return None
        if not Path(real).parent.name.startswith("ipykernel_"):
            return _file_sha(real)
    try:                                        # a cell: hash the definition, not the whole cell
        text = inspect.getsource(obj)
    except Exception:  # noqa: BLE001 -- no source at all: the name stands for it
        text = str(getattr(obj, "__qualname__", type(obj).__qualname__))
    return hashlib.sha1(text.encode()).hexdigest()


def code_digest(*objs: Any) -> str:
    """Digest (12 hex digits) of the source of ``objs`` — modules, classes, functions, ``functools.partial`` —
    and of everything in the library they reach: the globals and closure variables a function's code
    names (a module's attributes it names), a class's bases and methods. Data (configs, tensors) are not
    followed: the cache key holds those. Third-party code and this module are left out (``runtime.CACHE_VERSION``).
    """
    shas: set[str] = set()
    seen: set[int] = set()

    def visit(obj: Any) -> None:
        if isinstance(obj, (staticmethod, classmethod, types.MethodType, property)):
            obj = obj.fget if isinstance(obj, property) else obj.__func__
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, functools.partial):
            for o in (obj.func, *obj.args, *obj.keywords.values()):
                visit(o)
            return
        if isinstance(obj, torch.nn.Module):        # a model the computation uses: its classes
            for m in obj.modules():
                visit(type(m))
            return
        if not (inspect.ismodule(obj) or inspect.isclass(obj) or inspect.isfunction(obj)):
            return                                  # data: part of the key, not of the code
        sha = _source_sha(obj)
        if sha is None:
            return
        shas.add(sha)
        if inspect.isclass(obj):
            for o in (*obj.__mro__[1:], *vars(obj).values()):
                visit(o)
        elif inspect.isfunction(obj):
            names = dict(obj.__globals__)
            for n, cell in zip(obj.__code__.co_freevars, obj.__closure__ or ()):
                with contextlib.suppress(ValueError):   # an empty cell
                    names[n] = cell.cell_contents
            walk(obj.__code__, names)

    def walk(code: types.CodeType, names: Mapping[str, Any]) -> None:
        used = set(code.co_names) | set(code.co_freevars)
        todo = [names[n] for n in used if n in names]
        while todo:                                 # ``pkg.mod.f``: the names ``mod`` and ``f`` of ``pkg``
            v = todo.pop()
            fresh = id(v) not in seen
            visit(v)
            if fresh and inspect.ismodule(v) and _source_sha(v) is not None:
                todo += [getattr(v, a, None) for a in used]
        for c in code.co_consts:
            if isinstance(c, types.CodeType):
                walk(c, names)

    for o in objs:
        visit(o)
    return hashlib.sha1("".join(sorted(shas)).encode()).hexdigest()[:12]


# ----------------------------------------------------------------------------------------------------
# the checkpoint cache
# ----------------------------------------------------------------------------------------------------
@contextlib.contextmanager
def _file_lock(path: Path):
    """An exclusive ``flock``: the kernel releases it when the holder dies, so a killed run never blocks."""
    with open(path, "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _atomic_save(obj: Any, path: Path) -> None:
    """Write to ``<path><random>.tmp`` and ``os.replace`` it onto ``path``: a reader sees the old file or the
    whole new one, never a part; a run killed while writing leaves only the ``.tmp`` (removed by the next
    writer of that entry)."""
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


def _full_key(key: Any, code: Any) -> Any:
    code = tuple(code) if isinstance(code, (tuple, list)) else (code,)
    return {"key": key, "code": code_digest(*code)} if code else key


def cache_path(name: str, key: Any, code: Any = ()) -> Path:
    """Where :func:`cached` stores the entry ``name`` for ``key`` made by ``code`` (see :func:`cached`)."""
    return runtime.cache_dir() / f"{name}-{config_hash(_full_key(key, code))}.pt"


def is_cached(name: str, key: Any, code: Any = ()) -> bool:
    """Whether :func:`cached` has a file for ``(name, key, code)`` (it may still turn out unreadable)."""
    return cache_path(name, key, code).exists()


def cached(name: str, key: Any, compute: Callable[[], Any], *, refresh: bool = False, code: Any = None) -> Any:
    """Return ``compute()``, stored under ``<cache>/<name>-<hash(key, code)>.pt`` and reused on later calls.

    ``key`` must describe the data the result depends on (configs, data by content); ``code`` the code:
    objects whose source :func:`code_digest` hashes (default ``compute`` itself, followed through the
    library; ``()`` when ``key`` already holds a digest). The value may hold tensors, numbers, strings,
    lists and dicts (it is loaded with ``weights_only=True``).

    Safe with several processes on one cache: a process that finds another computing the same entry
    waits for it (``flock``, released by the kernel if that process dies) and then loads its result;
    writes are atomic (temporary file + ``os.replace``), so a run killed mid-write leaves no ``.pt``
    file, and the next writer removes its ``.tmp``. A file that cannot be read (truncated, corrupt) is
    reported with a warning and recomputed. ``tests/test_cache*.py`` provoke each case.
    """
    path = cache_path(name, key, compute if code is None else code)
    with _file_lock(path.with_suffix(".lock")):
        if path.exists() and not refresh:
            try:
                with open(path, "rb") as fh:
                    return torch.load(io.BytesIO(fh.read()), map_location="cpu", weights_only=True)
            except Exception as err:  # noqa: BLE001 -- any unreadable file is recomputed
                warnings.warn(f"checkpoint {path.name} is unreadable ({type(err).__name__}: {err}); recomputing it",
                              RuntimeWarning, stacklevel=2)
        for stale in path.parent.glob(f"{path.name}*.tmp"):   # left by a killed writer (we hold the lock)
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        value = compute()
        _atomic_save(value, path)
        return value
