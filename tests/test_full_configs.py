"""Every chapter's non-``ci`` configs (``gpu``, ``full``) build their models and data at full size and take one
training step and one sampler/analysis step of each on the CPU, so neither rots unseen without a GPU."""
import pytest

from gendiff import runtime
from gendiff.configs import chapter_modules

BIG = [p for p in runtime.PROFILES if p != "ci"]


def test_every_chapter_has_every_profile():
    for module in chapter_modules():
        assert set(module.PROFILES) == set(runtime.PROFILES), module.__name__


@pytest.mark.parametrize("profile", BIG)
@pytest.mark.parametrize("module", chapter_modules(), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_big_profile_smoke(module, profile):
    module.smoke_full(profile)
