"""Iterative alignment flows: the reference's 2D demos side by side, the k < d table, the digits, and the costs.

1. The reference's 2D demos (Zhou et al. 2022, `demos/demo_multi_2D.ipynb`), their data regenerated their way:
   - random pattern: sklearn `make_classification(2000, n_features=2, n_redundant=0)` with RandomState 0 and 3, shifted
     by -2 and +2, labels {0,1} and {2,3}: K = 4; split 2/3 : 1/3 by `train_test_split` with the second RandomState;
   - three Gaussians: means (0,0), (2,-2), (-3,2), covariances `make_spd_matrix(2)`, 2,000 points each, split 2/3 : 1/3.
   Their metric, recomputed the same way: on the held-out third, each class truncated to the smallest class, the transport
   cost Σ π_ij |x_i - y_j|² of a loosely converged log-domain Sinkhorn (eps = 0.1, at most 100 iterations, stop when
   Σ|Δu| < 0.1), averaged over class pairs. Their numbers: 0.084 (random pattern), 0.025 (three Gaussians), with 30
   layers, k = 2. Beside it: the exact W2² (POT's network simplex) on the same points; the same-distribution floor (both
   metrics between a class's held-out points and as many of its training points, averaged over classes); the transport
   cost E|x - f_c(x)|² on held-out points (theirs: 9.51 for IAF against 9.08 for the naive barycenter, random pattern);
   the round-trip error; fit time per layer and in all. Mean ± SE over --n_seeds seeds (flow seed; for the Gaussians,
   also the data). The reference code itself cannot run here: it needs the `ddl` package (a git submodule, absent from
   its snapshot) and a CUDA device in places.
2. d = 8, k = 2: three random patterns of Gaussian blobs, 1,000 points per class; held-out mean pairwise W2² at 5 and 20
   layers for optimised and random directions, beside one naive layer and the Gaussian barycenter.
3. Digits 0, 6, 9 (d = 64, k = 8): class recoverability from the held-out latent codes (logistic, 15-NN), and how often
   a digit reader reads a translation as the target digit.
0. Against the reference code, run in this script on the same data: the PyTorch implementation in inouye-lab/fedinb at
   commit 58c2827 (`iaf/`; its `swd.py` imports wandb only to log, so a stub module stands in). Fit time and held-out
   mean pairwise W2² for 20 layers, k = 2, max-sliced and random directions, the two run alternately on one thread.
   Pass a checkout or a bare git directory of fedinb with --fedinb; without it this section is skipped.

    python bench/alignment.py [--n_seeds 5] [--quick] [--fedinb DIR]
"""
import argparse, itertools, sys, time
from pathlib import Path
import numpy as np
import torch, ot
sys.path.insert(0, str(Path(__file__).parent))
from common import markdown_table, write_result
from otnb.alignment import IterativeAlignmentFlow, gaussian_barycenter_maps
from otnb.core import make_generator
from otnb.data import random_pattern
from otnb.metrics import w2

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument('--n_seeds', type=int, default=5)
ap.add_argument('--n_layers', type=int, default=30)
ap.add_argument('--quick', action='store_true', help='a smoke run: tiny settings, nothing saved')
ap.add_argument('--fedinb', default=None, help='a checkout or git directory of inouye-lab/fedinb (commit 58c2827)')
args = ap.parse_args()
if args.quick: args.n_seeds, args.n_layers = 2, 3
t_start = time.perf_counter()
from sklearn.datasets import make_classification, make_spd_matrix, load_digits
from sklearn.model_selection import train_test_split

def reference_sinkhorn_cost(x, y, eps=0.1, max_iter=100, thresh=0.1):
    "The reference's metric: Σ π_ij |x_i - y_j|² for the log-domain Sinkhorn plan, stopped when Σ|Δu| < thresh."
    C = torch.cdist(x.double(), y.double()) ** 2
    la, lb = torch.full((len(x),), -np.log(len(x)), dtype=torch.float64), torch.full((len(y),), -np.log(len(y)), dtype=torch.float64)
    u, v = torch.zeros(len(x), dtype=torch.float64), torch.zeros(len(y), dtype=torch.float64)
    M = lambda: (-C + u[:, None] + v[None]) / eps
    for _ in range(max_iter):
        u_old = u
        u = eps * (la - torch.logsumexp(M(), 1)) + u
        v = eps * (lb - torch.logsumexp(M().T, 1)) + v
        if (u - u_old).abs().sum() < thresh: break
    return (M().exp() * C).sum().item()

