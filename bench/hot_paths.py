"""The hot paths of the speed issue, now and at a baseline revision, on the same data, in alternating worker processes.

- Sinkhorn pairing (`otnb.metrics.sinkhorn_pairing`) of a batch of 512 against 512, d = 2, 8, 32: milliseconds per call,
  and the pairing's quality, the largest relative error of a column's mass in the returned plan. Twice: at rel_eps 0.05
  and 30 iterations (the baseline's defaults: the same iterate in both revisions, so the same error up to rounding), and
  at each revision's own defaults (now rel_eps 0.02 and 100 iterations, chosen in notebook 14, Stage 1).
- DSB at N = 50 (2D Gaussians, both networks fitted once): milliseconds per optimisation step of a half-step with the
  revision's own defaults (batch, cache size, refresh), and the seconds that makes per IPF iteration at its default
  `n_iters` (two half-steps).

    python bench/hot_paths.py [--baseline 4dba4bd] [--threads 2] [--rounds 3]
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_BASELINE = '4dba4bd'          # main before the speed issue

WORKER = r'''
import inspect, json, sys, time
sys.path.insert(0, sys.argv[1])
import torch
torch.set_num_threads(int(sys.argv[3]))
import otnb.metrics as M
from otnb.core import make_generator
from otnb.data import Gaussian
from otnb.dsb import DSB

def best_of(fn, repeat):
    best = float('inf')
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); best = min(best, time.perf_counter() - t0)
    return best

out = {}
sk = {k: v.default for k, v in inspect.signature(M.sinkhorn_pairing).parameters.items()}
rows_of = lambda x, y, e, n: (M._sinkhorn_row_probs(x, y, e, n) if hasattr(M, '_sinkhorn_row_probs')
                              else M._sinkhorn_rows(x, y, e, n).exp())
for d in (2, 8, 32):
    g = torch.Generator().manual_seed(d)
    x, y = torch.randn(512, d, generator=g), 1.5 * torch.randn(512, d, generator=g) + 1
    gen = make_generator(0)
    settings = (('rel_eps 0.05, 30 iterations', 0.05, 30), ("the revision's defaults", sk['rel_eps'], sk['n_iters']))
    for label, e, n in settings:
        M.sinkhorn_pairing(x, y, rel_eps=e, n_iters=n, generator=gen)
        key = f'Sinkhorn pairing 512x512, d={d}, {label}'
        call = lambda: M.sinkhorn_pairing(x, y, rel_eps=e, n_iters=n, generator=gen)
        out[f'{key}: ms per call'] = 1e3 * best_of(call, 30)
        out[f'{key}: column-mass error'] = ((rows_of(x, y, e, n).sum(0) / len(x)) * len(y) - 1).abs().max().item()
out['Sinkhorn defaults: rel_eps, n_iters'] = f"{sk['rel_eps']}, {sk['n_iters']}"

defaults = {k: v.default for k, v in inspect.signature(DSB.fit).parameters.items()}
m = DSB(2, n_time_steps=50)
P, Q = Gaussian(torch.zeros(2), torch.eye(2)), Gaussian(torch.ones(2), torch.eye(2))
m.fit(P, Q, n_ipf=1, n_iters=200, progress=False)                # both networks fitted: the chains run through them
n = 300
kw = dict(n_ipf=1, n_iters=n, progress=False)
secs = best_of(lambda: m.fit(P, Q, **kw), 2)                      # two half-steps of n steps, and the diagnostics
out['DSB N=50, default batch and cache: ms per step'] = 1e3 * secs / (2 * n)
out['DSB N=50, defaults: s per IPF iteration'] = secs / n * defaults['n_iters']
out['DSB defaults: n_iters, n_cache'] = f"{defaults['n_iters']}, {defaults['n_cache']}"
print(json.dumps(out))
'''

def main():
    sys.path.insert(0, str(HERE))
    from common import compare_revisions, markdown_table, write_result
    args, cols = compare_revisions(WORKER, DEFAULT_BASELINE, __doc__)
    rows = []
    for k in cols['now']:
        row = {'measure': k, **{c: cols[c].get(k) for c in cols}}
        base = cols.get(f'baseline {args.baseline}', {}).get(k)
        if isinstance(base, float) and ('ms' in k or ' s ' in k): row['speed-up'] = f"{base / cols['now'][k]:.1f}x"
        rows.append(row)
    body = (f"Torch threads: {args.threads}; the revisions took {args.rounds} turns each, alternating, on a quiet machine; "
            "the best of each measure is kept (Sinkhorn: best of 30 calls per turn; DSB: best of 2 one-IPF-iteration fits "
            "of 2 × 300 steps, including the endpoint diagnostics).\n\n"
            + markdown_table(rows, ['measure', *cols, *(['speed-up'] if len(cols) == 2 else [])]))
    print(body)
    print(write_result('hot_paths', 'Hot paths of the speed issue', body))

if __name__ == '__main__':
    main()
