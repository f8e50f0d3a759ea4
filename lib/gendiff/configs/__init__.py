"""One config per chapter, every profile side by side (``PROFILES = {"ci": ..., "gpu": ..., "full": ...}``).

A chapter reads its config once with ``cfg = runtime.pick(PROFILES)``. Every module here also defines
``smoke_full(profile="full")``: it builds that config's models and data at full size and runs one training
step and one sampler/analysis step of each on the CPU, so the ``gpu`` and ``full`` profiles never rot unseen
(``tests/test_full_configs.py``).
"""
import importlib
import pkgutil


def chapter_modules():
    """The config modules ``chNN`` of this package, imported, in chapter order."""
    names = sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name.startswith("ch"))
    return [importlib.import_module(f"{__name__}.{n}") for n in names]