def truncate(zs):
    n = min(len(z) for z in zs)
    return [z[:n] for z in zs]

def pairwise(zs, metric): return float(np.mean([metric(a, b) for a, b in itertools.combinations(truncate(zs), 2)]))
def exact_w2(a, b): return w2(a, b).item()

def floor(te, tr, metric):
    "The metric between two independent samples of one class at the evaluation's size (held-out against training points), averaged over classes."
    n = min(len(z) for z in te)
    return float(np.mean([metric(a[:n], b[:n]) for a, b in zip(te, tr)]))

def random_pattern_data():
    rng = np.random.RandomState(0)
    X0, y0 = make_classification(n_samples=2000, n_features=2, n_redundant=0, random_state=rng)
    rng = np.random.RandomState(3)
    X1, y1 = make_classification(n_samples=2000, n_features=2, n_redundant=0, random_state=rng)
    X, y = np.concatenate([X0 - 2, X1 + 2]), np.concatenate([y0, y1 + 2])
    return train_test_split(X, y, train_size=2 / 3, random_state=rng)

def three_gaussians_data(seed):
    rng = np.random.RandomState(seed)
    means = [(0, 0), (2, -2), (-3, 2)]
    X = np.concatenate([rng.multivariate_normal(m, make_spd_matrix(2, random_state=rng), 2000) for m in means])
    y = np.repeat([0, 1, 2], 2000)
    return train_test_split(X, y, train_size=2 / 3, random_state=rng)

def by_class(X, y): return [torch.tensor(X[y == c], dtype=torch.float32) for c in np.unique(y)]

def flow_rows(name, tr, te, seed):
    "One row per method on one data set: the reference's metric, exact W2², transport cost, round trip, times."
    out = []
    methods = {'IAF (max-sliced, k = 2)': dict(n_layers=args.n_layers, n_directions=2),
               'random directions (k = 2)': dict(n_layers=args.n_layers, n_directions=2, directions='random'),
               'one naive layer (axes)': dict(n_layers=1, n_directions=2, directions='identity')}
    for label, kw in methods.items():
        t0 = time.perf_counter(); f = IterativeAlignmentFlow(**kw).fit(tr, seed=seed, progress=False); t = time.perf_counter() - t0
        zs = [f.transform(x, c) for c, x in enumerate(te)]
        lo, hi = torch.cat(te).amin(0), torch.cat(te).amax(0)
        far = lo - 3 * (hi - lo) + 7 * (hi - lo) * torch.rand(2000, 2, generator=make_generator(seed))
        rt = max((f.inverse(f.transform(p, c), c) - p).abs().max().item() for c in range(len(te)) for p in (te[c], far))
        out.append(dict(data=name, method=label, ref=pairwise(zs, reference_sinkhorn_cost), w2=pairwise(zs, exact_w2),
                        cost=float(np.mean([((z - x) ** 2).sum(1).mean().item() for z, x in zip(zs, te)])),
                        roundtrip=rt, fit=t, per_layer=t / kw['n_layers']))
    maps = gaussian_barycenter_maps(tr)
    zs = [x @ A.T + b for x, (A, b) in zip(te, maps)]
    out.append(dict(data=name, method='Gaussian barycenter', ref=pairwise(zs, reference_sinkhorn_cost), w2=pairwise(zs, exact_w2),
                    cost=float(np.mean([((z - x) ** 2).sum(1).mean().item() for z, x in zip(zs, te)]))))
    out.append(dict(data=name, method='no alignment', ref=pairwise(te, reference_sinkhorn_cost), w2=pairwise(te, exact_w2)))
    out.append(dict(data=name, method='floor (two samples of one class)', ref=floor(te, tr, reference_sinkhorn_cost), w2=floor(te, tr, exact_w2)))
    same = [z[:min(len(t) for t in te)] for z in te]
    out.append(dict(data=name, method='a held-out class against itself (Sinkhorn blur)', ref=float(np.mean([reference_sinkhorn_cost(z, z) for z in same]))))
    return out

