"""Diffusion Schrödinger bridge: coupling accuracy on Gaussians, sample quality on 2D data, and time, beside Sinkhorn.

Gaussian rows (d in --dims): p0, p1 with random means and covariances (condition number 4), Brownian reference with
sigma = T = 1 (eps = 2), N = 20 steps. The learned coupling (x0, forward(x0)) on 20,000 draws is compared with the oracle
(DSB with exact regressions, `gaussian_dsb_oracle`, at the same N and number of IPF iterations) and with the continuous
bridge (`gaussian_entropic_plan`, eps = 2): joint BW-UVP (%) and the largest error of the cross-covariance. The peer is
what a user would otherwise pick for an entropic coupling from samples: POT's Sinkhorn (log-domain, reg = eps) on n
samples of each side, whose plan's cross-covariance and joint BW-UVP are computed the same way.

2D rows: generative modelling from N(0, I) with a short horizon (OU reference, data scaled by 2, T = 0.4, 20 steps of
gamma = 0.01; see the notebook for why not the paper's larger ratio), and data to data (8 Gaussians -> moons, Brownian, eps = 2): exact W2² (POT) of 2,000 generated points to
held-out data, beside the floor between two independent samples of the data.

    python bench/dsb.py [--dims 2 5 20] [--n_ipf 6] [--n_iters 3000] [--quick]
"""
import argparse, sys, time
from pathlib import Path
import torch, ot
sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_result
from otnb.core import make_generator
from otnb.data import Gaussian, random_spd, moons, eight_gaussians, checkerboard, swiss_roll
from otnb.gaussian import gaussian_entropic_plan
from otnb.metrics import bw_uvp, w2
from otnb.dsb import DSB, gaussian_dsb_oracle, reference_chain, time_steps

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument('--dims', type=int, nargs='+', default=[2, 5, 20])
ap.add_argument('--n_ipf', type=int, default=6)
ap.add_argument('--n_iters', type=int, default=3000)
ap.add_argument('--n_sinkhorn', type=int, default=2000, help='samples per side for the Sinkhorn peer')
ap.add_argument('--quick', action='store_true', help='a smoke run: tiny settings, nothing saved')
args = ap.parse_args()
if args.quick: args.dims, args.n_ipf, args.n_iters, args.n_sinkhorn = [2], 1, 20, 200
N, eps, t_start = 20, 2.0, time.perf_counter()

def joint(x, y):
    xy = torch.cat([x, y], 1).double()
    return xy.mean(0), xy.T.cov()

