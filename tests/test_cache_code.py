"""Cache entries are keyed by the source that made them (issue 19, item 1).

Each test edits a source file the computation reaches (a stale-source provocation: the cache must not
serve the old result) and one it does not reach (the cache must keep serving it). The sources are a
small package written to a temporary folder, so no file of the book is touched; ``train.py`` and the
book's own modules are "edited" by changing the digest that :func:`gendiff.runtime.code_digest` reads
for them (``cache._file_sha``).
"""
import functools
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from gendiff import models, plots, runtime, train

PKG = {
    "__init__.py": "",
    "helpers.py": "def shrink(x):\n    return 0.5 * x\n",
    "net.py": textwrap.dedent("""
        import torch
        from torch import nn
        from . import helpers

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.lin = nn.Linear(4, 4, bias=False)

            def forward(self, y, sigma):
                return helpers.shrink(self.lin(y))
    """),
    "recipe.py": textwrap.dedent("""
        import torch
        from . import net

        def run(seed):
            torch.manual_seed(seed)
            return {"w": net.Net().lin.weight.detach()}
    """),
    "figures.py": "def plot(x):\n    return x\n",   # imported by nobody in the computation
}


@pytest.fixture
def pkg(tmp_path, monkeypatch):
    root = tmp_path / "src"
    (root / "srcpkg").mkdir(parents=True)
    for name, text in PKG.items():
        (root / "srcpkg" / name).write_text(text)
    monkeypatch.syspath_prepend(str(root))
    for mod in [m for m in sys.modules if m == "srcpkg" or m.startswith("srcpkg.")]:
        monkeypatch.delitem(sys.modules, mod)
    import srcpkg.figures, srcpkg.net, srcpkg.recipe  # noqa: F401,E401
    return root / "srcpkg"


def _edit(path: Path) -> None:
    path.write_text(path.read_text() + "\n# edited\n")


def _edit_digest_of(monkeypatch, module) -> None:
    """Make ``code_digest`` read ``module``'s file as if it had been edited."""
    from gendiff import cache
    target, real = str(Path(module.__file__).resolve()), cache._file_sha
    monkeypatch.setattr(cache, "_file_sha", lambda p: real(p) + ("-edited" if p == target else ""))


def test_digest_follows_what_the_computation_reaches(pkg):
    import srcpkg.recipe
    before = runtime.code_digest(srcpkg.recipe.run)
    _edit(pkg / "figures.py")                              # not reached: same digest
    assert runtime.code_digest(srcpkg.recipe.run) == before
    _edit(pkg / "helpers.py")                              # reached through Net.forward
    assert runtime.code_digest(srcpkg.recipe.run) != before


def test_digest_is_the_same_in_other_processes_and_folders(pkg, tmp_path):
    import srcpkg.recipe
    here = runtime.code_digest(srcpkg.recipe.run, train.train_denoiser, models.BiasFreeUNet)
    moved = tmp_path / "elsewhere" / "deeper"
    moved.mkdir(parents=True)
    shutil.copytree(pkg, moved / "srcpkg")
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import srcpkg.recipe; "
              "from gendiff import runtime, train, models; "
              "print(runtime.code_digest(srcpkg.recipe.run, train.train_denoiser, models.BiasFreeUNet))")
    out = subprocess.run([sys.executable, "-c", script, str(moved)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == here


def test_cached_recomputes_when_the_recipe_source_changes(pkg):
    import srcpkg.recipe
    calls = []

    def compute():
        calls.append(1)
        return srcpkg.recipe.run(0)

    runtime.cached("r", {"seed": 0}, compute)
    runtime.cached("r", {"seed": 0}, compute)
    assert len(calls) == 1
    _edit(pkg / "figures.py")
    runtime.cached("r", {"seed": 0}, compute)
    assert len(calls) == 1                                 # unrelated edit: reused
    _edit(pkg / "recipe.py")
    runtime.cached("r", {"seed": 0}, compute)
    assert len(calls) == 2                                 # the recipe changed: recomputed
    _edit(pkg / "helpers.py")
    runtime.cached("r", {"seed": 0}, compute)
    assert len(calls) == 3                                 # so did a function the model calls
    runtime.cached("r", {"seed": 0}, functools.partial(srcpkg.recipe.run, 0))
    runtime.cached("r", {"seed": 0}, functools.partial(srcpkg.recipe.run, 0))
    assert len(list(runtime.cache_dir().glob("r-*.pt"))) == 4


def test_trained_denoiser_is_retrained_when_its_code_changes_and_only_then(pkg, monkeypatch):
    import srcpkg.net
    x = torch.rand(16, 4, generator=runtime.generator(0))
    cfg = train.DenoiserTrainConfig(fit=train.FitConfig(steps=3), batch_size=4)
    log = []

    def entries():
        train.train_denoiser_cached(srcpkg.net.Net, x, cfg, name="code", progress=False)
        log.append(len(list(runtime.cache_dir().glob("code-*.pt"))))
        return log[-1]

    assert entries() == 1 and entries() == 1               # trained once, then loaded
    _edit(pkg / "figures.py")                              # a module the training never reaches
    _edit_digest_of(monkeypatch, plots)                    # the book's plot module
    assert entries() == 1
    _edit(pkg / "helpers.py")                              # used by the model's forward
    assert entries() == 2
    _edit(pkg / "net.py")                                  # the model's module
    assert entries() == 3
    _edit_digest_of(monkeypatch, train)                    # the training loop / loss
    assert entries() == 4
    key = train.cache_key(srcpkg.net.Net, x, cfg)
    assert runtime.is_cached("code", key)                  # what train_many asks before spawning workers


def _cell(source: str, number: int):
    """Run ``source`` as a notebook cell does: compiled under an ``ipykernel_*`` file name that exists only
    in ``linecache`` (as IPython registers it); returns the cell's namespace."""
    import linecache
    filename = f"/tmp/ipykernel_0/{number}.py"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"__name__": "__main__"}
    exec(compile(source, filename, "exec"), namespace)
    return namespace


def test_a_function_typed_in_a_notebook_cell_is_keyed_by_its_own_text(pkg):
    cell = textwrap.dedent("""
        import srcpkg.recipe as R
        print("a sentence of the chapter that may change")
        compute = lambda: R.run(0)
    """)
    before = runtime.code_digest(_cell(cell, 1)["compute"])
    assert runtime.code_digest(_cell(cell.replace("may change", "changed"), 2)["compute"]) == before
    assert runtime.code_digest(_cell(cell.replace("run(0)", "run(1)"), 3)["compute"]) != before
    _edit(pkg / "helpers.py")                              # the library the cell's function reaches
    assert runtime.code_digest(_cell(cell, 4)["compute"]) != before