def summarise(rows, keys, cols):
    "Mean ± SE over seeds of each column, per group of `keys`."
    groups = {}
    for r in rows: groups.setdefault(tuple(r[k] for k in keys), []).append(r)
    table = []
    for key, rs in groups.items():
        row = dict(zip(keys, key))
        for c in cols:
            v = np.array([r[c] for r in rs if c in r], dtype=float)
            if len(v) == 0: continue
            row[c] = f"{v.mean():.3g}" + (f" ± {v.std(ddof=1) / np.sqrt(len(v)):.2g}" if len(v) > 1 else '')
        table.append(row)
    return table

# ---- 0. against the reference code (fedinb) ---------------------------------------------------------------------------
def load_fedinb(path):
    "Import fedinb's `iaf` package from a checkout or a git directory, with a stub `wandb` (it only logs)."
    import subprocess, tempfile, types
    root = Path(path)
    if not (root / 'iaf').is_dir():                      # a git directory: extract `iaf/` at the pinned commit
        out = Path(tempfile.mkdtemp(prefix='fedinb-'))
        archive = ['git', '--git-dir', str(root), 'archive', '58c2827', 'iaf']
        tar = subprocess.run(archive, check=True, capture_output=True).stdout
        subprocess.run(['tar', 'x', '-C', str(out)], input=tar, check=True)
        root = out
    sys.modules.setdefault('wandb', types.ModuleType('wandb'))
    sys.path.insert(0, str(root))
    import iaf
    return iaf

def reference_fit(iaf, tr, seed, n_layers, k, rand):
    "fedinb's loop (its translation.py): `add_one_layer` n_layers times on all training points; returns the model."
    torch.manual_seed(seed)
    X = torch.cat(tr)
    y = torch.cat([torch.full((len(x),), c) for c, x in enumerate(tr)])
    model, z = iaf.IterAlignFlow(), X
    for _ in range(n_layers):
        model, z = iaf.add_one_layer(model, z, y, k, bary_type='nb', rand=rand)
    return model

def versus_reference(iaf, problems, n_layers=20, k=2):
    "Fit time and held-out mean pairwise W2², ours and the reference's, alternating, on each problem."
    rows = []
    for name, seed, tr, te in problems:
        for dirs in ('max-sliced', 'random'):
            for who in ('fedinb (reference)', 'otnb'):
                t0 = time.perf_counter()
                if who == 'otnb':
                    f = IterativeAlignmentFlow(n_layers, k, directions=dirs).fit(tr, seed=seed, progress=False)
                    t = time.perf_counter() - t0
                    zs = [f.transform(x, c) for c, x in enumerate(te)]
                else:
                    m = reference_fit(iaf, tr, seed, n_layers, k, rand=dirs == 'random')
                    t = time.perf_counter() - t0
                    with torch.no_grad(): zs = [m(x, torch.full((len(x),), c)) for c, x in enumerate(te)]
                rows.append(dict(data=name, directions=dirs, code=who, w2=pairwise(zs, exact_w2), fit=t))
    return rows

table0 = None
if args.fedinb:
    import warnings
    warnings.filterwarnings('ignore', message='torch.qr is deprecated')
    iaf = load_fedinb(args.fedinb)
    probs = []
    for s in range(args.n_seeds):
        Xtr, Xte, ytr, yte = three_gaussians_data(s)
        probs.append(('three 2D Gaussians, 4,000 training points', s, by_class(Xtr, ytr), by_class(Xte, yte)))
        pats, g = random_pattern(3, seed=s + 1, dim=8), make_generator(100 + s)
        n0 = 300 if args.quick else 1000
        probs.append((f'random patterns, d = 8, {3 * n0:,} training points', s,
                      [p.sample(n0, generator=g) for p in pats], [p.sample(n0, generator=g) for p in pats]))
    rows0 = versus_reference(iaf, probs, n_layers=3 if args.quick else 20)
    table0 = summarise(rows0, ['data', 'directions', 'code'], ['w2', 'fit'])
    print(f'against the reference done, {time.perf_counter() - t_start:.0f} s', flush=True)

