"""Multimarginal interpolants on the 2D set: Gaussian base, moons, 8 Gaussians, checkerboard.

Reports the fit time, the sample quality at each data vertex as exact W2² (POT) between samples carried
from the Gaussian vertex and held-out target samples, beside the floor W2² between two independent target
samples of the same size, and the transport-cost change from path optimisation on each edge between data
vertices (cost measured along the learned transport of n_cost source samples).
Usage: python bench/interpolants.py [--steps 20000] [--n 2000]
"""
import argparse, sys, time
from pathlib import Path
import torch
sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_result
from otnb.core import make_generator
from otnb.data import moons, eight_gaussians, checkerboard
from otnb.interpolants import MultimarginalInterpolant
from otnb.metrics import w2

ap = argparse.ArgumentParser()
ap.add_argument('--steps', type=int, default=20000)
ap.add_argument('--n', type=int, default=2000)
ap.add_argument('--n_cost', type=int, default=4000)
args = ap.parse_args()
toys, names = [moons, eight_gaussians, checkerboard], ['moons', '8 Gaussians', 'checkerboard']
torch.manual_seed(0)
t0 = time.perf_counter()
model = MultimarginalInterpolant(2, n_marginals=3).fit(toys, n_steps=args.steps, progress=False)
fit_time = time.perf_counter() - t0
def sample(k, n, seed): return toys[k - 1](n, generator=make_generator(seed))
rows = []
for k in range(1, 4):
    y = model.transport(torch.randn(args.n, 2, generator=make_generator(10)), (0, k))
    rows.append({'vertex': names[k - 1], 'W2² to held-out': w2(y, sample(k, args.n, 11)).item(),
                 'floor W2²': w2(sample(k, args.n, 12), sample(k, args.n, 11)).item()})
edges = []
for i, j in [(1, 2), (1, 3), (2, 3)]:
    x = sample(i, args.n_cost, 20)
    c0 = model.path_cost(x, (i, j)).item()
    c1 = model.path_cost(x, model.optimize_path(i, j, n_steps=300)).item()
    edges.append({'edge': f'{names[i - 1]} → {names[j - 1]}', 'straight cost': c0, 'optimised cost': c1,
                  'reduction %': 100 * (1 - c1 / c0), 'W2² (samples)': w2(x[:args.n], sample(j, args.n, 21)).item()})
body = (f"Fit: {args.steps} steps, batch 512, default network; {fit_time:.0f} s.\n\n"
        + markdown_table(rows, ['vertex', 'W2² to held-out', 'floor W2²']) + "\n\n"
        + markdown_table(edges, ['edge', 'straight cost', 'optimised cost', 'reduction %', 'W2² (samples)']))
p = write_result('interpolants', 'Multimarginal interpolants, 2D set', body)
print(body); print(f'\nsaved {p}')
