"""Iterative alignment flows: bad input, unequal sizes and weights, reproducibility, exact inverses, save/load, inputs as users hold them."""
import math
import numpy as np
import torch, pytest
from otnb.core import make_generator
from otnb.data import random_pattern
from otnb.alignment import (IterativeAlignmentFlow, barycenter_1d, quantiles, sliced_discrepancy, max_sliced_directions,
                            gaussian_barycenter, gaussian_barycenter_maps)

def classes(sizes=(40, 60, 30), dim=2, seed=0, dtype=torch.float32):
    g = make_generator(seed)
    return [p.sample(n, generator=g).to(dtype) for p, n in zip(random_pattern(len(sizes), seed=seed, dim=dim), sizes)]

def small(**kw): return IterativeAlignmentFlow(kw.pop('n_layers', 3), kw.pop('n_directions', 1), n_iters=kw.pop('n_iters', 10), **kw)

def test_bad_input():
    xs = classes()
    with pytest.raises(TypeError, match='classes must be a list of K tensors'): small().fit(torch.cat(xs))
    with pytest.raises(ValueError, match='K >= 2'): small().fit(xs[:1])
    with pytest.raises(ValueError, match=r'classes\[1\] has dimension 3'): small().fit([xs[0], torch.zeros(10, 3)])
    with pytest.raises(ValueError, match=r'classes\[2\] contains NaN'): small().fit([xs[0], xs[1], torch.full((8, 2), math.nan)])
    with pytest.raises(ValueError, match=r'classes\[1\] must contain at least 4'): small().fit([xs[0], xs[1][:3]])
    with pytest.raises(ValueError, match='n_directions must be <= d = 2'): small(n_directions=3).fit(xs)
    with pytest.raises(ValueError, match="directions='identity' needs n_directions = d"): small(directions='identity').fit(xs)
    with pytest.raises(ValueError, match=r'weights must have shape \(3,\)'): small().fit(xs, weights=[0.5, 0.5])
    with pytest.raises(ValueError, match='weights must be finite and > 0'): small().fit(xs, weights=[0.5, 0.6, -0.1])
    with pytest.raises(ValueError, match="maps must be 'quantile' or 'gaussian'"): IterativeAlignmentFlow(maps='histogram')
    with pytest.raises(ValueError, match="directions must be 'max-sliced'"): IterativeAlignmentFlow(directions='pca')
    with pytest.raises(ValueError, match='n_layers must be >= 1'): IterativeAlignmentFlow(0)
    with pytest.raises(ValueError, match='min_gap must be > 0'): IterativeAlignmentFlow(min_gap=0)
    with pytest.raises(ValueError, match=r'IterativeAlignmentFlow.transform needs the model fitted: call fit\(classes\)'): small().transform(xs[0], 0)
    f = small().fit(xs, seed=0, progress=False)
    with pytest.raises(ValueError, match=r'c must be a class index in \[0, 3\)'): f.transform(xs[0], 3)
    with pytest.raises(TypeError, match='c must be an int or an integer tensor'): f.transform(xs[0], 1.0)
    with pytest.raises(ValueError, match=r'c must be an int or an integer tensor of shape \(40,\)'): f.transform(xs[0], torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match='x must have dimension d=2'): f.transform(torch.zeros(4, 3), 0)
    with pytest.raises(ValueError, match='z contains NaN'): f.inverse(torch.tensor([[0., math.nan]]), 0)
    with pytest.raises(ValueError, match=r'layers must be an int in \[0, 3\]'): f.transform(xs[0], 0, layers=4)
    with pytest.raises(ValueError, match='levels must be a non-empty vector'): quantiles([torch.zeros(3), torch.ones(4)], [0.5, 1.5])
    with pytest.raises(ValueError, match=r'directions must have shape \(2, k\)'): sliced_discrepancy(xs, torch.eye(3))

def test_unequal_sizes_weights_and_the_history():
    xs = classes((50, 120, 31))
    f = small(n_layers=4).fit(xs, weights=[0.2, 0.3, 0.5], seed=0, progress=False)
    assert len(f.history['discrepancy']) == len(f.history['after']) == 4
    torch.testing.assert_close(f.weights, torch.tensor([0.2, 0.3, 0.5]))
    # the first layer removes most of what it finds, along its own directions
    assert f.history['after'][0] < 0.2 * f.history['discrepancy'][0]
    # the weighted 1D barycenter is the weighted average of the quantile functions, on the union grid
    a, b = torch.randn(3, dtype=torch.float64), torch.randn(5, dtype=torch.float64) + 2
    sup, mass = barycenter_1d([a, b], weights=[0.25, 0.75])
    assert len(sup) == 7 and math.isclose(mass.sum().item(), 1.0)                  # breakpoints {1/3, 2/3, 1} ∪ {1/5, ..., 1}
    mids = (torch.cumsum(mass, 0) - mass / 2).numpy()
    q = quantiles([a, b], mids)
    torch.testing.assert_close(sup, 0.25 * q[0] + 0.75 * q[1])

def test_same_seed_same_flow():
    xs = classes()
    f1, f2 = (small().fit(xs, seed=3, progress=False) for _ in range(2))
    assert torch.equal(f1.frames, f2.frames) and torch.equal(f1.class_knots, f2.class_knots)
    assert not torch.equal(f1.frames, small().fit(xs, seed=4, progress=False).frames)

