"""SCONES: time to accuracy of the default fit and sampler on Gaussian pairs, beside POT's Sinkhorn on samples.

For d in --dims, one random Gaussian pair (means N(0, I), covariances with eigenvalues 1 to 10, the reference's
experiments), eps = 2d (the paper's lambda; cost |x - y|², KL). `SCONES(d, eps).fit(P, Q)` with its defaults, then
--n_samples conditional draws y | x (source points with matched moments) by `sample` with its defaults (300 steps of
Langevin preconditioned by `langevin_metric`, from the projection). Beside it, on the same fitted model and source points:
the exact target score (`gaussian_score`); plain Langevin (no metric) at 300 and 1,000 steps of the same step, with the
exact score; the trivial baseline y ~ nu drawn ignoring x; and the peer a user would otherwise pick, POT's Sinkhorn (log
domain, reg = eps) on --n_sinkhorn samples a side, scored by its plan's joint moments.

Columns: joint BW-UVP (%) against the closed-form plan; the relative cross-covariance error ||C_hat - C|| / ||C||, and
the same estimated with the notebook's control chain (same start, noise and metric, exact conditional score: far less
sampling noise; `control_cross_error`), with its standard error; seconds, and conditional samples per second.

    python bench/scones.py [--dims 2 16 64] [--n_samples 20000] [--threads 2] [--quick]
"""
import argparse, sys, time, math
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_result, sinkhorn_plan_moments
from otnb.core import make_generator
from otnb.data import Gaussian, random_spd
from otnb.gaussian import gaussian_entropic_plan
from otnb.metrics import coupling_errors, mean_cov
from otnb.scones import SCONES, gaussian_score, gaussian_control_chain, control_cross_error

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument('--dims', type=int, nargs='+', default=[2, 16, 64])
ap.add_argument('--n_samples', type=int, default=20000)
ap.add_argument('--n_sinkhorn', type=int, default=2000, help='samples per side for the Sinkhorn peer')
ap.add_argument('--threads', type=int, default=2, help='torch threads (this machine has 2 cores)')
ap.add_argument('--quick', action='store_true', help='a smoke run: tiny settings, nothing saved')
args = ap.parse_args()
torch.set_num_threads(args.threads)
fit_kw = dict(n_iters=20) if args.quick else {}
if args.quick: args.dims, args.n_samples, args.n_sinkhorn = [2], 500, 200
t_start = time.perf_counter()

def scores(mean, cov, plan, d):
    "Joint BW-UVP (%) and the relative cross-covariance error of a joint (mean, cov) against the plan."
    e = coupling_errors(mean, cov, *plan, d)
    return {'BW-UVP %': e['bw_uvp'], 'cross-cov rel. error': e['cross']}

rows = []
for d in args.dims:
    eps = 2.0 * d
    g = make_generator(100 * d)
    m0, m1 = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
    S0, S1 = (random_spd(d, cond=10., scale=math.sqrt(10.), generator=g, dtype=torch.float64) for _ in range(2))
    P, Q = Gaussian(m0.float(), S0.float()), Gaussian(m1.float(), S1.float())
    plan = gaussian_entropic_plan(m0, S0, m1, S1, eps)
    x = P(args.n_samples, make_generator(1), match_moments=True)
    torch.manual_seed(0)
    t0 = time.perf_counter()
    m = SCONES(d, eps=eps).fit(P, Q, progress=False, **fit_kw)
    t_fit = time.perf_counter() - t0
    exact = gaussian_score(m1, S1)
    variants = [('SCONES defaults (learned score, preconditioned, 300 steps)', dict(), None),
                ('exact score, preconditioned, 300 steps', dict(score=exact), exact),
                ('exact score, plain Langevin, 300 steps', dict(score=exact, precondition=False), exact),
                ('exact score, plain Langevin, 1,000 steps', dict(score=exact, precondition=False, n_langevin_steps=1000), exact)]
    for name, kw, score in variants:
        t0 = time.perf_counter()
        y = m.sample(x, seed=2, **kw)
        t_s = time.perf_counter() - t0
        control = gaussian_control_chain(m, x, m0, S0, m1, S1, kw.get('n_langevin_steps', 300), 0.01, seed=2, score=score,
                                         precondition=kw.get('precondition', True))
        err_cv, se_cv = control_cross_error(x, y, control, m0, S0, m1, S1, eps)
        rows.append({'d': d, 'method': name, **scores(*mean_cov(torch.cat([x, y], 1).double()), plan, d),
                     'cross-cov error, control chain (SE)': f"{err_cv:.4f} ({se_cv:.4f})",
                     'fit s': t_fit, 'sample s': t_s, 'samples/s': len(x) / t_s,
                     'fit + sample s': t_fit + t_s})
        print(rows[-1], flush=True)
    y_b = Q(args.n_samples, make_generator(3))
    rows.append({'d': d, 'method': 'baseline y ~ ν (ignores x)', **scores(*mean_cov(torch.cat([x, y_b], 1).double()), plan, d)})
    n = args.n_sinkhorn
    sk_m, sk_S, sk_s = sinkhorn_plan_moments(P(n, make_generator(4)), Q(n, make_generator(5)), eps)
    rows.append({'d': d, 'method': f'POT Sinkhorn, {n} samples a side', **scores(sk_m, sk_S, plan, d), 'fit s': sk_s})
    print(rows[-2:], flush=True)

cols = ['d', 'method', 'BW-UVP %', 'cross-cov rel. error', 'cross-cov error, control chain (SE)', 'fit s', 'sample s',
        'samples/s', 'fit + sample s']
total = time.perf_counter() - t_start
body = (f"Torch threads: {args.threads}, quiet machine. eps = 2d, cost |x - y|², KL; one pair per d (eigenvalues 1 to 10). "
        f"`SCONES(d, eps).fit(P, Q)` with its defaults (3×128 networks, 3,000 steps of the dual and the score, 1,800 of the "
        f"projector, batch 512); {args.n_samples:,} conditional draws per row (source moments matched); Langevin step 0.01 "
        f"in every row. Total {total:.0f} s.\n\n" + markdown_table(rows, cols))
if args.quick: print(body)
else: print(write_result('scones', 'SCONES: time to accuracy', body))
