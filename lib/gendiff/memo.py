"""Memoized analyses: a measurement of trained networks stored in the checkpoint cache, keyed by what it reads.

``@memoized`` wraps a pure library function ``f(*args, **kwargs)`` (one whose randomness comes from seeds it is
given, never from a generator passed in) so that its value is kept by :func:`gendiff.cache.cached` under

* the **arguments by content**: tensors and arrays by their bytes, networks by architecture and weights, the
  other objects (denoisers, configs, closures) by their class and the content of their attributes;
* the **code**: :func:`gendiff.cache.code_digest` of ``f`` and of the classes and functions passed in.

A reader who changes a cell (another σ, another network, another seed) gets a new entry; rerunning a page whose
networks are cached reruns none of its heavy measurements. Arguments the key cannot describe (a
``torch.Generator``, whose state the call would advance, or an object with no content to read) are an error.

Values are stored as plain containers (``weights_only`` loading: tensors, numbers, strings, lists, dicts);
NumPy arrays, tuples and the library's dataclasses and named tuples are translated there and back by
:func:`to_plain` / :func:`from_plain`, so a cached value is the value the function returned (bit for bit), and a
cold run returns the translated value too: cold and warm runs compute from the same numbers.
``BOOK_MEMO=0`` turns the memo off (every call computes).
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import os
import types
from typing import Any, Callable

import numpy as np
import torch

from . import cache

_LIB = __name__.rsplit(".", 1)[0]          # "gendiff": only its classes are rebuilt from a stored value


def enabled() -> bool:
    """Whether memoized functions use the cache (``BOOK_MEMO``, default on; ``0`` turns it off)."""
    flag = os.environ.get("BOOK_MEMO", "1").strip()
    if flag not in ("0", "1"):
        raise ValueError(f"BOOK_MEMO must be 0 or 1, got {flag!r}: unset it, or set BOOK_MEMO=1")
    return flag == "1"


# ----------------------------------------------------------------------------------------------------
# the key: arguments by content, and the classes and functions they bring
# ----------------------------------------------------------------------------------------------------
def _describe(obj: Any, code: list, seen: set) -> Any:
    """A JSON-able description of ``obj``'s content (tensors as digests); appends code objects to ``code``."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return repr(obj) if isinstance(obj, float) else obj
    if isinstance(obj, (np.generic,)):
        return repr(obj.item())
    if isinstance(obj, torch.Tensor):
        return {"tensor": cache.tensor_digest(obj)}
    if isinstance(obj, np.ndarray):
        return {"array": cache.tensor_digest(torch.from_numpy(np.ascontiguousarray(obj)))}
    if isinstance(obj, torch.Generator):
        raise TypeError("a memoized function cannot take a torch.Generator (the call would advance it); "
                        "pass a seed instead")
    if isinstance(obj, (torch.device, torch.dtype)):
        return str(obj)
    if id(obj) in seen:
        return "<cycle>"
    seen = seen | {id(obj)}
    if isinstance(obj, dict):
        return {"dict": [[_describe(k, code, seen), _describe(v, code, seen)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {type(obj).__name__: [_describe(v, code, seen) for v in obj]}
    if isinstance(obj, (set, frozenset)):
        return {"set": sorted(map(str, (_describe(v, code, seen) for v in obj)))}
    if isinstance(obj, torch.nn.Module):
        code.append(obj)
        attrs = {k: v for k, v in vars(obj).items() if not k.startswith("_") and k != "training"}
        return {"module": repr(obj), "state": _describe(dict(obj.state_dict()), code, seen),
                "attrs": _describe(attrs, code, seen)}
    if isinstance(obj, types.ModuleType):
        code.append(obj)
        return {"module": obj.__name__}
    if isinstance(obj, functools.partial):
        return {"partial": [_describe(o, code, seen) for o in (obj.func, obj.args, obj.keywords)]}
    if inspect.isclass(obj) or inspect.isbuiltin(obj):
        code.append(obj)
        return {"class": f"{obj.__module__}:{obj.__qualname__}"}
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        fn = obj.__func__ if inspect.ismethod(obj) else obj
        code.append(fn)
        cells = [c.cell_contents for c in (fn.__closure__ or ()) if _filled(c)]
        bound = [obj.__self__] if inspect.ismethod(obj) else []
        return {"function": f"{fn.__module__}:{fn.__qualname__}",
                "state": _describe([cells, fn.__defaults__, fn.__kwdefaults__, bound], code, seen)}
    if dataclasses.is_dataclass(obj):
        code.append(type(obj))
        return {"dataclass": type(obj).__qualname__,
                "fields": _describe({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}, code, seen)}
    state = getattr(obj, "__dict__", None)
    if state is None:
        raise TypeError(f"a memoized call cannot describe an argument of type {type(obj).__qualname__}")
    code.append(type(obj))
    return {"object": f"{type(obj).__module__}:{type(obj).__qualname__}", "state": _describe(dict(state), code, seen)}


def _filled(cell) -> bool:
    try:
        cell.cell_contents
    except ValueError:                          # an empty closure cell
        return False
    return True


def call_key(fn: Callable, args: tuple, kwargs: dict) -> tuple[str, Any, tuple]:
    """``(name, key, code)`` of the call ``fn(*args, **kwargs)`` for :func:`gendiff.cache.cached`."""
    code: list = [fn]
    key = _describe({"args": list(args), "kwargs": dict(sorted(kwargs.items()))}, code, set())
    unique = tuple({id(c): c for c in code}.values())
    name = f"memo-{fn.__module__.rsplit('.', 1)[-1]}-{fn.__name__}"
    return name, {"call": f"{fn.__module__}:{fn.__qualname__}", "args": key}, unique


# ----------------------------------------------------------------------------------------------------
# values as plain containers
# ----------------------------------------------------------------------------------------------------
def to_plain(value: Any) -> Any:
    """``value`` with NumPy arrays, tuples and library dataclasses / named tuples written as tagged dicts."""
    if isinstance(value, np.ndarray):
        return {"__ndarray__": torch.from_numpy(np.ascontiguousarray(value).copy())}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return _tagged(value, {k: to_plain(v) for k, v in value._asdict().items()})
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _tagged(value, {f.name: to_plain(getattr(value, f.name)) for f in dataclasses.fields(value)})
    if hasattr(value, "__plain__"):
        return _tagged(value, {k: to_plain(v) for k, v in value.__plain__().items()})
    if isinstance(value, tuple):
        return {"__tuple__": [to_plain(v) for v in value]}
    if isinstance(value, list):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        if any(isinstance(k, str) and k.startswith("__") for k in value):
            raise ValueError("a memoized value's dict keys must not start with '__'")
        return {k: to_plain(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return value
    raise TypeError(f"a memoized function returned a {type(value).__qualname__}, which the cache cannot store")


def _tagged(value: Any, fields: dict) -> dict:
    cls = type(value)
    if not cls.__module__.startswith(_LIB + "."):
        raise TypeError(f"only {_LIB}'s own classes can be stored, not {cls.__module__}.{cls.__qualname__}")
    return {"__class__": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}


def from_plain(value: Any) -> Any:
    """The inverse of :func:`to_plain`; a class outside the library is refused (nothing else is imported)."""
    if isinstance(value, list):
        return [from_plain(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__ndarray__" in value:
        return value["__ndarray__"].numpy()
    if "__tuple__" in value:
        return tuple(from_plain(v) for v in value["__tuple__"])
    if "__class__" in value:
        mod, qual = value["__class__"].split(":")
        if not mod.startswith(_LIB + "."):
            raise ValueError(f"a cached value names the class {mod}:{qual}, outside {_LIB}")
        cls = importlib.import_module(mod)
        for part in qual.split("."):
            cls = getattr(cls, part)
        return cls(**{k: from_plain(v) for k, v in value["fields"].items()})
    return {k: from_plain(v) for k, v in value.items()}


# ----------------------------------------------------------------------------------------------------
# the decorator
# ----------------------------------------------------------------------------------------------------
def memoized(fn: Callable) -> Callable:
    """``fn`` with its value kept in the checkpoint cache under ``fn``'s name, arguments and code (module doc)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not enabled():
            return fn(*args, **kwargs)
        name, key, code = call_key(fn, args, kwargs)
        return from_plain(cache.cached(name, key, lambda: to_plain(fn(*args, **kwargs)), code=code))

    wrapper.__memoized__ = fn
    return wrapper


def is_memo_cached(fn: Callable, *args, **kwargs) -> bool:
    """Whether the memoized ``fn`` has a stored value for these arguments (e.g. to skip spawning workers)."""
    inner = getattr(fn, "__memoized__", None)
    if inner is None:
        raise TypeError(f"{fn!r} is not memoized")
    if not enabled():
        return False
    return cache.is_cached(*call_key(inner, args, kwargs))
