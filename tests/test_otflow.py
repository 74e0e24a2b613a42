"""OT flow: bad input, devices, reproducibility, save/load."""
import torch, pytest
from otnb.data import moons, checkerboard, Gaussian
from otnb.otflow import OTFlow, kinetic

def small(**kw): return OTFlow(2, width=16, depth=1, n_time_steps=4, **kw)

def test_bad_input():
    f = small()
    with pytest.raises(ValueError, match='gamma must be'): OTFlow(2, gamma=-1.)
    with pytest.raises(ValueError, match='n_time_steps must be'): OTFlow(2, n_time_steps=0)
    with pytest.raises(ValueError, match=r'x must have dimension d=2'): f.transport(torch.zeros(4, 3))
    with pytest.raises(ValueError, match='y contains NaN'): f.inverse(torch.tensor([[0., float('nan')]]))
    with pytest.raises(ValueError, match="coupling must be 'ot' or 'independent'"): f.fit_init(moons, checkerboard, n_steps=1, coupling='sinkhorn')
    with pytest.raises(ValueError, match='sample_q must produce dimension 2'): f.fit_init(moons, torch.zeros(10, 3), n_steps=1, progress=False)
    with pytest.raises(ValueError, match='sample_p must contain at least 1'): f.fit_init(torch.zeros(0, 2), moons, n_steps=1, progress=False)
    with pytest.raises(ValueError, match='the time score is not fitted'): f.log_density_ratio(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="method must be 'time_score' or 'divergence'"): f.log_density_ratio(torch.zeros(3, 2), method='kde')
    with pytest.raises(ValueError, match='exactly one of log_p and log_q'): f.log_density_ratio(torch.zeros(3, 2), method='divergence')
    with pytest.raises(ValueError, match='n_rounds must be'): f.refine(moons, checkerboard, n_rounds=-1)
    with pytest.raises(ValueError, match='at least 2 time points'): kinetic(torch.zeros(1, 4, 2))

def test_all_stages_on_device(device):
    f = small().to(device)
    p, q = moons(64, device=device), checkerboard(64, device=device)
    f.fit(p, q, init_steps=3, n_rounds=1, ratio_steps=2, progress=False)
    for key in ('init', 'classifier_p', 'refine_p', 'classifier_q', 'refine_q', 'ratio'): assert f.history[key], key
    x = torch.randn(8, 2, device=device)
    for y in (f.transport(x), f.inverse(x), f.log_density_ratio(x),
              f.log_density_ratio(x, method='divergence', log_p=lambda z: -(z ** 2).sum(1) / 2),
              f.log_density_ratio(x, method='divergence', log_q=lambda z: -(z ** 2).sum(1) / 2, div='hutchinson')):
        assert y.device.type == device.type and torch.isfinite(y).all()
    assert f.transport(x, return_path=True).shape == (5, 8, 2)

def test_same_seed_same_fit():
    def run():
        torch.manual_seed(0)
        return small().fit(moons, checkerboard, init_steps=4, n_rounds=1, progress=False, seed=2).history
    a, b = run(), run()
    assert a == b

def test_save_load(tmp_path):
    f = small().fit(moons, checkerboard, init_steps=3, n_rounds=0, ratio_steps=2, progress=False)
    f.save(tmp_path / 'f.pt')
    g = OTFlow.from_checkpoint(tmp_path / 'f.pt')
    x = torch.randn(5, 2)
    assert torch.equal(f.transport(x), g.transport(x))
    assert torch.equal(f.log_density_ratio(x), g.log_density_ratio(x))

def test_divergence_route_exact_for_a_known_flow():
    # f(t, x) = x: T(x) = e·x, so Q = N(0, e² I) when P = N(0, I); the divergence route must recover log q/p exactly (up to RK4)
    f = OTFlow(2, net=lambda t, x: x, n_time_steps=50)
    P, Q = Gaussian(torch.zeros(2), torch.eye(2)), Gaussian(torch.zeros(2), torch.e ** 2 * torch.eye(2))
    x = torch.randn(10, 2)
    truth = Q.log_prob(x) - P.log_prob(x)
    assert torch.allclose(f.log_density_ratio(x, method='divergence', log_q=Q.log_prob), truth, atol=1e-4)
    assert torch.allclose(f.log_density_ratio(x, method='divergence', log_p=P.log_prob), truth, atol=1e-4)