# ---- 1. the reference's 2D demos --------------------------------------------------------------------------------------
rows = []
Xtr, Xte, ytr, yte = random_pattern_data()
rp = (by_class(Xtr, ytr), by_class(Xte, yte))
for s in range(args.n_seeds):
    rows += flow_rows('random pattern (K = 4)', *rp, seed=s)
    Xtr, Xte, ytr, yte = three_gaussians_data(s)
    rows += flow_rows('three Gaussians (K = 3)', by_class(Xtr, ytr), by_class(Xte, yte), seed=s)
    print(f'2D demos, seed {s} done, {time.perf_counter() - t_start:.0f} s', flush=True)
cols = ['ref', 'w2', 'cost', 'roundtrip', 'fit', 'per_layer']
table1 = summarise(rows, ['data', 'method'], cols)

# ---- 2. d = 8, k = 2 -------------------------------------------------------------------------------------------------
rows8 = []
n8 = 300 if args.quick else 1000
for s in range(args.n_seeds):
    pats = random_pattern(3, seed=s + 1, dim=8)
    g = make_generator(100 + s)
    tr, te = [p.sample(n8, generator=g) for p in pats], [p.sample(n8, generator=g) for p in pats]
    mw2 = lambda zs: pairwise(zs, exact_w2)
    rows8.append(dict(method='no alignment', w2=mw2(te)))
    rows8.append(dict(method='floor (two samples of class 0)', w2=exact_w2(pats[0].sample(n8, generator=g), pats[0].sample(n8, generator=g))))
    rows8.append(dict(method='Gaussian barycenter', w2=mw2([x @ A.T + b for x, (A, b) in zip(te, gaussian_barycenter_maps(tr))])))
    naive = IterativeAlignmentFlow(1, 8, directions='identity').fit(tr, seed=s, progress=False)
    rows8.append(dict(method='one naive layer (axes)', w2=mw2([naive.transform(x, c) for c, x in enumerate(te)])))
    for dirs in ('max-sliced', 'random'):
        t0 = time.perf_counter(); f = IterativeAlignmentFlow(20, 2, directions=dirs).fit(tr, seed=s, progress=False); t = time.perf_counter() - t0
        for L in (5, 20):
            rows8.append(dict(method=f'{dirs} directions, {L} layers', w2=mw2([f.transform(x, c, layers=L) for c, x in enumerate(te)]), fit=t))
    print(f'd = 8, seed {s} done, {time.perf_counter() - t_start:.0f} s', flush=True)
table2 = summarise(rows8, ['method'], ['w2', 'fit'])

# ---- 3. digits 0, 6, 9 -----------------------------------------------------------------------------------------------
from scipy.stats import norm
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.model_selection import cross_val_score
digits = load_digits()
rows_d = []
for s in range(args.n_seeds):
    rng = np.random.default_rng(s)
    xs, tr_idx = [], []
    for c in (0, 6, 9):
        idx = rng.permutation(np.flatnonzero(digits.target == c)); tr_idx.append(idx[:120])
        v = digits.data[idx]
        xs.append(torch.tensor(norm.ppf((v + rng.random(v.shape)) / 17), dtype=torch.float32))
    tr, te = [x[:120] for x in xs], [x[120:] for x in xs]
    is_train = np.isin(np.arange(len(digits.data)), np.concatenate(tr_idx)) | ~np.isin(digits.target, (0, 6, 9))
    reader = LogisticRegression(max_iter=5000).fit(digits.data[is_train], digits.target[is_train])
    def recover(zs, clf):
        Z, lab = torch.cat(zs).detach().numpy(), np.concatenate([np.full(len(z), c) for c, z in enumerate(zs)])
        return cross_val_score(clf, Z, lab, cv=5).mean()
    maps = gaussian_barycenter_maps(tr)
    gauss_translate = lambda x, a, b: torch.linalg.solve(maps[b][0], (x @ maps[a][0].T + maps[a][1] - maps[b][1]).T).T
    lats = {'no alignment': (te, None), 'Gaussian barycenter': ([x @ A.T + b for x, (A, b) in zip(te, maps)], gauss_translate)}
    for dirs in ('max-sliced', 'random'):
        f = IterativeAlignmentFlow(args.n_layers, 8, directions=dirs).fit(tr, seed=s, progress=False)
        lats[f'{dirs} directions, {args.n_layers} layers, k = 8'] = ([f.transform(x, c) for c, x in enumerate(te)], f.translate)
    img = lambda z: np.clip(np.round(norm.cdf(z.detach().numpy()) * 17 - 0.5), 0, 16)
    for name, (zs, translate) in lats.items():
        row = dict(method=name, logistic=recover(zs, LogisticRegression(max_iter=2000, C=0.1)), knn=recover(zs, KNeighborsClassifier(15)))
        if translate is not None:
            row['read'] = float(np.mean([(reader.predict(img(translate(te[a], a, b))) == (0, 6, 9)[b]).mean()
                                         for a in range(3) for b in range(3) if a != b]))
        rows_d.append(row)
    print(f'digits, seed {s} done, {time.perf_counter() - t_start:.0f} s', flush=True)
