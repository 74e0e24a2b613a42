"""OT flow against flow-matching baselines, side by side in one run.

Three flows share one network architecture and the same flow-matching budget:
- FM independent: linear interpolant, independent pairs (TorchCFM's `ConditionalFlowMatcher` with sigma = 0);
- FM minibatch OT: pairs re-ordered by exact OT within each batch (TorchCFM's `ExactOptimalTransportConditionalFlowMatcher`, sigma = 0);
- OT flow: the minibatch-OT flow, then `OTFlow.refine` (classifier KL + gamma * kinetic cost), all at the library defaults.
The baselines are `OTFlow.fit_init` itself, whose loss is the conditional flow-matching loss; the OT flow's
fit time counts its initialisation.

Reported per problem: transport cost (the RK4 kinetic cost of n held-out source points) beside the exact
W2² between samples (POT), target fit as exact W2 from T(x) to held-out Q, the maximal round-trip error of
inverse(transport(x)), fit time; L2-UVP against the known OT map for Gaussian pairs (closed form) and Brenier
pairs (T = grad of a strictly convex potential) in d = 2, 10, 32; MI relative error at d = 2, 10, 20 (time
score and divergence routes of the OT flow).
The sample W2² over-estimates the population W2² (the finite-sample bias: compare 'W2 floor', the W2 between
two samples of Q), so a flow's cost can fall below it; the Gaussian tables also give the exact W2².
Usage: python bench/otflow.py [--init_iters 3000] [--n_rounds 10] [--ratio_iters 3000] [--n 2000] [--quick]
"""
import argparse, copy, math, sys, time
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_result
from otnb.core import make_generator
from otnb.data import Gaussian, random_spd, moons, checkerboard, eight_gaussians, brenier_pair
from otnb.gaussian import gaussian_ot_map, gaussian_w2
from otnb.metrics import w2, l2_uvp
from otnb.otflow import OTFlow

ap = argparse.ArgumentParser()
ap.add_argument('--init_iters', type=int, default=3000)
ap.add_argument('--n_rounds', type=int, default=10)
ap.add_argument('--ratio_iters', type=int, default=3000)
ap.add_argument('--n', type=int, default=2000)
ap.add_argument('--dims', type=int, nargs='+', default=[2, 10, 32])
ap.add_argument('--mi_dims', type=int, nargs='+', default=[2, 10, 20])
ap.add_argument('--quick', action='store_true', help='a smoke run: few steps, small dimensions, nothing saved')
args = ap.parse_args()
if args.quick: args.init_iters, args.n_rounds, args.ratio_iters, args.n, args.dims, args.mi_dims = 50, 1, 50, 300, [2], [2]

def fit_all(P, Q, d):
    "The three flows on (P, Q) and their fit times."
    out = {}
    for name, coupling in (('FM independent', 'independent'), ('FM minibatch OT', 'ot')):
        torch.manual_seed(0); t0 = time.perf_counter()
        out[name] = (OTFlow(d).fit_init(P, Q, n_iters=args.init_iters, coupling=coupling, progress=False), time.perf_counter() - t0)
    init, t_init = out['FM minibatch OT']
    flow = copy.deepcopy(init); torch.manual_seed(0); t0 = time.perf_counter()
    flow.refine(P, Q, n_rounds=args.n_rounds, progress=False)
    out['OT flow'] = (flow, t_init + time.perf_counter() - t0)
    return out

def evaluate(flows, P, Q, T=None, exact_cost=None):
    "Rows of metrics on held-out points; T the OT map when known, exact_cost its population cost when known."
    x, yq = P(args.n, generator=make_generator(101)), Q(args.n, generator=make_generator(102))
    rows = []
    for name, (flow, secs) in flows.items():
        y = flow.transport(x)
        r = {'method': name, 'cost': flow.transport_cost(x).item(), 'W2² samples': w2(x, yq).item(),
             'W2 to held-out Q': w2(y, yq).sqrt().item(), 'W2 floor': w2(Q(args.n, generator=make_generator(103)), yq).sqrt().item(),
             'inversion error': (flow.inverse(y) - x).abs().max().item(), 'fit s': secs}
        if T is not None: r['L2-UVP %'] = l2_uvp(y, T(x)).item(); r["OT map's cost"] = ((T(x) - x) ** 2).sum(1).mean().item()
        if exact_cost is not None: r['W2² exact'] = exact_cost
        rows.append(r)
    return rows

