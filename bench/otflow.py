"""OT flow against TorchCFM-style OT-CFM, its own initialisation and the paper's refinement, side by side in one run.

Seven rows per case, all on the same data and evaluated on the same held-out points:
- OT-CFM (TorchCFM-style): TorchCFM's recipe for `ExactOptimalTransportConditionalFlowMatcher` with sigma = 0 -- its
  `models.MLP` (3 hidden SELU layers, width 128, input [x, t]), Adam 1e-3, batch 256, pairs drawn with replacement
  from the exact minibatch OT plan (POT), 3000 steps; and the same recipe stopped at 1000 steps;
- fit_init, exact pairs (former default): `fit_init(coupling='ot', batch_size=256, n_iters=3000)`, flow matching on
  exact minibatch-OT pairs, the initialisation until issue 13;
- old refine (before): that initialisation, then the paper's refinement at the defaults it had until issue 13 (no
  classifier warm-up, no moment multipliers, no checks, 10 rounds) -- what `fit()` did;
- fit_init, Sinkhorn pairs, 1000 steps: `fit_init(n_iters=1000)`, the default pairing stopped early;
- fit_init: `OTFlow.fit_init` at its defaults (pairs drawn from each batch's entropic plan, rel_eps = 0.02,
  100 Sinkhorn iterations since the speed issue (0.05 and 30 before), batch 512, 2000 steps);
- fit: `OTFlow(d).fit(P, Q)` with every default (computed as that same fit_init, then `reflow` and `refine` at their
  defaults, which is what `fit` runs; the time adds them).
All flows are integrated on the same RK4 grid (20 steps).

Cases: Brenier pairs (P a Gaussian mixture, T = grad of a strictly convex potential, `otnb.data.brenier_pair`) in two
families -- A: equal modes, isotropic linear part; B: unequal mixture weights and an anisotropic linear part (condition
number 4) -- at d = 2, 4, 8, 16, 32, and Gaussian pairs at d = 2, 10, 32 (closed-form OT map).
Columns: L2-UVP (%, with its standard error over the evaluation points), the flow's kinetic cost beside the true OT cost
E|T(x) - x|², W2 from T(x) to held-out Q beside the floor (W2 between two samples of Q), the maximal round-trip error
|inverse(transport(x)) - x|, fit time.
A second study (`--sections pairing`, d = 16, family A) measures the pairing bias of the initialisation: L2-UVP
against steps and seconds for minibatch-OT batches of 256 and 512, an entropic pairing on the device (log-domain
Sinkhorn, pairs drawn from the plan row by row), and a reflow (flow matching on the pairs (x, T(x)) through a first
flow, re-paired by exact OT within each batch).

Every row is also written to bench/results/otflow.json. `--rows` reruns only some rows (cfm, cfm1k, exact, old, sk,
init, fit) of the cases that file has and keeps the others from its earlier run, whose data, seeds and
code are unchanged; the 'run' column says which run each row comes from. Cases the file lacks run every row.

Usage: python bench/otflow.py [--sections brenier gaussian pairing] [--dims 2 4 8 16 32] [--jobs 2] [--rows cfm1k fit] [--quick]
"""
import argparse, copy, json, math, os, sys, time
from pathlib import Path
import warnings
import torch, ot
warnings.filterwarnings("ignore", message="Sinkhorn did not converge")   # 30 iterations per batch: a budget, said in the table
from torch import nn
sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_result, RESULTS, make_ot_case as make_case
from otnb.core import make_generator
from otnb.data import Gaussian, random_spd, brenier_pair
from otnb.gaussian import gaussian_ot_map
from otnb.integrate import odeint
from otnb.metrics import w2, l2_uvp, couple
from otnb.nets import broadcast_time
from otnb.otflow import OTFlow, flow_matching_loss
from otnb.train import train

ap = argparse.ArgumentParser()
ap.add_argument('--sections', nargs='+', default=['brenier', 'gaussian', 'pairing'])
ap.add_argument('--dims', type=int, nargs='+', default=[2, 4, 8, 16, 32])
ap.add_argument('--gaussian_dims', type=int, nargs='+', default=[2, 10, 32])
ap.add_argument('--n', type=int, default=4000, help='held-out evaluation points')
ap.add_argument('--jobs', type=int, default=2, help='worker processes (one thread each)')
ap.add_argument('--rows', nargs='+', default=['cfm', 'cfm1k', 'exact', 'old', 'sk', 'init', 'fit'], help='rows to rerun for the cases bench/results/otflow.json has')
ap.add_argument('--case', help=argparse.SUPPRESS)          # a worker: run one case, print its rows as JSON
ap.add_argument('--quick', action='store_true', help='a smoke run: few steps, small dimensions, nothing saved')
args = ap.parse_args()
STEPS = 50 if args.quick else 3000
OLD_REFINE = dict(n_rounds=1 if args.quick else 10, flow_iters=20, clf_iters=100, batch_size=1024, lr=5e-5, clf_lr=1e-3,
                  warmup_iters=0, debias=False, n_check=0)

