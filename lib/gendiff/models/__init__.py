"""Denoising networks. Every model's ``forward(y, sigma)`` returns the denoised image (see gendiff.train)."""
from .bias_free import BFBatchNorm, BiasFreeCNN, BiasFreeUNet
from .edm import EDMPrecond, SmallUNet, edm_unet

__all__ = ["BFBatchNorm", "BiasFreeCNN", "BiasFreeUNet", "EDMPrecond", "SmallUNet", "edm_unet"]
