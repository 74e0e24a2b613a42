"""Diffusion Schrödinger bridge: time to accuracy with the default settings, beside POT's Sinkhorn on samples.

1. The 2D Gaussian pair of the notebook (covariances of condition number 10, means one apart), Brownian reference with
   sigma = T = 1 (eps = 2), N = 50 steps: `fit` one IPF iteration at a time, so that after each one the coupling
   (x0, forward(x0)) of 20,000 draws is scored by its joint BW-UVP (%) against the oracle at the same number of IPF
   iterations (the learning error), against the oracle's fixed point (30 iterations: what a user wants from the chain) and
   against the continuous bridge (the entropic plan, which also counts the N-step discretisation). One line per
   setting of `n_iters` (the default 1,000, and 500 and 2,000), against the fit's wall time (evaluation excluded).
2. The peer a user would otherwise pick for an entropic coupling from samples: POT's log-domain Sinkhorn (reg = eps) on
   n samples a side, for several n; the plan's own joint moments are scored the same way.
3. d = 5 and 20 (random pairs, condition number 4) at N = 20, the default fit.
4. Generative modelling of the moons (OU reference toward N(0, I), data scaled by 2, T = 0.4, N = 20): the default fit,
   exact W2² (POT) of 2,000 generated points to 2,000 held-out ones after each IPF iteration, beside the floor between two
   independent samples of the moons (five pairs of samples: its mean and spread).

    python bench/dsb.py [--threads 2] [--quick]
"""
import argparse, sys, time
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_result, sinkhorn_plan_moments, RESULTS
from otnb.core import make_generator
from otnb.data import Gaussian, random_spd, moons
from otnb.gaussian import gaussian_entropic_plan
from otnb.metrics import bw_uvp, mean_cov, w2
from otnb.dsb import DSB, gaussian_dsb_oracle, reference_chain, time_steps

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument('--threads', type=int, default=2, help='torch threads (this machine has 2 cores)')
ap.add_argument('--quick', action='store_true', help='a smoke run: tiny settings, nothing saved')
args = ap.parse_args()
torch.set_num_threads(args.threads)
quick = args.quick
n_ipf = 2 if quick else 10
settings = [20] if quick else [1000, 500, 2000]
t_start = time.perf_counter()

def coupling(model, P, n=20000):
    "Joint mean and covariance of (x0, forward(x0)) over n draws of p0."
    x0 = P(n, make_generator(1))
    return mean_cov(torch.cat([x0, model.sample(x0, seed=2)], 1).double())

def fit_curve(P, Q, N, oracle_args, n_iters, plan, label):
    "Fit one IPF iteration at a time; after each, the BW-UVPs and the fit's wall time so far."
    gam = reference_chain(time_steps(N))[0]
    fixed = gaussian_dsb_oracle(*oracle_args, gam, n_ipf=30)
    torch.manual_seed(0)
    model, secs, rows = DSB(P.dim, n_time_steps=N), 0.0, []
    for it in range(1, n_ipf + 1):
        t0 = time.perf_counter()
        model.fit(P, Q, n_ipf=1, n_iters=n_iters, seed=it, progress=False)
        secs += time.perf_counter() - t0
        m, S = coupling(model, P)
        same = gaussian_dsb_oracle(*oracle_args, gam, n_ipf=it)
        rows.append({'setting': label, 'IPF iterations': it, 'fit s': secs,
                     'BW-UVP % vs oracle, same iteration': bw_uvp(m, S, same['mean'], same['cov']).item(),
                     'BW-UVP % vs oracle fixed point': bw_uvp(m, S, fixed['mean'], fixed['cov']).item(),
                     'BW-UVP % vs continuous bridge': bw_uvp(m, S, *plan).item()})
        print(rows[-1], flush=True)
    return rows

# 1. the target row: 2D, N = 50
g2 = make_generator(4)
ma, mb = torch.tensor([-0.5, 0.0], dtype=torch.float64), torch.tensor([0.5, 0.2], dtype=torch.float64)
Sa, Sb = random_spd(2, 10., generator=g2, dtype=torch.float64), random_spd(2, 10., generator=g2, dtype=torch.float64)
Pa, Pb = Gaussian(ma.float(), Sa.float()), Gaussian(mb.float(), Sb.float())
eps, N2 = 2.0, 50
plan2 = gaussian_entropic_plan(ma, Sa, mb, Sb, eps=eps)
curves = []
for n_iters in settings:
    label = f"n_iters={n_iters}" + (' (default)' if n_iters == 1000 else '')
    curves += fit_curve(Pa, Pb, N2, (ma, Sa, mb, Sb), n_iters, plan2, label)
