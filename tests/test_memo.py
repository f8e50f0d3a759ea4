"""Memoized analyses (gendiff.memo): a value is computed once per content of its arguments, stored as plain
containers and returned bit for bit; an argument the key cannot describe is refused. ``BOOK_CACHE`` is a
temporary folder (conftest.py)."""
import numpy as np
import pytest
import torch

from gendiff import memo
from gendiff.denoisers import GaussianDenoiser
from gendiff.gaussian_linear import AffineDenoiser, DistillResult
from gendiff.memorization import Gap

CALLS = []


@memo.memoized
def measure(D, x, sigma, *, seed=0):
    """A stand-in analysis: the denoiser's output on seeded noise, in the container types analyses return."""
    CALLS.append(sigma)
    g = torch.Generator().manual_seed(seed)
    y = x + sigma * torch.randn(x.shape, generator=g)
    out = D(y, sigma).detach()
    err = (out - x).pow(2).mean(1).numpy()
    return {"out": out, "mse": err, "pair": (float(err.mean()), seed), "per_sigma": {sigma: [err.max()]}}


@pytest.fixture(autouse=True)
def _reset():
    CALLS.clear()


def test_a_second_call_reads_the_stored_value_bit_for_bit():
    net = torch.nn.Linear(4, 4)
    x = torch.randn(8, 4)
    first = measure(lambda y, s: net(y), x, 0.5, seed=1)
    again = measure(lambda y, s: net(y), x, 0.5, seed=1)
    assert CALLS == [0.5]
    assert torch.equal(first["out"], again["out"]) and np.array_equal(first["mse"], again["mse"])
    assert isinstance(again["mse"], np.ndarray) and isinstance(again["pair"], tuple)
    assert again["per_sigma"] == {0.5: [first["mse"].max()]}


def test_the_key_reads_weights_data_closures_and_options():
    net = torch.nn.Linear(4, 4)
    x = torch.randn(8, 4)
    measure(net_call := (lambda y, s: net(y)), x, 0.5)
    measure(net_call, x + 1, 0.5)                     # other data
    measure(net_call, x, 0.25)                        # other σ
    measure(net_call, x, 0.5, seed=3)                 # other seed
    with torch.no_grad():
        net.weight.add_(1.0)                          # other weights, read through the closure
    measure(net_call, x, 0.5)
    assert len(CALLS) == 5
    measure(GaussianDenoiser(x), x, 0.5)              # a denoiser object: by its tensors
    measure(GaussianDenoiser(x + 1), x, 0.5)
    measure(GaussianDenoiser(x), x, 0.5)
    assert len(CALLS) == 7


def test_library_classes_round_trip_and_foreign_ones_are_refused():
    W, b = torch.randn(4, 4, dtype=torch.float64), torch.randn(4, dtype=torch.float64)
    value = {"fits": {0.5: DistillResult(W, b, {})}, "DL": AffineDenoiser({0.5: (W, b)}, (4,)),
             "gap": Gap(np.arange(3.0), np.zeros(3), np.ones(3))}
    back = memo.from_plain(memo.to_plain(value))
    assert torch.equal(back["fits"][0.5].W, W) and torch.equal(back["DL"].params[0.5][0], W)
    y = torch.randn(2, 4)
    assert torch.equal(back["DL"](y, 0.5), value["DL"](y, 0.5))
    assert np.array_equal(back["gap"].gap, np.arange(3.0))
    with pytest.raises(ValueError, match="outside gendiff"):
        memo.from_plain({"__class__": "os:system", "fields": {}})
    with pytest.raises(TypeError, match="cannot store"):
        memo.to_plain({"bad": object()})


def test_a_generator_argument_is_an_error():
    @memo.memoized
    def draw(g):
        return torch.randn(2, generator=g)

    with pytest.raises(TypeError, match="pass a seed"):
        draw(torch.Generator().manual_seed(0))


def test_book_memo_0_computes_every_call(monkeypatch):
    x = torch.randn(8, 4)
    monkeypatch.setenv("BOOK_MEMO", "0")
    measure(lambda y, s: y, x, 0.5)
    measure(lambda y, s: y, x, 0.5)
    assert CALLS == [0.5, 0.5]
    assert not memo.is_memo_cached(measure, lambda y, s: y, x, 0.5)
    monkeypatch.setenv("BOOK_MEMO", "yes")
    with pytest.raises(ValueError, match="BOOK_MEMO must be 0 or 1"):
        measure(lambda y, s: y, x, 0.5)


def test_is_memo_cached_sees_a_stored_call():
    x = torch.randn(8, 4)
    ident = lambda y, s: y  # noqa: E731
    assert not memo.is_memo_cached(measure, ident, x, 0.5)
    measure(ident, x, 0.5)
    assert memo.is_memo_cached(measure, ident, x, 0.5)
    with pytest.raises(TypeError, match="not memoized"):
        memo.is_memo_cached(len, x)
