"""Multimarginal interpolants on the 2D set: Gaussian base, moons, 8 Gaussians, checkerboard.

Reports the fit time, the sample quality at each data vertex as exact W2² (POT) between samples carried
from the Gaussian vertex and held-out target samples, beside the floor W2² between two independent target
samples of the same size, and the transport-cost change from path optimisation on each edge between data
vertices (the kinetic cost of the learned transport of n_cost source samples, `transport_cost`), with how far the optimised
path leaves the edge and the W2² of its endpoints to the target. A second model fitted with the minibatch-OT
coupling gives the straight-edge costs under that coupling, for comparison with path optimisation.
Usage: python bench/interpolants.py [--iters 20000] [--n 2000] [--ot_batch 256]
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
ap.add_argument('--iters', type=int, default=20000)
ap.add_argument('--n', type=int, default=2000)
ap.add_argument('--n_cost', type=int, default=4000)
ap.add_argument('--ot_batch', type=int, default=256)
args = ap.parse_args()
toys, names = [moons, eight_gaussians, checkerboard], ['moons', '8 Gaussians', 'checkerboard']
torch.manual_seed(0)
t0 = time.perf_counter()
model = MultimarginalInterpolant(2, n_marginals=3).fit(toys, n_iters=args.iters, progress=False)
fit_time = time.perf_counter() - t0
def sample(k, n, seed): return toys[k - 1](n, generator=make_generator(seed))
rows = []
for k in range(1, 4):
    y = model.transport(torch.randn(args.n, 2, generator=make_generator(10)), (0, k))
    rows.append({'vertex': names[k - 1], 'W2² to held-out': w2(y, sample(k, args.n, 11)).item(),
                 'floor W2²': w2(sample(k, args.n, 12), sample(k, args.n, 11)).item()})
torch.manual_seed(0)
t0 = time.perf_counter()
model_ot = MultimarginalInterpolant(2, n_marginals=3).fit(toys, n_iters=args.iters, batch_size=args.ot_batch, coupling='ot', progress=False)
fit_time_ot = time.perf_counter() - t0
edges = []
tt = torch.linspace(0, 1, 201)
for i, j in [(1, 2), (1, 3), (2, 3)]:
    x = sample(i, args.n_cost, 20)
    c0 = model.transport_cost(x, (i, j)).item()
    path = model.optimize_path(i, j, n_iters=300)
    c1 = model.transport_cost(x, path).item()
    a = path(tt)
    y_end = model.transport(x[:args.n], path)
    y_edge = model.transport(x[:args.n], (i, j))
    edges.append({'edge': f'{names[i - 1]} → {names[j - 1]}', 'straight cost': c0, 'optimised cost': c1,
                  'reduction %': 100 * (1 - c1 / c0), 'max weight off the edge': (1 - a[:, i] - a[:, j]).max().item(),
                  'W2² end, edge': w2(y_edge, sample(j, args.n, 22)).item(), 'W2² end, optimised': w2(y_end, sample(j, args.n, 22)).item(),
                  'straight cost, OT coupling': model_ot.transport_cost(x, (i, j)).item(),
                  'W2² (samples)': w2(x[:args.n], sample(j, args.n, 21)).item()})
body = (f"Fit: {args.iters} steps, batch 512, default network; {fit_time:.0f} s. "
        f"With the minibatch-OT coupling (batch {args.ot_batch}): {fit_time_ot:.0f} s.\n\n"
        + markdown_table(rows, ['vertex', 'W2² to held-out', 'floor W2²']) + "\n\n"
        + markdown_table(edges, ['edge', 'straight cost', 'optimised cost', 'reduction %', 'max weight off the edge', 'W2² end, edge', 'W2² end, optimised', 'straight cost, OT coupling', 'W2² (samples)']))
p = write_result('interpolants', 'Multimarginal interpolants, 2D set', body)
print(body); print(f'\nsaved {p}')
