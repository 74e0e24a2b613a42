"""Execute notebooks in place (outputs and figures stored), in the mode OTNB_TEST selects."""
import sys, time
from pathlib import Path
import nbformat
from nbconvert.preprocessors import ExecutePreprocessor

for p in map(Path, sys.argv[1:]):
    t0 = time.time()
    nb = nbformat.read(p, as_version=4)
    ExecutePreprocessor(timeout=None, kernel_name='python3').preprocess(nb, {'metadata': {'path': str(p.parent)}})
    nbformat.write(nb, p)
    print(f'{p}: {time.time() - t0:.0f}s', flush=True)
