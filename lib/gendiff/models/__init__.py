"""Denoising networks. Every model's ``forward(y, sigma)`` returns the denoised image (see gendiff.train)."""
from .bias_free import BFBatchNorm, BiasFreeCNN, BiasFreeUNet
from .edm import EDMPrecond, SmallMLP, SmallUNet, edm_unet, mlp_denoiser

__all__ = ["BFBatchNorm", "BiasFreeCNN", "BiasFreeUNet", "EDMPrecond", "SmallUNet", "edm_unet", "SmallMLP", "mlp_denoiser"]
