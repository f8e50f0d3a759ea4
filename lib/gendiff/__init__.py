"""gendiff: the library behind "How Diffusion Models Generalize".

One module per concept; chapters import from here:

* :mod:`gendiff.runtime`   profile (``BOOK_PROFILE``), device, threads, seeds, checkpoint cache
* :mod:`gendiff.train`     the one training loop, noise laws, denoising losses
* :mod:`gendiff.memo`      measurements of trained networks kept in the cache, keyed by their arguments' content
* :mod:`gendiff.data`      offline datasets (Cα images, disks, digits, photo patches, LFW faces, folders)
* :mod:`gendiff.models`    bias-free UNet / CNN (paper 1), EDM-preconditioned UNet (paper 3)
* :mod:`gendiff.denoisers` closed-form denoisers: empirical (multi-delta), Gaussian (Wiener)
* :mod:`gendiff.sampling`  stochastic coarse-to-fine ascent (paper 1), EDM Euler/Heun
* :mod:`gendiff.jacobian`  batched Jacobians (torch.func), eigen-analysis, effective dimension
* :mod:`gendiff.metrics`   PSNR, cosine similarity, nearest training image, slopes
* :mod:`gendiff.plots`     the book's figure style and plot helpers
* :mod:`gendiff.claims`    the claims ledger every chapter ends with: statuses decided by the regime, declared per row
* :mod:`gendiff.certificate` a trained denoiser's convergence certificate (against doing nothing and D_G)

Denoiser convention: ``D(y, sigma) -> x_hat`` returns the denoised image (see :mod:`gendiff.train`).
"""
__version__ = "0.1.0"