table3 = summarise(rows_d, ['method'], ['logistic', 'knn', 'read'])

section0 = f"""
## 0. Against the reference code, in this run, on the same data

The reference: the PyTorch implementation of IAF in inouye-lab/fedinb (commit 58c2827, `iaf/`, a stub for wandb), fitted
as its `translation.py` does (`add_one_layer` on all training points, 20 layers, k = 2). Both run alternately on one
thread, on the same training points. `w2`: mean pairwise exact W2² between the classes' held-out latent samples (lower is
better aligned). `fit`: seconds.

{markdown_table(table0, ['data', 'directions', 'code', 'w2', 'fit'])}
""" if table0 is not None else "\n(Section 0, against the reference code, was skipped: no --fedinb.)\n"

body = f"""Seeds: {args.n_seeds}; {args.n_layers} layers; mean ± SE over seeds. Total run time {time.perf_counter() - t_start:.0f} s.
{section0}
## 1. The reference's 2D demos (held-out third)

`ref`: the reference's metric (Sinkhorn plan cost, eps = 0.1, loose stopping, pairs of classes truncated to the smallest).
Its published values, 30 layers, k = 2: random pattern 0.084, three Gaussians 0.025. `w2`: exact W2² on the same points.
`cost`: E|x - f_c(x)|² on held-out points (reference, random pattern: IAF 9.51, naive barycenter 9.08).
`roundtrip`: max |f_c⁻¹(f_c(x)) - x| over held-out points and points up to 3 widths outside (float32). `fit`, `per_layer`: seconds, one CPU thread.
The floor rows compare two independent samples of one class (its held-out points against as many training points), averaged
over classes: what the metrics read for two samples of one law at this size. The last row of each block is the reference's
metric between a held-out class and itself: the entropic blur alone. The original IAF code cannot run here (its `ddl`
dependency is a git submodule missing from the snapshot), so its numbers are quoted; section 0 runs its PyTorch port. Our implementation of its
metric reproduces its `SinkhornDistance` to 6 digits on the same points (checked in a scratch run against its file).

{markdown_table(table1, ['data', 'method'] + cols)}

## 2. d = 8, k = 2: three random patterns of Gaussian blobs, {n8} points per class

Mean pairwise exact W2² between held-out latent samples.

{markdown_table(table2, ['method', 'w2', 'fit'])}

## 3. Digits 0, 6 and 9 (d = 64, k = 8, 120 training images per class)

`logistic`, `knn`: 5-fold accuracy at telling the three classes apart from held-out latent codes (chance 0.33; lower is
better aligned). `read`: the fraction of translations (all six ordered pairs) that a logistic digit reader, trained on
real images, reads as the target digit.

{markdown_table(table3, ['method', 'logistic', 'knn', 'read'])}
"""
print(body)
if not args.quick: print('saved', write_result('alignment', 'Iterative alignment flows', body))
