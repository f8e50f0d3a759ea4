"""GPU readiness without a GPU: one training step and one sampler step with the book's device set to ``meta``.

``gendiff.runtime.device()`` is patched to return the ``meta`` device (tensors with a shape and dtype but no
data) while data, seeded generators and noise stay on the CPU, as they do on a GPU run. A
:class:`torch.overrides.TorchFunctionMode` then watches every torch call from Python:

* an op whose tensor arguments live on two devices raises at once, naming the op (0-dim CPU tensors are
  exempt: PyTorch allows them with any device, as it does on CUDA; transfers ``to``/``copy_``/``cpu`` are the
  intended crossings). So a tensor that the library forgets to move to ``runtime.device()`` fails here
  exactly as it would on CUDA, but on a machine without one;
* reading a value out of a meta tensor (``float``/``bool``/``item``, the loss logged by ``fit``, the
  sampler's stopping test) or copying one to the CPU returns a placeholder (1.0, False, zeros), since meta
  tensors hold no numbers. The numbers are not the point: placement is.

Why not ``meta`` alone: ``fit`` reads the loss with ``float()`` every step and the sampler tests ``any()``,
which meta tensors refuse. Why not a CPU stand-in: with every tensor on the CPU, a forgotten ``.to(device)``
cannot be told from a correct one.
"""
import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils import _pytree as pytree

from gendiff import data, models, runtime, sampling, train

CROSSINGS = {"to", "copy_", "cpu", "cuda", "__get__", "__set__", "new_tensor", "set_",
             "_has_compatible_shallow_copy_type"}                   # nn.Module.to swapping a parameter's data


class DeviceGuard(TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.ops = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", str(func))
        tensors = [t for t in pytree.tree_leaves((args, kwargs)) if isinstance(t, torch.Tensor)]
        devices = {t.device.type for t in tensors if not (t.device.type == "cpu" and t.dim() == 0)}
        if len(devices) > 1 and name not in CROSSINGS:
            raise AssertionError(f"torch.{name} mixes devices {sorted(devices)}: a tensor was left on the wrong "
                                 "device (move it with .to(runtime.device()))")
        self.ops += 1
        if tensors and tensors[0].is_meta:
            if name in ("__float__", "item"):
                return 1.0
            if name == "__bool__":
                return False
            if name == "__int__":
                return 0
            if name == "cpu" or (name == "to" and _to_cpu(args, kwargs)):
                t = tensors[0]
                return torch.zeros(t.shape, dtype=t.dtype)
        return func(*args, **kwargs)


def _to_cpu(args, kwargs) -> bool:
    target = [a for a in list(args[1:]) + list(kwargs.values()) if isinstance(a, (str, torch.device))]
    return bool(target) and torch.device(target[0]).type == "cpu"


@pytest.fixture
def meta_device(monkeypatch):
    monkeypatch.setattr(runtime, "device", lambda: torch.device("meta"))
    return torch.device("meta")


def test_guard_catches_a_tensor_left_on_the_cpu(meta_device):
    with DeviceGuard(), pytest.raises(AssertionError, match="mixes devices"):
        torch.ones(3, device=meta_device) + torch.ones(3)


def test_training_and_sampler_step_keep_tensors_on_the_device(meta_device):
    x = data.digits()[0][:16]                                       # (16, 1, 8, 8) on the CPU
    model = models.BiasFreeUNet(in_ch=1, width=4, blocks=2).to(runtime.device())
    cfg = train.DenoiserTrainConfig(fit=train.FitConfig(steps=1, ema_decay=0.9), batch_size=4)
    guard = DeviceGuard()
    with guard:
        res = train.train_denoiser(model, x, cfg, progress=False)
        out = sampling.ascent_sample(res.model, (2, 1, 8, 8), mean=x.mean(0), seed=0)
    assert next(res.model.parameters()).is_meta
    assert out.x.shape == (2, 1, 8, 8) and out.steps == 1 and guard.ops > 100


def test_shallow_net_training_step_keeps_tensors_on_the_device(meta_device):
    from gendiff import minnorm as mm

    X = torch.tensor([[[-1.0], [0.0], [1.0]]] * 2)                  # (G = 2, N = 3, d = 1)
    cfg = mm.MinNormTrainConfig(K=8, M=4, steps=1)
    with DeviceGuard():
        net, info = mm.train_minnorm(X, [False, True], cfg, cache=False, progress=False)
    assert net.W.is_meta and info["path_cost"].shape == (2,)


def test_device_choices_go_through_runtime():
    """Nothing in the library picks a device, seeds a generator or chooses a precision by itself: those
    calls live in gendiff.runtime (so a GPU run changes one module, and the tests above cover it)."""
    import re
    from pathlib import Path

    import gendiff

    lib = Path(gendiff.__file__).parent
    stray = re.compile(r"\.cuda\(\)|torch\.Generator\(\)|torch\.autocast\(|torch\.backends\.\w+\.allow_tf32")
    found = [f"{p.relative_to(lib)}:{i}" for p in lib.rglob("*.py") if p.name != "runtime.py"
             for i, line in enumerate(p.read_text().splitlines(), 1) if stray.search(line)]
    assert not found, f"device/precision/seed choices outside gendiff.runtime: {found}"
