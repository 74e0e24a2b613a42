"""Execute notebooks in place (outputs and figures stored), in the mode OTNB_TEST selects; record each one's wall time
in bench/results/notebooks.json (and notebooks.md), with the BLAS/OpenMP threads it had."""
import os, sys, time
from pathlib import Path
import nbformat
from nbconvert.preprocessors import ExecutePreprocessor
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'bench'))
from notebooks import record, ROOT

for p in map(Path, sys.argv[1:]):
    t0 = time.time()
    nb = nbformat.read(p, as_version=4)
    ExecutePreprocessor(timeout=None, kernel_name='python3').preprocess(nb, {'metadata': {'path': str(p.parent)}})
    nbformat.write(nb, p)
    wall = time.time() - t0
    print(f'{p}: {wall:.0f}s', flush=True)
    mode = 'test' if os.environ.get('OTNB_TEST', '').strip() in ('1', 'true', 'yes', 'on') else 'full'
    threads = int(os.environ.get('OMP_NUM_THREADS') or os.cpu_count())
    record(str(p.resolve().relative_to(ROOT)), mode, threads, dict(ok=True, wall=round(wall, 1), cells=[]))
