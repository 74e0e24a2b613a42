"""Multimarginal interpolants: bad input, couplings, reproducibility, save/load, inputs as users hold them."""
import numpy as np
import torch, pytest
from otnb.core import make_generator
from otnb.data import moons, eight_gaussians
from otnb.metrics import w2
from otnb.interpolants import MultimarginalInterpolant, gaussian_fields, edge, FourierPath, velocity, polyline

def small(**kw): return MultimarginalInterpolant(2, n_marginals=2, width=16, depth=1, **kw)

def test_bad_input():
    m = small()
    with pytest.raises(ValueError, match=r'alpha must have shape \(3,\)'): m.g(torch.ones(2) / 2, torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r'x must have dimension d=2'): m.transport(torch.zeros(4, 3), (0, 1))
    with pytest.raises(ValueError, match=r'y must have dimension d=2'): m.inverse(torch.zeros(4, 3), (0, 1))
    with pytest.raises(ValueError, match='j must be a vertex index'): m.transport(torch.zeros(4, 2), (0, 5))
    with pytest.raises(TypeError, match='path must be a pair'): m.transport(torch.zeros(4, 2), 'edge')
    with pytest.raises(ValueError, match='marginals must have one entry per data marginal'): m.fit([moons], n_iters=1)
    with pytest.raises(ValueError, match=r'edge_prob must be in \[0, 1\]'): m.fit([moons, moons], n_iters=1, edge_prob=2.0)
    with pytest.raises(ValueError, match=r'marginals\[1\] contains NaN'): m.fit([moons, torch.full((5, 2), float('nan'))], n_iters=1)
    with pytest.raises(ValueError, match=r'marginals\[1\] must produce dimension 2, got 3'): m.fit([moons, torch.zeros(5, 3)], n_iters=1)
    with pytest.raises(ValueError, match='score needs alpha_0 > 0'): m.score(torch.tensor([0., .5, .5]), torch.zeros(3, 2))
    with pytest.raises(ValueError, match='score needs gaussian_base=True'): small(gaussian_base=False).score(torch.tensor([.5, .5]), torch.zeros(3, 2))
    with pytest.raises(ValueError, match='noise must be >= 0'): m.sample(torch.zeros(3, 2), (0, 1), noise=-1.)
    with pytest.raises(ValueError, match='i and j must be different'): FourierPath(1, 1, 3)
    with pytest.raises(ValueError, match='via must be a vertex other than i and j'): FourierPath(1, 2, 3, via=2)
    with pytest.raises(ValueError, match=r'via_weight must be in \(0, 1\)'): FourierPath(1, 2, 3, via=0, via_weight=1.)
    with pytest.raises(ValueError, match="coupling must be 'independent'"): m.fit([moons, moons], n_iters=1, coupling='sinkhorn')
    with pytest.raises(ValueError, match='equal row counts'): m.fit([torch.zeros(5, 2), torch.zeros(6, 2)], n_iters=1, coupling='paired')
    with pytest.raises(ValueError, match=r'marginals\[0\] must have dimension d=2'): m.fit([torch.zeros(5, 3), torch.zeros(5, 3)], n_iters=1, coupling='paired')
    with pytest.raises(ValueError, match='marginals must be None'): m.fit([moons, moons], n_iters=1, coupling=lambda n, generator: torch.zeros(n, 2, 2))
    with pytest.raises(ValueError, match=r'must return a tensor of shape \(4, 2, 2\)'): m.fit(None, n_iters=1, batch_size=4, coupling=lambda n, generator: torch.zeros(n, 2))
    with pytest.raises(ValueError, match='points must lie on the simplex'): polyline(torch.tensor([[2., -1., 0.], [0., 0., 1.]]))
    with pytest.raises(ValueError, match='covs must have one matrix per mean'): gaussian_fields(torch.zeros(3, 2), torch.eye(2).expand(2, 2, 2))
    with pytest.raises(ValueError, match='marginals are needed'): small().optimize_path(1, 2, n_iters=1)

@pytest.mark.parametrize('coupling', ['independent', 'ot', 'paired', 'joint'])
def test_couplings_are_what_fit_trains_on(coupling):
    m = small()
    a = moons(64, generator=make_generator(0))
    if coupling == 'joint':
        def joint(n, generator=None):
            x = torch.randn(n, 2, generator=generator)
            return torch.stack([x, 2 * x], 1)
        m.fit(None, coupling=joint, n_iters=3, batch_size=16, progress=False)
    else:
        m.fit([a, a + 1] if coupling == 'paired' else [a, eight_gaussians(64)], coupling=coupling, n_iters=3, batch_size=16, progress=False)
    assert len(m.history['loss']) == 3
    xk = m._coupled(32, make_generator(1))                               # the draws fit used: (n, K, d)
    if coupling == 'paired': torch.testing.assert_close(xk[:, 1], xk[:, 0] + 1)
    if coupling == 'joint': torch.testing.assert_close(xk[:, 1], 2 * xk[:, 0])
    if coupling == 'ot':                                                 # the pairs are an exact OT coupling of the batch
        torch.testing.assert_close(((xk[:, 0] - xk[:, 1]) ** 2).sum(1).mean(), w2(xk[:, 0], xk[:, 1]), rtol=1e-5, atol=1e-6)
    if coupling == 'independent':
        assert ((xk[:, 0] - xk[:, 1]) ** 2).sum(1).mean() > 1.2 * w2(xk[:, 0], xk[:, 1])
    path = m.optimize_path(1, 2, n_iters=2, batch_size=8, n_time_steps=2)      # uses the fitted coupling
    assert torch.isfinite(m.transport_cost(a[:8], path))

def test_same_seed_same_fit():
    def run():
        torch.manual_seed(0)
        return small().fit([moons, eight_gaussians], n_iters=5, batch_size=16, progress=False, seed=3).history['loss']
    assert run() == run()

def test_save_load(tmp_path):
    m = small().fit([moons, eight_gaussians], n_iters=3, batch_size=8, progress=False)
    m.save(tmp_path / 'mi.pt')
    m2 = MultimarginalInterpolant.from_checkpoint(tmp_path / 'mi.pt')
    x, a = torch.randn(5, 2), torch.tensor([0.2, 0.3, 0.5])
    with torch.no_grad(): assert torch.equal(m.g(a, x), m2.g(a, x))
    assert m2.history == m.history and m2.n_time_steps == m.n_time_steps

def test_inputs_as_users_hold_them():
    m = small(n_time_steps=4)
    x = torch.randn(6, 2)
    for given in (x.double(), x.numpy().astype(np.float64), x.numpy(), x.tolist()):
        for y in (m.transport(given, (0, 1)), m.inverse(given, (0, 1)), m.sample(given, (0, 1), n_time_steps=4, seed=0),
                  m.score(np.array([0.5, 0.25, 0.25]), given)):
            assert y.dtype == torch.float32 and y.device == m.device
        torch.testing.assert_close(m.transport(given, (0, 1)), m.transport(x, (0, 1)))
    m64 = small(n_time_steps=4).double()
    assert m64.transport(x, (0, 1)).dtype == torch.float64                 # the estimator's dtype decides
    m64.fit([moons, eight_gaussians(50).numpy()], n_iters=2, batch_size=8, progress=False)

def test_vertex_and_identity():
    m = small()
    x = torch.randn(6, 2)
    with torch.no_grad():
        assert torch.allclose(m.g(torch.tensor([0., 1., 0.]), x)[:, 1], x, atol=1e-5)
    a, da = velocity(edge(2, 0, 3), torch.tensor([0.3]))
    assert torch.allclose(da, torch.tensor([[1., 0., -1.]]))
