"""Training-set splits, de-duplication and the shuffled-pixel control (Kadkhodaie et al. 2024 §2, App. B)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def disjoint_splits(x: torch.Tensor, n: int, *, generator: torch.Generator | None = None):
    """Two disjoint training sets S1, S2 of ``n`` images each, drawn without replacement from ``x``."""
    if 2 * n > x.shape[0]:
        raise ValueError(f"need 2·n = {2 * n} images for two disjoint sets, have {x.shape[0]}")
    perm = torch.randperm(x.shape[0], generator=generator)
    return x[perm[:n]], x[perm[n:2 * n]]


def _centred_unit(x: torch.Tensor) -> torch.Tensor:
    f = x.flatten(1).double()
    f = f - f.mean(1, keepdim=True)
    return f / f.norm(dim=1, keepdim=True).clamp_min(1e-12)


def dedup_by_correlation(x: torch.Tensor, *, threshold: float = 0.95, pool_to: int | None = 20,
                         chunk: int = 2048) -> torch.Tensor:
    """Indices of the images kept after removing near-duplicates.

    Images are average-pooled to ``pool_to``×``pool_to`` (paper: 20), mean-removed and normalised; an image
    is dropped when its correlation with an earlier kept image exceeds ``threshold`` (paper: 0.95).
    """
    y = x
    if pool_to is not None and x.dim() == 4 and x.shape[-1] > pool_to:
        y = F.adaptive_avg_pool2d(x, pool_to)
    f = _centred_unit(y)
    keep: list[int] = []
    kept = torch.empty(0, f.shape[1], dtype=f.dtype)
    for start in range(0, f.shape[0], chunk):
        block = f[start:start + chunk]
        # against earlier chunks
        bad = (block @ kept.T > threshold).any(1) if kept.numel() else torch.zeros(block.shape[0], dtype=torch.bool)
        sims = block @ block.T
        for i in range(block.shape[0]):
            if bad[i]:
                continue
            keep.append(start + i)
            bad |= (sims[i] > threshold) & (torch.arange(block.shape[0]) > i)
        kept = f[torch.tensor(keep)]
    return torch.tensor(keep, dtype=torch.long)


def shuffle_pixels(x: torch.Tensor, *, generator: torch.Generator | None = None, perm: torch.Tensor | None = None):
    """Apply one fixed random pixel permutation to every image (paper Fig. 21's control); returns (x', perm)."""
    d = x[0].numel()
    perm = torch.randperm(d, generator=generator) if perm is None else perm
    return x.flatten(1)[:, perm].reshape(x.shape), perm


def balanced_halves(labels: torch.Tensor, *, generator: torch.Generator | None = None):
    """Indices of two disjoint halves A, B of a labelled set with the same number of each class in both
    (paper 1 Fig. 2: networks trained on non-overlapping sets). Each half is in random order, so its
    first ``n`` indices are a random subset; a class with an odd count leaves one image out."""
    a, b = [], []
    for c in torch.unique(labels):
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=generator)]
        h = len(idx) // 2
        a.append(idx[:h])
        b.append(idx[h:2 * h])
    a, b = torch.cat(a), torch.cat(b)
    return a[torch.randperm(len(a), generator=generator)], b[torch.randperm(len(b), generator=generator)]