rows = []
for d in args.dims:
    g = make_generator(100 + d)
    m0, m1 = 0.5 * torch.randn(d, generator=g, dtype=torch.float64), 0.5 * torch.randn(d, generator=g, dtype=torch.float64)
    S0, S1 = random_spd(d, 4., generator=g, dtype=torch.float64), random_spd(d, 4., generator=g, dtype=torch.float64)
    P, Q = Gaussian(m0.float(), S0.float()), Gaussian(m1.float(), S1.float())
    plan = gaussian_entropic_plan(m0, S0, m1, S1, eps=eps)
    orc = gaussian_dsb_oracle(m0, S0, m1, S1, reference_chain(time_steps(N))[0], n_ipf=args.n_ipf)
    torch.manual_seed(0); t0 = time.perf_counter()
    model = DSB(d, n_time_steps=N).fit(P, Q, n_ipf=args.n_ipf, n_iters=args.n_iters, progress=False)
    fit_s = time.perf_counter() - t0
    x0 = P(20000, make_generator(1))
    mj, Sj = joint(x0, model.sample(x0, seed=2))
    cross_err = lambda S: (S[:d, d:] - plan[1][:d, d:]).abs().max().item()
    rows.append({'d': d, 'method': 'DSB (learned)', 'BW-UVP % vs oracle': bw_uvp(mj, Sj, orc['mean'], orc['cov']).item(),
                 'BW-UVP % vs continuous': bw_uvp(mj, Sj, *plan).item(), 'max cross-cov error': cross_err(Sj),
                 'fit s': fit_s, 's per IPF iteration': fit_s / args.n_ipf})
    rows.append({'d': d, 'method': 'DSB oracle (exact regressions)', 'BW-UVP % vs oracle': 0.0,
                 'BW-UVP % vs continuous': bw_uvp(orc['mean'], orc['cov'], *plan).item(), 'max cross-cov error': cross_err(orc['cov'])})
    n = args.n_sinkhorn
    x, y = P(n, make_generator(3)).double(), Q(n, make_generator(4)).double()
    t0 = time.perf_counter()
    pi = ot.bregman.sinkhorn_log(ot.unif(n, type_as=x), ot.unif(n, type_as=y), ot.dist(x, y), eps, numItermax=20000, stopThr=1e-9)
    sk_s = time.perf_counter() - t0
    mean_s = torch.cat([x.mean(0), y.mean(0)])
    xc, yc = x - x.mean(0), y - y.mean(0)
    C = xc.T @ pi @ yc                                                      # the plan's cross-covariance (weights sum to 1)
    Ss = torch.cat([torch.cat([xc.T @ xc / n, C], 1), torch.cat([C.T, yc.T @ yc / n], 1)], 0)
    rows.append({'d': d, 'method': f'POT Sinkhorn, {n} samples a side', 'BW-UVP % vs oracle': bw_uvp(mean_s, Ss, orc['mean'], orc['cov']).item(),
                 'BW-UVP % vs continuous': bw_uvp(mean_s, Ss, *plan).item(), 'max cross-cov error': cross_err(Ss), 'fit s': sk_s})
    print(f"d={d} done ({time.perf_counter() - t_start:.0f} s)", flush=True)

samples = []
def sample_row(name, model_fn, data_fn, scale=1.0):
    torch.manual_seed(0); t0 = time.perf_counter()
    y, fit_iters = model_fn()
    secs = time.perf_counter() - t0
    ref = data_fn(2000, generator=make_generator(31))
    samples.append({'task': name, 'W2² to held-out': w2(y / scale, ref).item(),
                    'floor W2²': w2(data_fn(2000, generator=make_generator(32)), ref).item(), 'fit s': secs, 'IPF iterations': fit_iters})

for name, f in (('moons', moons), ('swiss roll', swiss_roll), ('checkerboard', checkerboard)):
    def gen(f=f):
        m = DSB(2, n_time_steps=20, horizon=0.4, reference='ou').fit(2 * f(20000, generator=make_generator(30)), None,
                                                                     n_ipf=max(1, args.n_ipf - 1), n_iters=max(1, 2 * args.n_iters // 3), progress=False)
        return m.generate(2000, seed=1), m._n_half // 2
    sample_row(f'generative, {name} (x2, T = 0.4)', gen, f, scale=2.0)
def data2data():
    m = DSB(2, n_time_steps=20).fit(eight_gaussians, moons, n_ipf=args.n_ipf, n_iters=args.n_iters, progress=False)
    return m.sample(eight_gaussians(2000, generator=make_generator(33)), seed=2), m._n_half // 2
sample_row('8 Gaussians → moons (ε = 2)', data2data, moons)

body = (f"N = {N} steps, constant schedule, sigma = T = 1 (eps = 2) unless stated; {args.n_ipf} IPF iterations of {args.n_iters} "
        f"steps per half-step (generative: one fewer, two thirds the steps), batch 512, cache 10,000 paths refreshed every 100 steps, "
        f"default networks (3×128). Total {time.perf_counter() - t_start:.0f} s.\n\n"
        "### Gaussian couplings\n\n" + markdown_table(rows, ['d', 'method', 'BW-UVP % vs oracle', 'BW-UVP % vs continuous', 'max cross-cov error', 'fit s', 's per IPF iteration'])
        + "\n\n### 2D sample quality\n\n" + markdown_table(samples, ['task', 'W2² to held-out', 'floor W2²', 'IPF iterations', 'fit s']))
print(body)
if not args.quick: print(write_result('dsb', 'Diffusion Schrödinger bridge', body))
else: print('(quick run: nothing saved)')
