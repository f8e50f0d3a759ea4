import pytest
import torch
from torch import nn

from gendiff import models, runtime, train


def _tiny_cfg(steps=5, **kw):
    return train.DenoiserTrainConfig(fit=train.FitConfig(steps=steps, lr=1e-3, **kw), batch_size=8)


@pytest.mark.parametrize("kind", ["quadratic", "uniform", "edm", "loguniform"])
def test_noise_laws_are_positive_and_seeded(kind):
    law = train.NoiseLaw(kind, sigma_min=0.01, sigma_max=2.0)
    a = law.sample(1000, runtime.generator(0))
    b = law.sample(1000, runtime.generator(0))
    assert torch.equal(a, b) and (a > 0).all()
    if kind != "edm":
        assert a.max() <= 2.0


def test_unknown_noise_law_and_weight_are_errors():
    with pytest.raises(ValueError, match="noise law"):
        train.NoiseLaw("cubic").sample(3)
    with pytest.raises(ValueError, match="weighting"):
        train.loss_weight(torch.ones(2), "sqrt")


def test_training_is_deterministic():
    x = torch.rand(32, 1, 8, 8, generator=runtime.generator(0))
    outs = []
    for _ in range(2):
        torch.manual_seed(0)
        m = models.BiasFreeUNet(1, 4, 2)
        res = train.train_denoiser(m, x, _tiny_cfg(), progress=False)
        outs.append(res.model(x[:2]))
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)


def test_nan_loss_stops_with_an_error_naming_the_run():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(torch.ones(1))
        def forward(self, y, sigma):
            return y * self.w * float("nan")
    with pytest.raises(train.TrainingDiverged, match="'broken-run'.*nan"):
        train.train_denoiser(Bad(), torch.rand(16, 4), _tiny_cfg(), name="broken-run", progress=False)


def test_cached_training_reuses_the_checkpoint_and_returns_snapshots():
    x = torch.rand(32, 1, 8, 8, generator=runtime.generator(1))
    cfg = _tiny_cfg(steps=6, snapshots=(2, 6), ema_decay=0.9)
    make = lambda: models.BiasFreeUNet(1, 4, 2)
    m1, h1, s1 = train.train_denoiser_cached(make, x, cfg, name="t", progress=False)
    m2, h2, s2 = train.train_denoiser_cached(make, x, cfg, name="t", progress=False)
    assert sorted(s1) == [2, 6] and h1 == h2
    torch.testing.assert_close(m1(x[:2]), m2(x[:2]))
    assert len(list(runtime.cache_dir().glob("t-*.pt"))) == 1


def test_schedules():
    c = train.FitConfig(steps=100, lr=1.0, schedule="cosine", lr_final=0.01)
    assert c.lr_at(0) == pytest.approx(1.0) and c.lr_at(100) == pytest.approx(0.01)
    h = train.FitConfig(steps=100, lr=1.0, schedule="halving", halve_every=10)
    assert h.lr_at(25) == pytest.approx(0.25)
    with pytest.raises(ValueError):
        train.FitConfig(schedule="step").lr_at(0)


def _jobs():
    import functools
    x = torch.rand(8, 1, 8, 8, generator=runtime.generator(0))
    make = functools.partial(models.BiasFreeUNet, 1, 4, 2)
    cfg = train.DenoiserTrainConfig(fit=train.FitConfig(steps=3, snapshots=(2,)), batch_size=4)
    return {"a": train.Job(make, x, cfg, "t-a"), "b": train.Job(make, x[:4], cfg, "t-b"),
            "c": train.Job(make, x, train.DenoiserTrainConfig(fit=train.FitConfig(steps=2, seed=1), batch_size=4), "t-c")}


def test_train_many_gives_the_same_weights_in_worker_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_CACHE", str(tmp_path / "par"))
    par = train.train_many(_jobs(), workers=2)
    assert all(v.seconds > 0 for v in par.values())
    assert len(list((tmp_path / "par").glob("*.pt"))) == 3   # workers and parent agree on the keys (code digest)
    monkeypatch.setenv("BOOK_CACHE", str(tmp_path / "seq"))
    seq = train.train_many(_jobs(), workers=1)
    assert list(par) == list(seq) == ["a", "b", "c"]
    for k in par:
        for p, q in zip(par[k].model.parameters(), seq[k].model.parameters()):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
        assert set(par[k].snapshots) == ({2} if k != "c" else set())
    again = train.train_many(_jobs(), workers=2)             # all cached: nothing is retrained
    assert all(v.seconds < 5 for v in again.values())
    assert len(list((tmp_path / "seq").glob("*.pt"))) == 3


def test_train_many_rejects_bad_workers(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_CACHE", str(tmp_path))
    with pytest.raises(ValueError, match="workers"):
        train.train_many(_jobs(), workers=0)