class CFMNet(nn.Module):
    "TorchCFM's `models.MLP(dim, w=128, time_varying=True)`: [x, t] -> 3 hidden SELU layers -> velocity; called as f(t, x)."
    def __init__(self, d, w=128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d + 1, w), nn.SELU(), nn.Linear(w, w), nn.SELU(), nn.Linear(w, w), nn.SELU(), nn.Linear(w, d))
    def forward(self, t, x): return self.net(torch.cat([x, broadcast_time(t, x)], -1))

def ot_cfm(P, Q, d, steps, batch=256, seed=0):
    "TorchCFM's OT-CFM recipe (sigma = 0): pairs sampled from the exact minibatch plan, x_t = (1 - t) x0 + t x1, u_t = x1 - x0."
    torch.manual_seed(seed); g = make_generator(seed)
    net = CFMNet(d); opt = torch.optim.Adam(net.parameters(), 1e-3)
    for _ in range(steps):
        x0, x1 = P(batch, generator=g), Q(batch, generator=g)
        plan = ot.emd(ot.unif(batch, type_as=x0), ot.unif(batch, type_as=x0), ot.dist(x0, x1))
        k = torch.multinomial(plan.flatten() / plan.sum(), batch, replacement=True, generator=g)
        x0, x1 = x0[k // batch], x1[k % batch]
        t = torch.rand(batch, 1, generator=g)
        loss = ((net(t, (1 - t) * x0 + t * x1) - (x1 - x0)) ** 2).mean()
        opt.zero_grad(); loss.backward(); opt.step()
    flow = OTFlow(d, net=net)                   # the same RK4 grid, cost and inverse as every other row
    return flow

def evaluate(flow, P, Q, T, secs):
    x, yq = P(args.n, generator=make_generator(101)), Q(args.n, generator=make_generator(102))
    y, Tx = flow.transport(x), T(x)
    err, var = ((y - Tx) ** 2).sum(1), Tx.var(0, correction=0).sum()      # L2-UVP = mean|y - T(x)|² / Var(T(x)), in %
    m = min(args.n, 2000)
    return {'L2-UVP %': l2_uvp(y, Tx).item(), 'SE': (100 * err.std() / math.sqrt(len(err)) / var).item(),
            'cost': flow.transport_cost(x).item(), 'OT cost': ((Tx - x) ** 2).sum(1).mean().item(),
            'W2 to held-out Q': w2(y[:m], yq[:m]).sqrt().item(), 'W2 floor': w2(Q(m, generator=make_generator(103)), yq[:m]).sqrt().item(),
            'round trip': (flow.inverse(y) - x).abs().max().item(), 'fit s': secs}

ROWS = {'cfm': 'OT-CFM (TorchCFM-style)', 'cfm1k': 'OT-CFM, 1000 steps', 'exact': 'fit_init, exact pairs (former default)',
        'old': 'old refine (before)', 'sk': 'fit_init, 1000 steps', 'init': 'fit_init', 'fit': 'fit (defaults)'}

def run_case(kind, d):
    P, Q, T = make_case(kind, d)
    rows = []
    def row(key, make, plus=0.0):
        torch.manual_seed(0); t0 = time.perf_counter(); flow = make(); secs = time.perf_counter() - t0
        rows.append({'case': kind, 'd': d, 'method': ROWS[key], **evaluate(flow, P, Q, T, secs + plus)})
        return flow, secs
    if 'cfm' in args.rows: row('cfm', lambda: ot_cfm(P, Q, d, STEPS))
    if 'cfm1k' in args.rows: row('cfm1k', lambda: ot_cfm(P, Q, d, STEPS // 3))
    if {'exact', 'old'} & set(args.rows):
        exact, t_exact = row('exact', lambda: OTFlow(d).fit_init(P, Q, coupling='ot', batch_size=256, n_iters=STEPS, progress=False))
        if 'old' in args.rows: row('old', lambda: copy.deepcopy(exact).refine(P, Q, progress=False, **OLD_REFINE), plus=t_exact)
    if 'sk' in args.rows: row('sk', lambda: OTFlow(d).fit_init(P, Q, n_iters=STEPS // 3, progress=False))
    if not {'init', 'fit'} & set(args.rows): return rows
    init, t_init = row('init', lambda: OTFlow(d).fit_init(P, Q, progress=False, **(dict(n_iters=STEPS) if args.quick else {})))
    if 'fit' in args.rows:                       # `fit` = this same fit_init (same seed), then `reflow` and `refine` at their defaults
        quick = dict(n_rounds=1) if args.quick else {}
        row('fit', lambda: copy.deepcopy(init).reflow(P, progress=False).refine(P, Q, progress=False, **quick), plus=t_init)
    return rows

def fm_with(P, Q, d, steps, batch, pair, seed=0):
    "fit_init's recipe (AdamW 2e-3, cosine) with another pairing `pair(x0, x1) -> (x0, x1)` of each batch."
    torch.manual_seed(seed); g = make_generator(seed)
    flow = OTFlow(d)
    def step():
        x0, x1 = pair(P(batch, generator=g), Q(batch, generator=g))
        return flow_matching_loss(flow.net, x0, x1, torch.rand(batch, 1, generator=g))
    train(step, flow.net, steps, lr=2e-3, seed=g, progress=False)
    return flow

def sinkhorn_pairs(eps):
    "Pairs drawn row by row from the entropic plan (log-domain Sinkhorn on the device), eps relative to the mean cost."
    def pair(x0, x1):
        M = ot.dist(x0, x1)
        plan = ot.sinkhorn(ot.unif(len(x0), type_as=x0), ot.unif(len(x1), type_as=x1), M / M.mean(), eps, method='sinkhorn_log', numItermax=30)
        return x0, x1[torch.multinomial(plan, 1)[:, 0]]
    return pair

def run_pairing(d):
    "The initialisation's pairing bias: L2-UVP against seconds for larger batches, an entropic pairing and a reflow."
    P, Q, T = make_case('brenier A', d)
    rows = []
    def add(label, batch, steps, make):
        t0 = time.perf_counter(); flow = make(); r = evaluate(flow, P, Q, T, time.perf_counter() - t0)
        rows.append({'d': d, 'pairing': label, 'batch': batch, 'steps': steps, 'L2-UVP %': r['L2-UVP %'], 'SE': r['SE'], 'fit s': r['fit s']})
        return flow
    for batch, steps in ((256, 200), (256, 500), (256, 1000), (256, 3000), (512, 500), (512, 1000)):
        if args.quick: steps = min(steps, 50)
        add("exact OT (fit_init(coupling='ot'))", batch, steps,
            lambda: (torch.manual_seed(0), OTFlow(d).fit_init(P, Q, n_iters=steps, batch_size=batch, coupling='ot', progress=False))[1])
    n = 50 if args.quick else 1000
    add('Sinkhorn (30 iterations), eps = 0.05 x mean cost', 512, n, lambda: fm_with(P, Q, d, n, 512, sinkhorn_pairs(0.05)))
    torch.manual_seed(0); t0 = time.perf_counter(); first = OTFlow(d).fit_init(P, Q, n_iters=n, batch_size=256, coupling='ot', progress=False); t_first = time.perf_counter() - t0
    def reflow(x0, x1):                          # pairs (x, T(x)) through the first flow, re-paired by exact OT on the batch
        with torch.no_grad(): y = first.transport(x0)
        return x0, couple(x0, y, 'ot')
    add('reflow: exact OT of (x, T(x)) through a first 1000-step flow', 256, n, lambda: fm_with(P, Q, d, n, 256, reflow))
    rows[-1]['fit s'] += t_first
    return rows

if args.case:                                   # worker mode
    torch.set_num_threads(1)
    kind, d = args.case.rsplit(':', 1)
    out = run_pairing(int(d)) if kind == 'pairing' else run_case(kind, int(d))
    print('ROWS ' + json.dumps(out), flush=True); sys.exit(0)

if args.quick: args.dims, args.gaussian_dims = [2], [2]
cases = []
if 'brenier' in args.sections: cases += [(k, d) for d in args.dims for k in ('brenier A', 'brenier B')]
if 'gaussian' in args.sections: cases += [('gaussian', d) for d in args.gaussian_dims]
if 'pairing' in args.sections: cases += [('pairing', d) for d in (16,) if d in args.dims or args.quick]
cases.sort(key=lambda c: -c[1])                 # the longest first, so the workers finish together
import subprocess
store = RESULTS / 'otflow.json'
stored = {tuple(c) for c, _ in json.loads(store.read_text())} if store.exists() and not args.quick else set()
t_start, results, running = time.perf_counter(), {}, []
env = dict(os.environ, OMP_NUM_THREADS='1')
extra = ['--quick'] if args.quick else []
todo = list(cases)
while todo or running:
    while todo and len(running) < args.jobs:
        c = todo.pop(0)
        rows = args.rows if c in stored else list(ROWS)        # a case the store lacks runs every row
        running.append((c, subprocess.Popen([sys.executable, __file__, '--case', f'{c[0]}:{c[1]}', '--n', str(args.n), '--rows', *rows] + extra,
                                            stdout=subprocess.PIPE, text=True, env=env)))
    time.sleep(1)
    for item in list(running):
        c, p = item
        if p.poll() is None: continue
        running.remove(item)
        out = p.stdout.read()
        if p.returncode: sys.exit(f"case {c} failed:\n{out}")
        results[c] = json.loads(out.split('ROWS ', 1)[1])
        if not args.quick: (RESULTS / 'otflow.partial.json').write_text(json.dumps([[list(k), v] for k, v in results.items()]))
        print(f"{c[0]} d={c[1]} done ({time.perf_counter() - t_start:.0f} s)", flush=True)

if not args.quick:                               # rows not run now come from the earlier run, marked as such
    run_id = time.strftime('%Y-%m-%d %H:%M')
    for rows in results.values():
        for r in rows: r.setdefault('run', run_id)
    for c, rows in (json.loads(store.read_text()) if store.exists() else []):
        c = tuple(c)
        have = {r.get('method', r.get('pairing')) for r in results.get(c, [])}
        if c[0] == 'pairing' and have: continue
        results[c] = results.get(c, []) + [r for r in rows if r.get('method', r.get('pairing')) not in have]
    order = list(ROWS.values())
    for c in results:
        if c[0] != 'pairing': results[c].sort(key=lambda r: order.index(r['method']))
    store.write_text(json.dumps([[list(c), rows] for c, rows in results.items()], indent=0))
    (RESULTS / 'otflow.partial.json').unlink(missing_ok=True)
cols = ['d', 'method', 'L2-UVP %', 'SE', 'cost', 'OT cost', 'W2 to held-out Q', 'W2 floor', 'round trip', 'fit s', 'run']
titles = {'brenier A': 'Brenier pairs, family A (equal modes, isotropic linear part)',
          'brenier B': 'Brenier pairs, family B (weights 0.4/0.3/0.2/0.1, linear part of condition number 4)',
          'gaussian': 'Gaussian pairs (closed-form OT map)'}
sections = []
for kind, title in titles.items():
    rows = [r for c in sorted(results, key=lambda c: c[1]) if c[0] == kind for r in results[c]]
    if rows: sections.append(f"### {title}\n\n" + markdown_table(rows, cols))
rows = [r for c in sorted(results, key=lambda c: c[1]) if c[0] == 'pairing' for r in results[c]]
if rows: sections.append("### Pairing bias of the initialisation (family A): batch size, entropic pairing, reflow\n\n"
                         + markdown_table(rows, ['d', 'pairing', 'batch', 'steps', 'L2-UVP %', 'SE', 'fit s']))
for s in sections: print(s + '\n', flush=True)
body = (f"Flow matching: {STEPS} steps at batch 256 (OT-CFM and the former fit_init); old refinement: {OLD_REFINE}; "
        f"fit: `OTFlow(d).fit(P, Q)` at its defaults. Evaluation on {args.n} held-out points; SE is the standard error "
        f"of L2-UVP over those points; W2 by POT's exact solver on 2000 points. Cases ran in {args.jobs} single-thread "
        f"processes side by side. Total {time.perf_counter() - t_start:.0f} s. The 'run' column says when each row was "
        f"computed: `--rows` reruns only some rows, and the others come from `bench/results/otflow.json`, with the data, "
        f"seeds and evaluation points unchanged. Rows before a change of a default measure the code of their run.\n\n"
        + "\n\n".join(sections))
if args.quick: print('\n(quick run: nothing saved)')
else: print(f"\nsaved {write_result('otflow', 'OT flow: refinement, initialisation and OT-CFM', body)}")