@pytest.mark.parametrize('maps', ['quantile', 'gaussian'])
@pytest.mark.parametrize('dtype, tol', [(torch.float32, 1e-5), (torch.float64, 1e-10)])
def test_exact_inverse_far_from_the_data(maps, dtype, tol):
    xs = classes((80, 60, 70), dim=3, dtype=dtype)
    f = IterativeAlignmentFlow(6, 2, maps=maps, n_iters=20).fit(xs, seed=0, progress=False)
    g = make_generator(1)
    lo, hi = torch.cat(xs).amin(0), torch.cat(xs).amax(0)
    pts = lo - 3 * (hi - lo) + 7 * (hi - lo) * torch.rand(500, 3, generator=g, dtype=dtype)
    labels = torch.randint(0, 3, (500,), generator=g)                 # a batch that mixes the classes
    z = f.transform(pts, labels)
    assert z.dtype == dtype and (f.inverse(z, labels) - pts).abs().max() < tol
    for c in range(3):                                                 # row-wise classes agree with one class at a time
        m = labels == c
        torch.testing.assert_close(z[m], f.transform(pts[m], c))
    torch.testing.assert_close(f.translate(pts, 1, 1), pts, atol=tol, rtol=0)

def test_gaussian_maps_are_affine_and_match_two_moments():
    # two affine images of one law: after one layer of per-axis affine maps, the classes share means and spreads along
    # the axes, up to the sampling error of the half (200 points) that fitted the maps: SE of a mean σ/√200, 4 SE allowed
    g = make_generator(0)
    scale = [torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([3.0, 0.5], dtype=torch.float64)]
    xs = [torch.randn(400, 2, dtype=torch.float64, generator=g) * s + c for c, s in enumerate(scale)]
    f = IterativeAlignmentFlow(1, 2, maps='gaussian', directions='identity').fit(xs, seed=0, progress=False)
    zs = [f.transform(x, c) for c, x in enumerate(xs)]
    sd = torch.stack([z.std(0) for z in zs])
    assert ((zs[0].mean(0) - zs[1].mean(0)).abs() < 4 * sd.mean(0) * math.sqrt(2 / 200)).all()
    assert ((sd[0] / sd[1]).log().abs() < 4 * math.sqrt(2 / 200)).all()             # SE of log s ≈ 1/√(2n)
    u, v = xs[0][:5], xs[0][5:10]                                                     # affine: midpoints map to midpoints
    torch.testing.assert_close(f.transform((u + v) / 2, 0), (f.transform(u, 0) + f.transform(v, 0)) / 2)

def test_save_load_round_trip(tmp_path):
    xs = classes()
    f = small(maps='gaussian').fit(xs, seed=0, progress=False)
    f.save(tmp_path / 'iaf.pt')
    g = IterativeAlignmentFlow.from_checkpoint(tmp_path / 'iaf.pt')
    assert (g.dim, g.n_classes, g.n_layers, g.maps) == (2, 3, 3, 'gaussian') and g.history == f.history
    torch.testing.assert_close(g.transform(xs[1], 1), f.transform(xs[1], 1))
    h = IterativeAlignmentFlow().load(tmp_path / 'iaf.pt')                     # load sizes the buffers from the file
    torch.testing.assert_close(h.inverse(xs[2], 2), f.inverse(xs[2], 2))

def test_inputs_as_users_hold_them():
    xs = classes()
    f = small().fit([x.numpy() for x in xs], seed=0, progress=False)          # NumPy arrays
    g = small().fit([x.double() for x in xs], seed=0, progress=False)         # float64 fits a float64 flow
    assert f.frames.dtype == torch.float32 and g.frames.dtype == torch.float64
    assert f.transform(xs[0].double().numpy(), 0).dtype == torch.float32       # inputs cast to the flow's dtype
    assert f.transform(xs[0], np.zeros(len(xs[0]), dtype=np.int64)).shape == xs[0].shape

def test_max_sliced_direction_finds_the_separating_axis():
    g = make_generator(0)
    a = torch.randn(300, 5, generator=g); b = torch.randn(300, 5, generator=g); b[:, 3] += 3    # they differ along e_3 only
    W, D = max_sliced_directions([a, b], 2, seed=0)
    # the objective is the frame's sum, so the two columns may mix within the span; e_3 must lie in it
    assert W[3].norm() > 0.99 and D[0] > 10 * D[1] and (D[:-1] >= D[1:]).all()
    e = torch.zeros(5, 2); e[3, 0] = e[0, 1] = 1
    assert D.sum() >= sliced_discrepancy([a, b], e).sum()
    torch.testing.assert_close(W.T @ W, torch.eye(2), atol=1e-5, rtol=0)

def test_gaussian_barycenter_of_one_repeated_gaussian_is_itself():
    S = torch.tensor([[2.0, 0.3], [0.3, 0.5]], dtype=torch.float64)
    m, B = gaussian_barycenter(torch.ones(3, 2, dtype=torch.float64), S.expand(3, 2, 2), [0.1, 0.3, 0.6])
    torch.testing.assert_close(B, S); torch.testing.assert_close(m, torch.ones(2, dtype=torch.float64))
    maps = gaussian_barycenter_maps(classes())
    assert len(maps) == 3 and maps[0][0].shape == (2, 2)
