"""Training-step throughput with 1 vs 2 torch threads, measured in one run; prints the ratio.

Each setting runs in a fresh subprocess (torch's thread pool is fixed once used). The default
BOOK_THREADS=1 was chosen from this benchmark: see the README and the printed table.

Usage: python benchmarks/threads.py [--steps 60]
"""
import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, sys, time, torch
from gendiff import data, models, train, runtime
torch.set_num_threads(int(sys.argv[1])); torch.set_flush_denormal(True)
out = {}
for name, make, x in [
    ("bias-free UNet w16, 16x16 (ch. 1)", lambda: models.BiasFreeUNet(1, 16, 2), data.calpha_images(512, 16, 2.0, generator=runtime.generator(0))),
    ("EDM UNet c16, 8x8 digits (ch. 3)", lambda: models.edm_unet(1, 16), data.digits(scale="pm1")[0]),
]:
    torch.manual_seed(0)
    cfg = train.DenoiserTrainConfig(fit=train.FitConfig(steps=int(sys.argv[2])), batch_size=64 if "16x16" in name else 128)
    m = make()
    train.train_denoiser(m, x, train.DenoiserTrainConfig(fit=train.FitConfig(steps=5), batch_size=cfg.batch_size), progress=False)
    t = time.perf_counter(); train.train_denoiser(m, x, cfg, progress=False); out[name] = (time.perf_counter() - t) / cfg.fit.steps
print(json.dumps(out))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    args = ap.parse_args()
    res = {}
    for n in (1, 2):
        p = subprocess.run([sys.executable, "-c", CHILD, str(n), str(args.steps)], capture_output=True, text=True,
                           check=True, env={**os.environ, "TQDM_DISABLE": "1"})
        res[n] = json.loads(p.stdout.strip().splitlines()[-1])
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| model | 1 thread (ms/step) | 2 threads (ms/step) | 1-thread time / 2-thread time |")
    print("|---|---|---|---|")
    for name in res[1]:
        a, b = res[1][name], res[2][name]
        print(f"| {name} | {1e3 * a:.0f} | {1e3 * b:.0f} | {a / b:.2f} |")


if __name__ == "__main__":
    main()
