"""One config per chapter, both profiles side by side (``PROFILES = {"ci": ..., "full": ...}``).

A chapter reads its config once with ``cfg = runtime.pick(PROFILES)``. Every module here also defines
``smoke_full()``: it builds the ``full`` config's models and data at full size and runs one training step
and one sampler/analysis step of each on the CPU, so the GPU profile never rots unseen
(``tests/test_full_configs.py``).
"""
import importlib
import pkgutil


def chapter_modules():
    """The config modules ``chNN`` of this package, imported, in chapter order."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("ch"))
    return [importlib.import_module(f"{__name__}.{n}") for n in names]
