"""Same profile, same seed, CPU: two runs give identical results (issue 19, item 4).

The cheapest trained thing of the book — a tiny bias-free UNet trained by ``train_denoiser`` — is trained
in two fresh processes (nothing shared but the code) and the weights, loss history and snapshot must be
*bitwise* equal. That holds because every random draw of a run comes from its seeded generator and the
CPU kernels are deterministic for a fixed thread count.

Which numbers may differ, and why (not tested here; see ``gendiff.train``'s docstring):

* another ``BOOK_THREADS``, another CPU (AVX2 vs AVX-512 kernels) or another torch / oneDNN / BLAS build:
  matrix products and convolutions add their terms in another order, so weights differ in the last bits
  after one step and by more after many; every number computed from a trained model then moves within
  its seed-to-seed spread (which is why the chapters measure that spread before trusting a margin);
* CUDA: some kernels are non-deterministic (atomic adds in convolution backward) and TF32/bf16 autocast
  rounds differently from float32 on the CPU.

A shared cache hides these differences in the weights (its key ignores threads and device, so every later
run loads the first run's weights), not in what a run computes from them with other settings.
"""
import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import torch
    from gendiff import models, runtime, train
    runtime.setup(0, verbose=False)
    x = torch.rand(32, 1, 8, 8, generator=runtime.generator(0))
    cfg = train.DenoiserTrainConfig(fit=train.FitConfig(steps=20, ema_decay=0.9, snapshots=(10,), seed=5),
                                    noise=train.NoiseLaw("edm"), weight="edm", batch_size=8)
    res = train.train_denoiser(models.BiasFreeUNet(1, 4, 2), x, cfg, progress=False)
    digests = [runtime.tensor_digest(v) for v in res.model.state_dict().values()]
    digests += [runtime.tensor_digest(v) for v in res.snapshots[10].values()]
    print(" ".join(digests), repr(res.history["loss"]))
""")


def test_two_fresh_processes_train_bitwise_identical_weights(tmp_path):
    env = dict(os.environ, BOOK_THREADS="1", BOOK_DEVICE="cpu", BOOK_PROFILE="ci", BOOK_CACHE=str(tmp_path))
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-2000:] for o in outs]
    a, b = (o[0].strip() for o in outs)
    assert a and a == b                                    # state dict, snapshot and loss history
