"""Kernel start-up without port races (_ext/ipc_kernels.py): several kernels started at once, from several
processes, each run a notebook; the IPC start-up time is printed beside TCP's."""
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = r"""
import sys, time
sys.path.insert(0, {ext!r})
import nbformat
from nbclient import NotebookClient
if {ipc}:
    import ipc_kernels; ipc_kernels.install()
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = sum(range(10))\nprint(x)")])
t = time.time()
NotebookClient(nb, timeout=60, kernel_name="python3").execute()
assert nb.cells[0].outputs[0]["text"].strip() == "45", nb.cells[0].outputs
print(f"{{time.time() - t:.2f}}")
"""


def _run_at_once(n: int, ipc: bool) -> list[float]:
    code = SCRIPT.format(ext=str(ROOT / "_ext"), ipc=ipc)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(n)]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=120)
        assert p.returncode == 0, stderr[-2000:]
        out.append(float(stdout.split()[-1]))
    return out


def test_kernels_started_at_once_all_run_over_ipc():
    ipc = _run_at_once(2, ipc=True)
    tcp = _run_at_once(2, ipc=False)
    print(f"2 notebooks at once: IPC {max(ipc):.2f} s, TCP {max(tcp):.2f} s (slowest start + run)")


def test_ipc_managers_get_private_socket_paths():
    sys.path.insert(0, str(ROOT / "_ext"))
    import ipc_kernels
    from jupyter_client.manager import KernelManager
    ipc_kernels.install()
    a, b = KernelManager(), KernelManager()
    assert a.transport == b.transport == "ipc" and a.ip != b.ip
    assert KernelManager(transport="tcp").transport == "tcp"      # an explicit choice is kept
