"""Where a sweep's jobs run: one ``map_jobs(fn, items)`` over an engine chosen by ``BOOK_EXECUTOR``.

* ``local`` (default): in this process when ``workers == 1``, else a pool of spawned processes
  (``concurrent.futures``), each with ``BOOK_THREADS`` torch threads.
* ``submitit``: a SLURM job array through submitit's own ``map_array`` (``AutoExecutor`` submits to SLURM
  where ``sbatch`` exists and runs local processes elsewhere; ``BOOK_SUBMITIT_FOLDER`` holds its logs,
  ``BOOK_SLURM_PARTITION``, ``BOOK_SLURM_GPUS`` and ``BOOK_SLURM_MINUTES`` size each job).
* ``ray``: Ray tasks on the running cluster (``ray.init(address="auto")`` when ``RAY_ADDRESS`` is set, else a
  local instance); ``BOOK_RAY_GPUS`` (default 0) is each task's GPU share, so e.g. 0.25 packs four small
  trainings on one GPU.

This is a thin adapter over the engines' own map/submit — no scheduling of its own. The jobs of the book
write their results into the shared checkpoint cache (``gendiff.runtime.cached``, keyed by configuration,
data and source, never by who trained), so a rerun on any engine loads instead of training. The engines are
optional extras (``pip install -e ".[slurm]"`` / ``".[ray]"``); a missing one is one clear error.
"""
from __future__ import annotations

import os
from typing import Callable, Sequence

EXECUTORS = ("local", "submitit", "ray")
EXTRAS = {"submitit": "slurm", "ray": "ray"}


def executor_name() -> str:
    """``BOOK_EXECUTOR`` (default ``local``); an unknown name is an error listing the choices."""
    name = os.environ.get("BOOK_EXECUTOR", "local").strip().lower() or "local"
    if name not in EXECUTORS:
        raise ValueError(f"BOOK_EXECUTOR={name!r} is not one of {', '.join(EXECUTORS)}")
    return name


def check_executor() -> str:
    """``BOOK_EXECUTOR``'s engine, checked without running anything: an unknown name or a missing engine
    package raises here (``runtime.setup`` calls it in every chapter's first cell), not at the first sweep."""
    import importlib.util

    name = executor_name()
    if name != "local" and importlib.util.find_spec(name) is None:
        raise ImportError(f"BOOK_EXECUTOR={name} needs the '{name}' package: pip install -e \".[{EXTRAS[name]}]\"")
    return name


def _require(name: str):
    import importlib
    try:
        return importlib.import_module(name)
    except ImportError as e:
        raise ImportError(f"BOOK_EXECUTOR={name} needs the '{name}' package: pip install -e \".[{EXTRAS[name]}]\"") from e


def _local(fn: Callable, items: Sequence, workers: int) -> list:
    if workers <= 1 or len(items) <= 1:
        return [fn(x) for x in items]
    import concurrent.futures as cf
    import multiprocessing as mp
    with cf.ProcessPoolExecutor(max_workers=min(workers, len(items)), mp_context=mp.get_context("spawn")) as ex:
        return list(ex.map(fn, items))


def _submitit(fn: Callable, items: Sequence, workers: int) -> list:
    submitit = _require("submitit")
    from . import runtime
    folder = os.environ.get("BOOK_SUBMITIT_FOLDER", str(runtime.REPO_ROOT / "_build" / "submitit"))
    ex = submitit.AutoExecutor(folder=folder)
    params = {"timeout_min": int(os.environ.get("BOOK_SLURM_MINUTES", "60")), "slurm_array_parallelism": workers}
    if os.environ.get("BOOK_SLURM_PARTITION"):
        params["slurm_partition"] = os.environ["BOOK_SLURM_PARTITION"]
    if os.environ.get("BOOK_SLURM_GPUS"):
        params["gpus_per_node"] = int(os.environ["BOOK_SLURM_GPUS"])
    ex.update_parameters(**params)
    return [job.result() for job in ex.map_array(fn, list(items))]


def _ray(fn: Callable, items: Sequence, workers: int) -> list:
    ray = _require("ray")
    if not ray.is_initialized():
        ray.init(address=os.environ.get("RAY_ADDRESS") or None, num_cpus=None if os.environ.get("RAY_ADDRESS")
                 else max(workers, 1), include_dashboard=False, log_to_driver=False)
    task = ray.remote(num_cpus=1, num_gpus=float(os.environ.get("BOOK_RAY_GPUS", "0")))(fn)
    return ray.get([task.remote(x) for x in items])


def map_jobs(fn: Callable, items: Sequence, *, workers: int = 1, executor: str | None = None) -> list:
    """``[fn(x) for x in items]``, run on the engine ``executor`` (default: ``BOOK_EXECUTOR``), in order.

    ``fn`` must be a picklable top-level function (it runs in other processes or machines); ``workers`` is
    the local pool size / the array's parallelism.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    name = executor or executor_name()
    if name not in EXECUTORS:
        raise ValueError(f"executor {name!r} is not one of {', '.join(EXECUTORS)}")
    return {"local": _local, "submitit": _submitit, "ray": _ray}[name](fn, list(items), workers)


def probe(x: float) -> tuple[float, int]:
    """A tiny job to check an engine end to end: ``(x², pid of the process that ran it)``."""
    return x * x, os.getpid()
