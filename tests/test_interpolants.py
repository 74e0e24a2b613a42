"""Multimarginal interpolants: bad input, devices, save/load."""
import torch, pytest
from otnb.core import make_generator
from otnb.data import moons, eight_gaussians
from otnb.interpolants import MultimarginalInterpolant, gaussian_fields, edge, FourierPath, velocity, polyline

def small(**kw): return MultimarginalInterpolant(2, n_marginals=2, width=16, depth=1, **kw)

def test_bad_input():
    m = small()
    with pytest.raises(ValueError, match=r'alpha must have shape \(3,\)'): m.g(torch.ones(2) / 2, torch.zeros(4, 2))
    with pytest.raises(ValueError, match=r'x must have dimension d=2'): m.transport(torch.zeros(4, 3), (0, 1))
    with pytest.raises(ValueError, match='j must be a vertex index'): m.transport(torch.zeros(4, 2), (0, 5))
    with pytest.raises(TypeError, match='path must be a pair'): m.transport(torch.zeros(4, 2), 'edge')
    with pytest.raises(ValueError, match='samplers must have one entry per data marginal'): m.fit([moons], n_steps=1)
    with pytest.raises(ValueError, match=r'edge_prob must be in \[0, 1\]'): m.fit([moons, moons], n_steps=1, edge_prob=2.0)
    with pytest.raises(ValueError, match='samplers\\[1\\] contains NaN'): m.fit([moons, torch.full((5, 2), float('nan'))], n_steps=1)
    with pytest.raises(ValueError, match='score needs alpha_0 > 0'): m.score(torch.tensor([0., .5, .5]), torch.zeros(3, 2))
    with pytest.raises(ValueError, match='score needs gaussian_base=True'): small(gaussian_base=False).score(torch.tensor([.5, .5]), torch.zeros(3, 2))
    with pytest.raises(ValueError, match='i and j must be different'): FourierPath(1, 1, 3)
    with pytest.raises(ValueError, match="coupling must be 'independent'"): m.fit([moons, moons], n_steps=1, coupling='sinkhorn')
    with pytest.raises(ValueError, match='equal row counts'): m.fit([torch.zeros(5, 2), torch.zeros(6, 2)], n_steps=1, coupling='paired')
    with pytest.raises(ValueError, match='samplers must be None'): m.fit([moons, moons], n_steps=1, coupling=lambda n, generator: torch.zeros(n, 2, 2))
    with pytest.raises(ValueError, match=r'must return a tensor of shape \(4, 2, d\)'): m.fit(None, n_steps=1, batch_size=4, coupling=lambda n, generator: torch.zeros(n, 2))
    with pytest.raises(ValueError, match='samplers must produce dimension 2'): m.fit([torch.zeros(5, 3), torch.zeros(5, 3)], n_steps=1, coupling='paired')
    with pytest.raises(ValueError, match='points must lie on the simplex'): polyline(torch.tensor([[2., -1., 0.], [0., 0., 1.]]))
    with pytest.raises(ValueError, match='covs must have one matrix per mean'): gaussian_fields(torch.zeros(3, 2), torch.eye(2).expand(2, 2, 2))

def test_fit_transport_on_device(device):
    m = small().to(device)
    data = eight_gaussians(200, device=device)
    m.fit([moons, data], n_steps=5, batch_size=16, progress=False)
    y = m.transport(torch.randn(8, 2, device=device), (0, 2), n_steps=4)
    assert y.device.type == device.type and y.shape == (8, 2)
    s = m.sample_sde(torch.randn(8, 2, device=device), (0, 1), n_steps=4, seed=0)
    assert s.device.type == device.type and torch.isfinite(s).all()
    assert m.path_cost(torch.randn(8, 2, device=device), (0, 1), n_steps=4).device.type == device.type
    assert len(m.history['loss']) == 5

@pytest.mark.parametrize('coupling', ['ot', 'paired', 'joint'])
def test_couplings(device, coupling):
    m = small().to(device)
    a = moons(64, device=device)
    if coupling == 'joint':
        def joint(n, generator=None):
            x = torch.randn(n, 2, generator=generator, device=generator.device if generator is not None else device).to(device)
            return torch.stack([x, 2 * x], 1)
        m.fit(None, coupling=joint, n_steps=3, batch_size=16, progress=False)
    else:
        m.fit([a, a + 1], coupling=coupling, n_steps=3, batch_size=16, progress=False)
    assert len(m.history['loss']) == 3 and all(map(lambda v: v == v, m.history['loss']))
    path = m.optimize_path(1, 2, n_steps=2, batch=8, n_t=2)                    # uses the fitted coupling
    assert m.path_cost(a[:8], path, n_steps=4).device.type == device.type

def test_same_seed_same_fit():
    def run():
        torch.manual_seed(0)
        return small().fit([moons, eight_gaussians], n_steps=5, batch_size=16, progress=False, seed=3).history['loss']
    assert run() == run()

def test_save_load(tmp_path):
    m = small().fit([moons, eight_gaussians], n_steps=3, batch_size=8, progress=False)
    m.save(tmp_path / 'mi.pt')
    m2 = MultimarginalInterpolant.from_checkpoint(tmp_path / 'mi.pt')
    x, a = torch.randn(5, 2), torch.tensor([0.2, 0.3, 0.5])
    with torch.no_grad(): assert torch.equal(m.g(a, x), m2.g(a, x))

def test_vertex_and_identity():
    m = small()
    x = torch.randn(6, 2)
    with torch.no_grad():
        assert torch.allclose(m.g(torch.tensor([0., 1., 0.]), x)[:, 1], x, atol=1e-5)
    a, da = velocity(edge(2, 0, 3), torch.tensor([0.3]))
    assert torch.allclose(da, torch.tensor([[1., 0., -1.]]))
