"""Tensors and modules follow the input device; the same seed gives the same result on a device."""
import torch, pytest
from otnb.core import make_generator, device_of
from otnb.data import Gaussian, GaussianMixture, TOYS_2D, as_sampler, random_spd, brenier_pair
from otnb.gaussian import gaussian_w2, gaussian_ot_map, gaussian_entropic_plan, gaussian_sb_marginal
from otnb.metrics import w2, sinkhorn_divergence, sliced_w2, mmd, energy_distance
from otnb.integrate import odeint, sdeint, odeint_logdet
from otnb.nets import TimeMLP, SimplexMLP
from otnb.train import train, EMA

@pytest.mark.parametrize('name', sorted(TOYS_2D))
def test_toys_on_device(device, name):
    g = make_generator(0, device)
    x = TOYS_2D[name](50, generator=g)
    assert x.device.type == device.type and x.shape == (50, 2)
    assert torch.equal(x, TOYS_2D[name](50, generator=make_generator(0, device)))
    assert TOYS_2D[name](5, device=device, dtype=torch.float64).dtype == torch.float64

def test_distributions_on_device(device):
    G = Gaussian(torch.zeros(3, device=device), random_spd(3, device=device))
    assert G.sample(7).device.type == device.type and G.log_prob(G.sample(7)).device.type == device.type
    M = GaussianMixture(torch.randn(2, 3, device=device), 0.5)
    assert M.sample(7, generator=make_generator(1, device)).device.type == device.type
    s = as_sampler(torch.randn(10, 2, device=device))
    assert s(4, generator=make_generator(0, device)).device.type == device.type
    P, Q, T = brenier_pair(3, device=device)
    y = Q(7, generator=make_generator(2, device))
    assert y.device.type == device.type and T.potential(y).device.type == device.type

def test_closed_forms_on_device(device):
    m, S = torch.zeros(2, device=device), torch.eye(2, device=device)
    for out in (gaussian_w2(m, S, m + 1, 2 * S), *gaussian_ot_map(m, S, m, S), *gaussian_entropic_plan(m, S, m, S, 1.0),
                *gaussian_sb_marginal(m, S, m, S, 1.0, 0.5)):
        assert out.device.type == device.type and out.dtype == torch.float32

def test_metrics_on_device(device):
    x, y = torch.randn(40, 2, device=device), torch.randn(30, 2, device=device) + 1
    for f in (w2, sinkhorn_divergence, sliced_w2, mmd, energy_distance):
        assert f(x, y).device.type == device.type

def test_integrators_and_nets_on_device(device):
    f = TimeMLP(2, width=16).to(device)
    x0 = torch.randn(8, 2, device=device)
    assert odeint(f, x0, n_steps=4).device.type == device.type
    assert sdeint(f, 0.1, x0, n_steps=4, seed=0).device.type == device.type
    xT, ld = odeint_logdet(f, x0, n_steps=4, div='hutchinson', seed=0)
    assert xT.device.type == device.type and ld.device.type == device.type
    h = SimplexMLP(3, 2).to(device)
    assert h(torch.tensor([0.2, 0.3, 0.5], device=device), x0).device.type == device.type
    assert device_of(f).type == device.type

def test_train_on_device_is_reproducible(device):
    data = torch.randn(64, 3, device=device)
    def run():
        torch.manual_seed(0)
        net = torch.nn.Linear(2, 1).to(device)
        ema = EMA(net)
        hist = train(lambda b: ((net(b[:, :2]) - b[:, 2:]) ** 2).mean(), net, 20, samplers=[data], batch_size=16,
                     ema=ema, progress=False, generator=3)
        return hist, net.weight.detach()
    (h1, w1), (h2, w2_) = run(), run()
    assert h1 == h2 and torch.equal(w1, w2_) and w1.device.type == device.type
