"""`make test` executes each chapter once: nbval's outputs are stored (conftest.py) in the jupyter-cache that the
book build then reads. The stored notebook must be the one MyST-NB looks up for the chapter."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _conftest():
    spec = importlib.util.spec_from_file_location("book_conftest", ROOT / "conftest.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_stored_execution_is_found_by_the_book_build(tmp_path):
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from myst_nb.core.read import read_myst_markdown_notebook
    from nbformat import NotebookNode

    conf = _conftest()
    path = ROOT / "chapters" / "00-denoisers-and-generalization.md"
    n_code = sum(c.cell_type == "code" for c in read_myst_markdown_notebook(path.read_text(), path=path).cells)
    outs = [[NotebookNode(output_type="stream", name="stdout", text=f"cell {i}\n")] for i in range(n_code)]
    assert conf.executed_notebook(path, outs[:-1]) is None           # a cell missing: not stored
    nb = conf.executed_notebook(path, outs)
    cache = get_cache(tmp_path)
    cache.cache_notebook_bundle(CacheBundleIn(nb, str(path)), check_validity=False, overwrite=True)
    fresh = read_myst_markdown_notebook(path.read_text(), path=path)   # what the book build reads
    _, merged = cache.merge_match_into_notebook(fresh)
    code = [c for c in merged.cells if c.cell_type == "code"]
    assert [c.outputs[0]["text"] for c in code] == [f"cell {i}\n" for i in range(n_code)]
