"""Race-free kernel start-up for the book build and nbval: kernels talk over private Unix sockets.

With jupyter_client's default TCP transport, each kernel manager picks five free ports and the kernel binds
them a moment later; a second build or test run starting a kernel in that moment can take the same ports,
and one kernel hangs (seen once in a book build). With ``install()``, every ``KernelManager`` created in this
process uses the IPC transport with socket files in a folder of its own, named after a fresh UUID, so two
kernels can never pick the same endpoint — whatever runs beside them. Start-up costs the same
(``tests/test_kernels.py`` times both).
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


def setup(app):
    """Sphinx extension entry: the book build's kernels (MyST-NB → nbclient) start race-free."""
    install()
    return {"parallel_read_safe": True, "parallel_write_safe": True}