sections, t_start = [], time.perf_counter()
cols = ['method', 'cost', 'W2² samples', 'W2 to held-out Q', 'W2 floor', 'inversion error', 'fit s']
for pname, P, Q in (('moons → checkerboard', moons, checkerboard), ('8 Gaussians → moons', eight_gaussians, moons)):
    rows = evaluate(fit_all(P, Q, 2), P, Q)
    sections.append(f"### {pname}\n\n" + markdown_table(rows, cols)); print(sections[-1], flush=True)

for kind in ('Gaussian', 'Brenier'):
    rows = []
    for d in args.dims:
        if kind == 'Gaussian':
            g = make_generator(d)
            P = Gaussian(torch.zeros(d), random_spd(d, 4., generator=g)); Q = Gaussian(torch.randn(d, generator=g), random_spd(d, 4., generator=g))
            A, b = gaussian_ot_map(P.mean, P.cov, Q.mean, Q.cov)
            T, exact = (lambda x, A=A, b=b: x @ A.T + b), gaussian_w2(P.mean, P.cov, Q.mean, Q.cov).item()
        else:
            P, Q, T = brenier_pair(d); exact = None
        rows += [{'d': d, **r} for r in evaluate(fit_all(P, Q, d), P, Q, T, exact)]
        print(f"{kind} d={d} done ({time.perf_counter() - t_start:.0f} s)", flush=True)
    c = ['d', 'method', 'L2-UVP %', 'cost', "OT map's cost"] + (['W2² exact'] if kind == 'Gaussian' else []) + ['W2 to held-out Q', 'W2 floor', 'inversion error', 'fit s']
    sections.append(f"### {kind} pairs: L2-UVP against the OT map\n\n" + markdown_table(rows, c)); print(sections[-1], flush=True)

rows = []
for d in args.mi_dims:
    S = torch.eye(d)
    for i in range(0, d - 1, 2): S[i, i + 1] = S[i + 1, i] = 0.8
    P, Q, true = Gaussian(torch.zeros(d), S), Gaussian(torch.zeros(d), torch.eye(d)), d / 2 * (-0.5 * math.log(1 - 0.8 ** 2))
    torch.manual_seed(0); t0 = time.perf_counter()
    flow = OTFlow(d).fit(P, Q, init_iters=args.init_iters, n_rounds=0, ratio_iters=args.ratio_iters, progress=False)
    secs = time.perf_counter() - t0
    x = P(4000, generator=make_generator(104))
    ts = -flow.log_density_ratio(x).mean().item()
    dv = -flow.log_density_ratio(x, method='divergence', log_q=Q.log_prob).mean().item()
    rows.append({'d': d, 'true MI': true, 'time score': ts, 'rel. error %': 100 * abs(ts / true - 1),
                 'divergence': dv, 'rel. error % ': 100 * abs(dv / true - 1), 'fit s': secs})
sections.append("### Mutual information (block correlation 0.8): OT flow's two routes\n\n"
                + markdown_table(rows, ['d', 'true MI', 'time score', 'rel. error %', 'divergence', 'rel. error % ', 'fit s']))
print(sections[-1], flush=True)

body = (f"Flow matching: {args.init_iters} steps, batch 256; refinement: {args.n_rounds} rounds at the defaults of `OTFlow.refine`; "
        f"time score: {args.ratio_iters} steps. Evaluation on {args.n} held-out points; W2 by POT's exact solver. "
        f"Total {time.perf_counter() - t_start:.0f} s.\n\n" + "\n\n".join(sections))
if args.quick: print('\n(quick run: nothing saved)')
else: print(f"\nsaved {write_result('otflow', 'OT flow against flow-matching baselines', body)}")
