"""Parallel runs and killed runs on one checkpoint cache (issue 19, item 2).

Provoked here, each with real processes on a training entry (``train_denoiser_cached``):

* a race: two fresh processes ask for the same untrained entry at the same moment (a file barrier lines
  them up) — one trains, the other waits on the entry's lock, and both end with identical weights;
* a kill mid-write: a process is SIGKILLed while ``torch.save`` is half-way through the checkpoint —
  no ``.pt`` file appears, the next run trains and removes the orphaned ``.tmp``;
* a kill mid-training while another process waits: the kernel frees the lock, the waiter trains;
* a corrupt checkpoint (truncated bytes at the entry's path): a warning, then it is retrained.
"""
import fcntl
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import pytest
import torch

from gendiff import models, runtime, train

SETUP = textwrap.dedent("""
    import os, sys, time, torch
    from pathlib import Path
    from gendiff import models, runtime, train
    work = Path(sys.argv[1])
    x = torch.rand(16, 1, 8, 8, generator=runtime.generator(0))
    cfg = train.DenoiserTrainConfig(fit=train.FitConfig(steps=4, seed=3), batch_size=4)
    make = lambda: models.BiasFreeUNet(1, 4, 2)
    def note(*words):
        with open(work / "log", "a") as fh:
            fh.write(" ".join(map(str, (os.getpid(),) + words)) + "\\n")
    def run():
        model, _, _ = train.train_denoiser_cached(make, x, cfg, name="par", progress=False)
        return "".join(runtime.tensor_digest(v) for v in model.state_dict().values())
""")


def _entry():
    x = torch.rand(16, 1, 8, 8, generator=runtime.generator(0))
    cfg = train.DenoiserTrainConfig(fit=train.FitConfig(steps=4, seed=3), batch_size=4)
    make = lambda: models.BiasFreeUNet(1, 4, 2)  # noqa: E731
    return make, x, cfg, runtime.cache_path("par", train.cache_key(make, x, cfg))


def _digest(model):
    return "".join(runtime.tensor_digest(v) for v in model.state_dict().values())


def _start(body, work, env_cache):
    env = dict(os.environ, BOOK_CACHE=str(env_cache), BOOK_THREADS="1")
    return subprocess.Popen([sys.executable, "-c", SETUP + textwrap.dedent(body), str(work)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path, proc, timeout=90):
    t = time.time()
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"helper process ended early: {proc.communicate()[1][-2000:]}")
        assert time.time() - t < timeout, f"{path.name} never appeared"
        time.sleep(0.05)


def _lock_is_free(path):
    with open(path.with_suffix(".lock"), "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fh, fcntl.LOCK_UN)
        return True


def test_two_processes_training_one_entry_train_it_once(tmp_path):
    race = """
        real_generator = runtime.generator
        def generator(*a, **k):                # called once by the training loop: only the trainer gets here
            note("train", time.time())
            time.sleep(1.5)                    # keep the lock long enough for the other to queue
            return real_generator(*a, **k)
        runtime.generator = generator          # (runtime is outside the code digest: same key as unpatched)
        (work / f"ready-{os.getpid()}").touch()
        while len(list(work.glob("ready-*"))) < 2:
            time.sleep(0.01)
        t0 = time.time()
        digest = run()
        print(digest, t0, time.time())
    """
    procs = [_start(race, tmp_path, tmp_path / "cache") for _ in range(2)]
    outs = [p.communicate(timeout=180) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    rows = [o[0].split() for o in outs]
    assert rows[0][0] == rows[1][0]                        # identical weights
    log = [line.split() for line in (tmp_path / "log").read_text().splitlines()]
    assert len(log) == 1                                   # trained once
    trainer, busy_until = log[0][0], float(log[0][2]) + 1.5
    waiter = [r for r, p in zip(rows, procs) if str(p.pid) != trainer]
    assert len(waiter) == 1
    started, returned = float(waiter[0][1]), float(waiter[0][2])
    assert started < busy_until < returned                 # it asked while the other trained, and waited
    cache = tmp_path / "cache"
    assert len(list(cache.glob("par-*.pt"))) == 1 and not list(cache.glob("*.tmp"))


def test_run_killed_mid_write_leaves_nothing_loadable(tmp_path):
    kill_in_save = """
        real_save = torch.save
        def save(obj, fh):                     # write half the checkpoint, then hang
            real_save(obj, work / "whole.pt")
            data = (work / "whole.pt").read_bytes()
            fh.write(data[: len(data) // 2]); fh.flush(); os.fsync(fh.fileno())
            (work / "writing").touch()
            time.sleep(120)
        torch.save = save
        run()
    """
    cache = tmp_path / "cache"                             # conftest's BOOK_CACHE
    proc = _start(kill_in_save, tmp_path, cache)
    _wait_for(tmp_path / "writing", proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    make, x, cfg, path = _entry()
    assert list(cache.glob("par-*.pt*.tmp")) and not path.exists()   # only the orphaned temporary file
    assert not runtime.is_cached("par", train.cache_key(make, x, cfg))
    with warnings.catch_warnings():
        warnings.simplefilter("error")                     # nothing unreadable was even opened
        model, _, _ = train.train_denoiser_cached(make, x, cfg, name="par", progress=False)
    assert path.exists() and not list(cache.glob("*.tmp"))
    runtime.seed_everything(cfg.fit.seed)
    fresh = train.train_denoiser(make(), x, cfg, progress=False)   # same seed: the run was retrained
    assert _digest(model) == _digest(fresh.model)


def test_run_killed_mid_training_frees_the_entry_for_the_waiting_run(tmp_path):
    hang = """
        def generator(*a, **k):                # inside the training loop, holding the entry's lock
            (work / "training").touch()
            time.sleep(120)
        runtime.generator = generator
        run()
    """
    waiter = """
        while not (work / "training").exists():
            time.sleep(0.01)
        (work / "waiting").touch()
        print(run())
    """
    cache = tmp_path / "cache"
    first = _start(hang, tmp_path, cache)
    second = _start(waiter, tmp_path, cache)               # starts (imports) alongside the first
    _wait_for(tmp_path / "training", first)
    _wait_for(tmp_path / "waiting", second)
    time.sleep(1.0)
    assert second.poll() is None                           # blocked on the lock held by the first
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err[-2000:]
    assert len(list(cache.glob("par-*.pt"))) == 1
    make, x, cfg, path = _entry()
    model, _, _ = train.train_denoiser_cached(make, x, cfg, name="par", progress=False)
    assert _digest(model) == out.strip()                   # the waiter trained and stored the entry


def test_corrupt_training_checkpoint_is_retrained(tmp_path):
    make, x, cfg, path = _entry()
    model, _, _ = train.train_denoiser_cached(make, x, cfg, name="par", progress=False)
    good = _digest(model)
    path.write_bytes(path.read_bytes()[:100])              # as a non-atomic writer killed mid-write would leave it
    with pytest.warns(RuntimeWarning, match="unreadable"):
        again, _, _ = train.train_denoiser_cached(make, x, cfg, name="par", progress=False)
    assert _digest(again) == good
    assert _lock_is_free(path)
