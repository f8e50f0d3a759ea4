import os

import pytest
import torch

os.environ.setdefault("TQDM_DISABLE", "1")


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    """Each test gets its own checkpoint cache and the default profile; torch runs on 1 thread."""
    monkeypatch.setenv("BOOK_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("BOOK_PROFILE", raising=False)
    torch.set_num_threads(1)
    yield
