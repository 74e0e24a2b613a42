"""Training and solving speed of the two methods on this machine, now and at a baseline revision, on the same data.

For each revision a worker process imports that revision's `otnb` and times: interpolant training steps per second
(independent and minibatch-OT couplings), OT-flow flow-matching steps per second (both couplings), seconds per
refinement round, and the transports of both methods. It also counts host synchronisations (reads of device tensors on
the host) with this revision's `otnb.core.device_check`, which simulates a device on the CPU: per 100 training steps
and per solve. On a CPU the host never waits for a device, so the timings show the Python overhead only; the sync
counts are what a GPU would pay for.

    python bench/speed.py                       # current code against the revision before the hardening issue
    python bench/speed.py --baseline REV        # another baseline (a git revision); --baseline none skips it
"""
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_BASELINE = 'c2fe087'          # main before the hardening issue: per-step syncs, torchdiffeq's fixed-grid loop

WORKER = r'''
import json, sys, time, inspect
sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2])
import torch
torch.set_num_threads(int(sys.argv[3]))
from devcheck import device_check
import otnb
from otnb.interpolants import MultimarginalInterpolant
from otnb.otflow import OTFlow
from otnb.data import moons, eight_gaussians, checkerboard
new = 'n_iters' in inspect.signature(MultimarginalInterpolant.fit).parameters
it = 'n_iters' if new else 'n_steps'
ts = 'n_time_steps' if new else 'n_steps'

def timed(fn, repeat=3):
    best = float('inf')
    for _ in range(repeat):
        t0 = time.perf_counter(); fn(); best = min(best, time.perf_counter() - t0)
    return best

def syncs(fn):
    with device_check() as chk: fn()
    return len(chk.syncs)

data = [moons(20000), eight_gaussians(20000), checkerboard(20000)]
x2k = torch.randn(2000, 2)
out = {'otnb': otnb.__file__}
for coupling, n in (('independent', 200), ('ot', 60)):
    torch.manual_seed(0)
    m = MultimarginalInterpolant(2, n_marginals=3)
    m.fit(data, **{it: n}, coupling=coupling, progress=False)                         # warm-up, as long as a timing
    out[f'interpolant fit, {coupling}: steps/s'] = n / timed(lambda: m.fit(data, **{it: n}, coupling=coupling, progress=False))
m = MultimarginalInterpolant(2, n_marginals=3)
out['interpolant transport, 2,000 points, 100 RK4 steps: s'] = timed(lambda: m.transport(x2k, (0, 2), **{ts: 100}))
f = OTFlow(2)
for coupling, n in (('independent', 300), ('ot', 150)):
    f.fit_init(data[0], data[2], **{it: n}, coupling=coupling, progress=False)
    out[f'OT flow fit_init, {coupling}: steps/s'] = n / timed(lambda: f.fit_init(data[0], data[2], **{it: n}, coupling=coupling, progress=False))
out['OT flow refine, 1 round (defaults): s'] = timed(lambda: f.refine(data[0], data[2], n_rounds=1, progress=False), repeat=2)
out['OT flow transport, 4,000 points, 20 RK4 steps: s'] = timed(lambda: f.transport(torch.randn(4000, 2)))
small = dict(width=16, depth=1)
mi_s, f_s = MultimarginalInterpolant(2, n_marginals=3, **small), OTFlow(2, **small)
out['host syncs: interpolant fit, 100 steps'] = syncs(lambda: mi_s.fit(data, **{it: 100}, batch_size=64, progress=False))
out['host syncs: interpolant transport, 100 steps'] = syncs(lambda: mi_s.transport(x2k[:64], (0, 2), **{ts: 100}))
out['host syncs: interpolant SDE sampler, 200 steps'] = syncs(lambda: (mi_s.sample if new else mi_s.sample_sde)(x2k[:64], (0, 1), seed=0))
out['host syncs: OT flow fit_init (independent), 100 steps'] = syncs(lambda: f_s.fit_init(data[0], data[2], **{it: 100}, coupling='independent', progress=False))
out['host syncs: OT flow refine, 1 round'] = syncs(lambda: f_s.refine(data[0], data[2], n_rounds=1, batch_size=64, progress=False))
out['host syncs: OT flow transport, 20 steps'] = syncs(lambda: f_s.transport(x2k[:64]))
print(json.dumps(out))
'''

def main():
    sys.path.insert(0, str(HERE))
    from common import compare_revisions, markdown_table, write_result
    args, cols = compare_revisions(WORKER, DEFAULT_BASELINE, __doc__, higher_is_better=lambda k: 'steps/s' in k)
    keys = [k for k in cols['now'] if k != 'otnb']
    rows = []
    for k in keys:
        row = {'measure': k, **{c: cols[c].get(k) for c in cols}}
        if len(cols) == 2 and 'steps/s' in k: row['ratio'] = f"{cols['now'][k] / list(cols.values())[1][k]:.2f}x"
        rows.append(row)
    body = (f"Torch threads: {args.threads}. The revisions took {args.rounds} turns each, alternating; best of 3 timings per turn "
            "(2 for refinement), after a warm-up run of the same length; 2D data (moons, 8 Gaussians, checkerboard, "
            "20,000 points each); default networks (interpolant: width 256, depth 3, batch 512; OT flow: width 128, "
            "batch 256 for `fit_init`, 1,024 for `refine`). Host syncs are counted on small networks by `device_check` "
            "(the current one, for both columns); the minibatch-OT solve on the host is a declared sync and not counted.\n\n"
            + markdown_table(rows, ['measure', *cols, *(['ratio'] if len(cols) == 2 else [])]))
    print(body)
    print(write_result('speed', 'Speed and host synchronisations of the two methods', body))

if __name__ == '__main__':
    main()
