"""Every chapter's `full` config builds its models and data at full size and takes one step of each on CPU."""
import pytest

from gendiff.configs import chapter_modules


@pytest.mark.parametrize("module", chapter_modules(), ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_full_profile_smoke(module):
    assert set(module.PROFILES) == {"ci", "full"}
    module.smoke_full()
