"""The kernels of the book build and of nbval: private Unix sockets, and no live widget panels.

With jupyter_client's default TCP transport, each kernel manager picks five free ports and the kernel binds
them a moment later; a second build or test run starting a kernel in that moment can take the same ports,
and one kernel hangs (seen once in a book build). With ``install()``, every ``KernelManager`` created in this
process uses the IPC transport with socket files in a folder of its own, named after a fresh UUID, so two
kernels can never pick the same endpoint — whatever runs beside them. Start-up costs the same
(``tests/test_kernels.py`` times both).

``headless()`` sets ``BOOK_LIVE_WIDGETS=0`` in this process, so every kernel it starts inherits it and
``gendiff.widgets.explore`` draws its static figure or kernel-free slider without the live ipywidgets panel.
A build or test run has no widget frontend to show the panel (``nb_ipywidgets_js: {}`` renders it as an
invisible script tag), and a cell displaying one sometimes left nbclient waiting for the cell's reply until
the cell's timeout (jupyter/nbclient#312; ``benchmarks/widget_stall.py`` counts it). A reader's own Jupyter
kernel keeps the live panel.
"""
from __future__ import annotations

import os
import tempfile
import uuid

_DIR: str | None = None


def _socket_prefix() -> str:
    global _DIR
    if _DIR is None or not os.path.isdir(_DIR):
        _DIR = tempfile.mkdtemp(prefix="book-kernels-")
    return os.path.join(_DIR, uuid.uuid4().hex[:12])


def install() -> None:
    """Make every new ``jupyter_client`` kernel manager of this process use IPC with a unique socket path."""
    from jupyter_client.manager import KernelManager
    if getattr(KernelManager, "_book_ipc", False):
        return
    init = KernelManager.__init__

    def __init__(self, *args, **kwargs):
        init(self, *args, **kwargs)
        if "transport" not in kwargs and "ip" not in kwargs:
            self.transport = "ipc"
            self.ip = _socket_prefix()

    KernelManager.__init__ = __init__
    KernelManager._book_ipc = True


def headless() -> None:
    """No live widget panels in the kernels this process starts (they inherit its environment)."""
    os.environ["BOOK_LIVE_WIDGETS"] = "0"


def setup(app):
    """Sphinx extension entry: the book build's kernels (MyST-NB → nbclient) start race-free, headless."""
    install()
    headless()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
