"""The whole test suite on the machine's cores: every notebook in test mode (one `nbdev_test` process each) and pytest.

The jobs run on as many lanes as there are cores, longest first (the expected times are the test-mode wall times in
bench/results/notebooks.json; 60 s for a notebook not yet timed), so that the slowest notebook starts at once instead of
last, and pytest runs beside the notebooks instead of after them. Every job gets one BLAS/OpenMP thread.

    python tools/run_tests.py [--lanes 2] [nbs/11_dsb.ipynb ...]     # default: every notebook, and pytest
"""
import argparse, json, os, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

def expected_seconds() -> dict:
    store = ROOT / 'bench/results/notebooks.json'
    rows = json.loads(store.read_text()) if store.exists() else {}
    return {r['notebook']: r['wall'] for r in rows.values() if r['mode'] == 'test' and r['ok']}

def jobs(notebooks) -> list:
    known = expected_seconds()
    out = [(str(nb.relative_to(ROOT)), [str(BIN / 'nbdev_test'), '--path', str(nb), '--do_print'],
            known.get(str(nb.relative_to(ROOT)), 60.0)) for nb in notebooks]
    out.append(('pytest', [sys.executable, '-m', 'pytest', 'tests', '-q'], 70.0))
    return sorted(out, key=lambda j: -j[2])

def run(job):
    name, cmd, _ = job
    env = dict(os.environ, OTNB_TEST='1', OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', MPLBACKEND='Agg')
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    secs = time.perf_counter() - t0
    print(f"{'ok    ' if res.returncode == 0 else 'FAILED'} {name}: {secs:.0f} s", flush=True)
    return name, res.returncode, secs, res.stdout + res.stderr

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('notebooks', nargs='*', type=Path)
    ap.add_argument('--lanes', type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    nbs = [p.resolve() for p in args.notebooks] or sorted((ROOT / 'nbs').glob('*.ipynb')) + sorted((ROOT / 'nbs/tutorials').glob('*.ipynb'))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(args.lanes) as pool: results = list(pool.map(run, jobs(nbs)))
    failed = [r for r in results if r[1] != 0]
    for name, _, _, out in failed: print(f"\n===== {name} failed; the end of its output:\n{out[-6000:]}")
    pytest_out = next(out for name, _, _, out in results if name == 'pytest')
    print('\n' + '\n'.join(pytest_out.strip().splitlines()[-3:]))           # pytest's own closing line
    n_nb = len(results) - 1
    n_bad = sum(1 for r in failed if r[0] != 'pytest')
    print(f"\nwall time {time.perf_counter() - t0:.0f} s on {args.lanes} lanes")
    print(f"notebooks: {n_nb - n_bad} passed, {n_bad} failed")
    sys.exit(1 if failed else 0)

if __name__ == '__main__': main()
