"""SCONES: the paper's Gaussian table at CPU scale, beside Sinkhorn on samples, and the cost of each part.

For d in --dims, 3 random Gaussian pairs (means N(0, I), covariances with eigenvalues 1 to 10), eps = 2d (the paper's
lambda; cost |x - y|², KL). Protocol of the reference code: potentials trained --n_iters steps at batch 500 (3x256 MLPs
here, 3x4096 there), projector, then 1,000 Langevin steps from the barycentric projection on 10,000 source points (moments matched). The
reference's update y + (eta/2) grad + sqrt(eta) z with eta = 0.01 is our step_size a = 0.005. Rows: the exact target score
(`gaussian_score`) and the learned score model; the trivial baseline y ~ nu drawn ignoring x; and the peer a user would
otherwise pick, POT's Sinkhorn (log domain, reg = eps) on --n_sinkhorn samples a side, sampled through its plan's rows.

Columns: joint BW-UVP (%) in otnb's units (100 W2² / (½ tr Σ)) and in the reference's (W2² / tr Σ, no 100, no ½: ours
/ 200); the relative cross-covariance error ||C_hat - C|| / ||C||, and the same estimated with the notebook's control chain
(same start and noise, exact conditional score: far less sampling noise; `control_cross_error`); fit time of each part; Langevin seconds per 1,000
conditional samples.

    python bench/scones.py [--dims 2 16 64] [--n_pairs 3] [--n_iters 5000] [--quick]
"""
import argparse, sys, time, math
from pathlib import Path
import torch, ot
sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_result
from otnb.core import make_generator
from otnb.data import Gaussian, random_spd
from otnb.gaussian import gaussian_entropic_plan
from otnb.metrics import bw_uvp
from otnb.scones import SCONES, gaussian_score, gaussian_control_chain, control_cross_error

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument('--dims', type=int, nargs='+', default=[2, 16, 64])
ap.add_argument('--n_pairs', type=int, default=3)
ap.add_argument('--n_iters', type=int, default=5000)
ap.add_argument('--n_samples', type=int, default=10000)
ap.add_argument('--n_langevin', type=int, default=1000)
ap.add_argument('--n_sinkhorn', type=int, default=2000, help='samples per side for the Sinkhorn peer')
ap.add_argument('--quick', action='store_true', help='a smoke run: tiny settings, nothing saved')
args = ap.parse_args()
if args.quick: args.dims, args.n_pairs, args.n_iters, args.n_samples, args.n_langevin, args.n_sinkhorn = [2], 1, 20, 500, 20, 200
t_start = time.perf_counter()

def errors(x, y, m0, S0, m1, S1, eps):
    d = len(m0)
    mj, Sj = gaussian_entropic_plan(m0, S0, m1, S1, eps)
    xy = torch.cat([x, y], 1).double()
    S = xy.T.cov()
    C, Ce = S[:d, d:], Sj[:d, d:]
    u = bw_uvp(xy.mean(0), S, mj, Sj).item()
    return {'BW-UVP %': u, 'reference units (W2²/tr Σ)': u / 200, 'cross-cov rel. error': ((C - Ce).norm() / Ce.norm()).item()}

rows = []
for d in args.dims:
    eps = 2.0 * d
    for pair in range(args.n_pairs):
        g = make_generator(100 * d + pair)
        m0, m1 = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
        S0, S1 = (random_spd(d, cond=10., scale=math.sqrt(10.), generator=g, dtype=torch.float64) for _ in range(2))
        P, Q = Gaussian(m0.float(), S0.float()), Gaussian(m1.float(), S1.float())
        x = P(args.n_samples, make_generator(1), match_moments=True)
        torch.manual_seed(pair)
        m = SCONES(d, eps=eps)
        t0 = time.perf_counter(); m.fit_dual(P, Q, n_iters=args.n_iters, batch_size=500, progress=False); t_dual = time.perf_counter() - t0
        t0 = time.perf_counter(); m.fit_projector(P, Q, n_iters=3 * args.n_iters // 5, batch_size=500, progress=False); t_proj = time.perf_counter() - t0
        t0 = time.perf_counter(); m.fit_score(Q, n_iters=args.n_iters, batch_size=500, progress=False); t_score = time.perf_counter() - t0
        base = {'d': d, 'pair': pair}
        control = gaussian_control_chain(m, x, m0, S0, m1, S1, args.n_langevin, 0.005, seed=2)
        for name, score in (('SCONES, exact score', gaussian_score(m1, S1)), ('SCONES, learned score', None)):
            t0 = time.perf_counter()
            y = m.sample(x, n_iters=args.n_langevin, step_size=0.005, score=score, seed=2)
            t_lan = time.perf_counter() - t0
            err_cv, se_cv = control_cross_error(x, y, control, m0, S0, m1, S1, eps)
            rows.append({**base, 'method': name, **errors(x, y, m0, S0, m1, S1, eps), 'cross-cov error, control chain (SE)': f"{err_cv:.4f} ({se_cv:.4f})",
                         'fit s (dual / projector / score)': f"{t_dual:.0f} / {t_proj:.0f} / {t_score:.0f}",
                         'Langevin s per 1,000 samples': t_lan * 1000 / args.n_samples})
        rows.append({**base, 'method': 'baseline y ~ ν (ignores x)', **errors(x, Q(args.n_samples, make_generator(3)), m0, S0, m1, S1, eps)})
        # the peer: Sinkhorn on n samples a side, a joint sample drawn through the plan's rows
        n = args.n_sinkhorn
        xs, ys = P(n, make_generator(4)).double(), Q(n, make_generator(5)).double()
        t0 = time.perf_counter()
        plan = ot.sinkhorn(ot.unif(n, type_as=xs), ot.unif(n, type_as=ys), ot.dist(xs, ys), reg=eps, method='sinkhorn_log', numItermax=5000, stopThr=1e-9)
        t_sk = time.perf_counter() - t0
        j = torch.multinomial(plan * n, 1, generator=make_generator(6))[:, 0]
        rows.append({**base, 'method': f'POT Sinkhorn, {n} samples a side', **errors(xs, ys[j], m0, S0, m1, S1, eps),
                     'fit s (dual / projector / score)': f"{t_sk:.1f} (solve)"})
        print(rows[-4:], flush=True)

cols = ['d', 'pair', 'method', 'BW-UVP %', 'reference units (W2²/tr Σ)', 'cross-cov rel. error', 'cross-cov error, control chain (SE)', 'fit s (dual / projector / score)', 'Langevin s per 1,000 samples']
total = time.perf_counter() - t_start
body = (f"eps = 2d, cost |x - y|², KL. {args.n_pairs} covariance pairs per d (eigenvalues 1 to 10). Potentials, projector and score: "
        f"3×256 MLPs, {args.n_iters} steps at batch 500 (projector 3/5 of it). Sampling: {args.n_langevin} Langevin steps of a = 0.005 "
        f"(the reference's 0.01) from the projection, {args.n_samples} source points. Total {total:.0f} s.\n\n" + markdown_table(rows, cols))
if args.quick: print(body)
else: print(write_result('scones', 'SCONES: Gaussian couplings', body))
