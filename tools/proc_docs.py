"""Run nbdev_proc_nbs (notebooks -> _proc/ for Quarto) on a machine with or without Quarto.

nbdev 2's nbdev_proc_nbs first calls `_ensure_quarto`, which, when `quarto` is not on PATH, tries to
install it with sudo/curl/dpkg and then re-runs `pip install -e .[dev]` without our torch constraint
(on this kind of machine that replaced the CPU torch with a 4 GB CUDA build). Where Quarto is missing we
disable that installer and run nbdev_proc_nbs itself, unchanged otherwise.
"""
import shutil
import nbdev.quarto as q

if __name__ == '__main__':   # proc_nbs spawns worker processes that re-import this file
    if shutil.which('quarto') is None:
        q._ensure_quarto = lambda: print('quarto not found: processing the notebooks without it (no install attempted)')
    q.nbdev_proc_nbs.__wrapped__()
