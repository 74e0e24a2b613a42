"""The OT flow's entropic pairing: rel_eps and the number of Sinkhorn iterations, measured by the flows they train.

This is the study behind `SINKHORN_REL_EPS` and `SINKHORN_ITERS` (notebook 14, Stage 1, 'Choosing ε and the number of
iterations'). For each case and setting: `OTFlow(d).fit_init(P, Q, rel_eps=...)` at its defaults (2,000 steps, batch
512, Sinkhorn pairs) with `otnb.metrics.SINKHORN_ITERS` set to the setting's iterations, then `reflow` at its defaults;
L2-UVP (%) of the reflowed map against the true OT map on 4,000 held-out points, and the seconds of both fits. One
fit per cell, seed 0, one thread per worker.

Cases: family B at d = 2 and 4 (unequal modes), family A at d = 4 and 16, family B at d = 16, and a Gaussian pair at
d = 32 (`make_ot_case` in bench/common.py, as in bench/otflow.py).

Usage: python bench/otflow_pairing.py [--jobs 2] [--quick]
"""
import argparse, json, os, subprocess, sys, time
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_result, make_ot_case

CASES = [('brenier B', 2), ('brenier A', 4), ('brenier B', 4), ('brenier A', 16), ('brenier B', 16), ('gaussian', 32)]
SETTINGS = [(0.05, 30), (0.05, 100), (0.02, 30), (0.02, 60), (0.02, 100), (0.01, 150)]   # (rel_eps, iterations)
DEFAULT = (0.02, 100)

ap = argparse.ArgumentParser()
ap.add_argument('--jobs', type=int, default=2, help='worker processes (one thread each)')
ap.add_argument('--quick', action='store_true', help='a smoke run: two cases, two settings, few steps, nothing saved')
ap.add_argument('--cell', help=argparse.SUPPRESS)          # a worker: one case and setting, printed as JSON
args = ap.parse_args()

def run_cell(kind: str, d: int, rel_eps: float, iters: int, quick: bool) -> dict:
    "Fit one flow with this pairing, reflow it, and measure its L2-UVP against the OT map."
    import otnb.metrics
    from otnb.core import make_generator
    from otnb.metrics import l2_uvp
    from otnb.otflow import OTFlow
    torch.set_num_threads(1)
    otnb.metrics.SINKHORN_ITERS = iters                 # `couple` reads it at every call
    P, Q, T = make_ot_case(kind, d)
    x = P(4000, generator=make_generator(101))
    torch.manual_seed(0)
    steps = dict(n_iters=20) if quick else {}
    t0 = time.perf_counter()
    flow = OTFlow(d).fit_init(P, Q, rel_eps=rel_eps, progress=False, **steps)
    flow.reflow(P, progress=False, **steps)
    secs = time.perf_counter() - t0
    return {'case': f"{kind.replace('brenier ', '')}, d = {d}", 'rel_eps': rel_eps, 'iterations': iters,
            'L2-UVP %': l2_uvp(flow.transport(x), T(x)).item(), 'fit + reflow s': secs}

if args.cell:
    kind, d, e, k = json.loads(args.cell)
    print(json.dumps(run_cell(kind, d, e, k, args.quick)))
    sys.exit()

cases, settings = (CASES[:2], SETTINGS[:2]) if args.quick else (CASES, SETTINGS)
todo = [(kind, d, e, k) for e, k in settings for kind, d in cases]
rows, running, t_start = [], [], time.perf_counter()
while todo or running:
    while todo and len(running) < args.jobs:
        cell = todo.pop(0)
        cmd = [sys.executable, __file__, '--cell', json.dumps(cell)] + (['--quick'] if args.quick else [])
        env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}
        running.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env))
    done = [p for p in running if p.poll() is not None]
    for p in done:
        running.remove(p)
        out = p.stdout.read().strip().splitlines()
        if p.returncode or not out: raise RuntimeError(f"a worker failed: {' '.join(p.args)}")
        rows.append(json.loads(out[-1]))
        print(rows[-1], flush=True)
    time.sleep(0.2)

order = list(dict.fromkeys(f"{k.replace('brenier ', '')}, d = {d}" for k, d in cases))
table = []
for e, k in settings:
    line = {'rel_eps, iterations': f"{e}, {k}" + (' (the default)' if (e, k) == DEFAULT else '')}
    for r in rows:
        if (r['rel_eps'], r['iterations']) == (e, k): line[r['case']] = r['L2-UVP %']
    table.append(line)
total = time.perf_counter() - t_start
body = (__doc__.split('Usage:')[0].strip() + f"\n\nWorkers: {args.jobs}, one thread each. Total {total:.0f} s.\n\n"
        "### L2-UVP % after fit_init and reflow\n\n" + markdown_table(table, ['rel_eps, iterations'] + order)
        + "\n\n### Every cell, with its time\n\n"
        + markdown_table(rows, ['case', 'rel_eps', 'iterations', 'L2-UVP %', 'fit + reflow s']))
print(body)
if args.quick: print('\n(quick run: nothing saved)')
else: print(f"\nsaved {write_result('otflow_pairing', 'OT flow: choosing the pairing', body)}")
