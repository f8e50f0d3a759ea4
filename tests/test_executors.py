"""gendiff.executors: one map over the local pool, submitit and Ray; clear errors for unknown or missing engines."""
import importlib.util
import os

import pytest

from gendiff import executors


square = executors.probe        # importable by the engines' worker processes (a test module is not)


def test_local_in_process_and_pool_keep_order():
    assert [v for v, _ in executors.map_jobs(square, [3, 1, 2], workers=1, executor="local")] == [9, 1, 4]
    out = executors.map_jobs(square, [3, 1, 2, 5], workers=2, executor="local")
    assert [v for v, _ in out] == [9, 1, 4, 25] and os.getpid() not in {p for _, p in out}


def test_unknown_executor_is_one_clear_error(monkeypatch):
    monkeypatch.setenv("BOOK_EXECUTOR", "dask")
    with pytest.raises(ValueError, match="BOOK_EXECUTOR='dask' is not one of local, submitit, ray"):
        executors.map_jobs(square, [1])
    with pytest.raises(ValueError, match="workers"):
        executors.map_jobs(square, [1], workers=0, executor="local")


@pytest.mark.parametrize("name, extra", [("submitit", "slurm"), ("ray", "ray")])
def test_missing_engine_names_the_extra(monkeypatch, name, extra):
    import sys
    monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ImportError, match=rf'pip install -e "\.\[{extra}\]"'):
        executors.map_jobs(square, [1], executor=name)


@pytest.mark.parametrize("name", ["submitit", "ray"])
def test_engine_runs_the_map(tmp_path, monkeypatch, name):
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} is not installed (optional extra: pip install -e \".[{executors.EXTRAS[name]}]\")")
    monkeypatch.setenv("BOOK_SUBMITIT_FOLDER", str(tmp_path))
    out = executors.map_jobs(square, [3, 1, 2], workers=2, executor=name)
    assert [v for v, _ in out] == [9, 1, 4]


@pytest.mark.parametrize("workers", [1, 2])
def test_chapter2_sweep_through_map_jobs_equals_direct_training(tmp_path, monkeypatch, workers):
    """Chapter 2's width sweep (``train_minnorm_many``) gives the weights of a direct ``train_minnorm``."""
    import torch

    from gendiff import minnorm as mm

    monkeypatch.setenv("BOOK_CACHE", str(tmp_path))
    X = torch.tensor([[[-1.0], [0.0], [1.2]]] * 2)
    jobs = {K: mm.MinNormJob(X, (False, True), mm.MinNormTrainConfig(K=K, M=4, steps=30), "t-width")
            for K in (4, 8)}
    swept = mm.train_minnorm_many(jobs, workers=workers, progress=False)
    for K, job in jobs.items():
        direct, _ = mm.train_minnorm(X, [False, True], job.cfg, cache=False, progress=False)
        for name, v in direct.state_dict().items():
            assert torch.equal(v, swept[K][0].state_dict()[name]), (K, name)


def test_chapter4_dae_sweeps_through_map_jobs_equal_direct_sweeps(tmp_path, monkeypatch):
    import torch

    from gendiff import molrg as M

    monkeypatch.setenv("BOOK_CACHE", str(tmp_path))
    cfg = M.DAETrainConfig(steps=20)
    jobs = {d: M.DAESweepJob(12, 1, d, (1, 3), 2, cfg, seed=d, name="t-dae") for d in (1, 2)}
    swept = M.sweep_dae_many(jobs)
    for d, job in jobs.items():
        direct = M.sweep_dae(12, 1, d, [1, 3], 2, cfg, seed=d)
        assert torch.equal(direct["err"], swept[d]["err"]) and swept[d]["N"] == [1, 3]


@pytest.mark.parametrize("value, error", [("dask", ValueError), ("ray", ImportError), ("submitit", ImportError)])
def test_setup_checks_the_executor_in_the_first_cell(monkeypatch, value, error):
    """An unknown executor, or one whose engine is missing, fails in ``runtime.setup`` (every chapter's first
    cell), before anything trains; a valid one is shown on the settings line."""
    import sys

    from gendiff import runtime
    monkeypatch.setitem(sys.modules, "ray", None)            # engines absent, whatever this venv has
    monkeypatch.setitem(sys.modules, "submitit", None)
    monkeypatch.setenv("BOOK_EXECUTOR", value)
    with pytest.raises(error, match="BOOK_EXECUTOR"):
        runtime.setup(verbose=False)
    monkeypatch.setenv("BOOK_EXECUTOR", "local")
    assert runtime.setup(verbose=False)["executor"] == "local"