fixed2 = gaussian_dsb_oracle(ma, Sa, mb, Sb, reference_chain(time_steps(N2))[0], n_ipf=30)

# 2. the peer: Sinkhorn on n samples a side
peer = []
for n in ([200] if quick else [250, 500, 1000, 2000, 4000]):
    for rep in range(1 if quick else 3):
        m, S, secs = sinkhorn_plan_moments(Pa(n, make_generator(10 + rep)), Pb(n, make_generator(20 + rep)), eps)
        peer.append({'n a side': n, 'rep': rep, 'solve s': secs, 'BW-UVP % vs continuous bridge': bw_uvp(m, S, *plan2).item(),
                     'BW-UVP % vs DSB oracle fixed point': bw_uvp(m, S, fixed2['mean'], fixed2['cov']).item()})
peer_rows = []
for n in sorted({r['n a side'] for r in peer}):
    rs = [r for r in peer if r['n a side'] == n]
    mean = lambda k: sum(r[k] for r in rs) / len(rs)
    peer_rows.append({'method': f'POT Sinkhorn, {n} samples a side (mean of {len(rs)})', 'solve s': mean('solve s'),
                      'BW-UVP % vs continuous bridge': mean('BW-UVP % vs continuous bridge'),
                      'BW-UVP % vs DSB oracle fixed point': mean('BW-UVP % vs DSB oracle fixed point')})

# 3. higher dimensions at N = 20, default fit
dims = []
for d in ([] if quick else [5, 20]):
    g = make_generator(100 + d)
    m0, m1 = 0.5 * torch.randn(d, generator=g, dtype=torch.float64), 0.5 * torch.randn(d, generator=g, dtype=torch.float64)
    S0, S1 = random_spd(d, 4., generator=g, dtype=torch.float64), random_spd(d, 4., generator=g, dtype=torch.float64)
    P, Q = Gaussian(m0.float(), S0.float()), Gaussian(m1.float(), S1.float())
    gam = reference_chain(time_steps(20))[0]
    torch.manual_seed(0)
    t0 = time.perf_counter()
    model = DSB(d, n_time_steps=20).fit(P, Q, progress=False)
    secs = time.perf_counter() - t0
    m, S = coupling(model, P)
    same, plan = gaussian_dsb_oracle(m0, S0, m1, S1, gam, n_ipf=10), gaussian_entropic_plan(m0, S0, m1, S1, eps=eps)
    sk_m, sk_S, sk_s = sinkhorn_plan_moments(P(2000, make_generator(3)), Q(2000, make_generator(4)), eps)
    dims.append({'d': d, 'DSB fit s': secs, 'DSB BW-UVP % vs oracle (10 iterations)': bw_uvp(m, S, same['mean'], same['cov']).item(),
                 'DSB BW-UVP % vs continuous bridge': bw_uvp(m, S, *plan).item(), 'Sinkhorn (2,000 a side) s': sk_s,
                 'Sinkhorn BW-UVP % vs continuous bridge': bw_uvp(sk_m, sk_S, *plan).item()})
    print(dims[-1], flush=True)

# 4. generative moons
ref = moons(2000, generator=make_generator(31))
floors = torch.tensor([w2(moons(2000, generator=make_generator(40 + 2 * s)), moons(2000, generator=make_generator(41 + 2 * s))).item()
                       for s in range(5)])
gen_rows = []
torch.manual_seed(0)
gen = DSB(2, n_time_steps=20, horizon=0.4, reference='ou')
data = 2 * moons(20000, generator=make_generator(30))
secs = 0.0
for it in range(1, n_ipf + 1):
    t0 = time.perf_counter()
    gen.fit(data, None, n_ipf=1, n_iters=20 if quick else 1000, seed=it, progress=False)
    secs += time.perf_counter() - t0
    gen_rows.append({'IPF iterations': it, 'fit s': secs, 'W2² to held-out': w2(gen.generate(2000, seed=1) / 2, ref).item()})
    print(gen_rows[-1], flush=True)

def figure(path):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axs = plt.subplots(1, 2, figsize=(12, 4))
    for label in dict.fromkeys(r['setting'] for r in curves):
        rs = [r for r in curves if r['setting'] == label]
        axs[0].plot([r['fit s'] for r in rs], [r['BW-UVP % vs oracle fixed point'] for r in rs], 'o-', label=f'DSB, {label}')
    axs[0].scatter([r['solve s'] for r in peer_rows], [r['BW-UVP % vs DSB oracle fixed point'] for r in peer_rows], c='k', marker='s',
                   label='POT Sinkhorn on n samples (n = 250 ... 4,000)')
    axs[0].axhline(0.3, c='gray', ls=':', label='0.3%')
    axs[0].set(xscale='log', yscale='log', xlabel='wall time, s', ylabel='joint BW-UVP % vs the DSB fixed point',
               title='2D Gaussians, N = 50: accuracy against time')
    axs[0].legend(fontsize=8)
    axs[1].plot([r['fit s'] for r in gen_rows], [r['W2² to held-out'] for r in gen_rows], 'o-', label='DSB, default fit')
    axs[1].axhline(floors.mean().item(), c='gray', ls=':', label='floor: two samples of the moons')
    axs[1].axhline(0.07, c='C3', ls='--', lw=0.8, label='0.07')
    axs[1].set(xlabel='wall time, s', ylabel='W2² to held-out data', yscale='log', title='generative moons: quality against time')
    axs[1].legend(fontsize=8)
    plt.tight_layout()
    fig.savefig(path, dpi=110)

total = time.perf_counter() - t_start
final = [r for r in curves if r['IPF iterations'] == n_ipf and r['setting'].endswith('(default)')] if not quick else curves[-1:]
body = (f"Torch threads: {args.threads}, quiet machine. Default networks (3×128 TimeMLP), batch 512, cache 2,000 paths refreshed "
        f"every 100 steps, {n_ipf} IPF iterations. Total {total:.0f} s. Figure: `dsb.png`.\n\n"
        "### 2D Gaussians, N = 50: the default fit\n\n"
        + markdown_table(final, ['setting', 'IPF iterations', 'fit s', 'BW-UVP % vs oracle, same iteration',
                                 'BW-UVP % vs oracle fixed point', 'BW-UVP % vs continuous bridge'])
        + "\n\n### Every IPF iteration, every setting (the curves of the figure)\n\n"
        + markdown_table(curves, ['setting', 'IPF iterations', 'fit s', 'BW-UVP % vs oracle, same iteration',
                                  'BW-UVP % vs oracle fixed point', 'BW-UVP % vs continuous bridge'])
        + f"\n\nThe oracle's own fixed point is {bw_uvp(fixed2['mean'], fixed2['cov'], *plan2).item():.3f}% from the continuous "
        "bridge: the discretisation bias of N = 50 steps, which no amount of training removes.\n\n"
        "### The peer: POT Sinkhorn on samples (same pair, eps = 2)\n\n"
        + markdown_table(peer_rows, ['method', 'solve s', 'BW-UVP % vs continuous bridge', 'BW-UVP % vs DSB oracle fixed point'])
        + "\n\n### d = 5 and 20, N = 20, default fit\n\n"
        + markdown_table(dims, ['d', 'DSB fit s', 'DSB BW-UVP % vs oracle (10 iterations)', 'DSB BW-UVP % vs continuous bridge',
                                'Sinkhorn (2,000 a side) s', 'Sinkhorn BW-UVP % vs continuous bridge'])
        + f"\n\n### Generative moons (x2, T = 0.4, N = 20), default fit\n\nFloor (W2² between two 2,000-point samples of the moons, "
        f"5 pairs): mean {floors.mean():.4f}, range {floors.min():.4f}–{floors.max():.4f}.\n\n"
        + markdown_table(gen_rows, ['IPF iterations', 'fit s', 'W2² to held-out']))
print(body)
if not quick:
    figure(RESULTS / 'dsb.png')
    print(write_result('dsb', 'Diffusion Schrödinger bridge: time to accuracy', body))
else: print('(quick run: nothing saved)')
