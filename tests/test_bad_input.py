"""Bad input gets a clear ValueError/TypeError that names the argument."""
import math
import pytest, torch
from otnb.core import check_samples, check_positive, make_generator
from otnb.data import Gaussian, GaussianMixture, as_sampler, random_spd, moons, brenier_pair, RidgeMap
from otnb.gaussian import gaussian_w2, gaussian_ot_map, gaussian_entropic_plan, gaussian_sb_marginal
from otnb.metrics import w2, ot_pairing, sinkhorn_divergence, sliced_w2, mmd, energy_distance, l2_uvp
from otnb.integrate import odeint, sdeint
from otnb.nets import MLP, TimeMLP
from otnb.train import train, EMA

I2, z2 = torch.eye(2), torch.zeros(2)
nan_x = torch.tensor([[0., float('nan')], [1., 1.]])

@pytest.mark.parametrize("fn", [w2, ot_pairing, sinkhorn_divergence, sliced_w2, mmd, energy_distance])
class TestMetricInputs:
    def test_mismatched_dims(self, fn):
        with pytest.raises(ValueError, match='x and y must have the same dimension'): fn(torch.zeros(5, 2), torch.zeros(5, 3))
    def test_nan(self, fn):
        with pytest.raises(ValueError, match='x contains NaN'): fn(nan_x, torch.zeros(5, 2))
    def test_empty(self, fn):
        with pytest.raises(ValueError, match='y must contain at least 1'): fn(torch.zeros(5, 2), torch.zeros(0, 2))
    def test_wrong_rank(self, fn):
        with pytest.raises(ValueError, match=r'x must have shape \(n, d\)'): fn(torch.zeros(5), torch.zeros(5, 1))

@pytest.mark.parametrize('fn', [gaussian_w2, gaussian_ot_map, lambda *a: gaussian_entropic_plan(*a, eps=1.0),
                                lambda *a: gaussian_sb_marginal(*a, sigma=1.0, t=0.5)])
class TestGaussianInputs:
    def test_non_spd(self, fn):
        with pytest.raises(ValueError, match='S0 must be positive definite'): fn(z2, torch.tensor([[1., 2.], [2., 1.]]), z2, I2)
    def test_nonsymmetric(self, fn):
        with pytest.raises(ValueError, match='S1 must be symmetric'): fn(z2, I2, z2, torch.tensor([[1., .5], [0., 1.]]))
    def test_mismatched_dims(self, fn):
        with pytest.raises(ValueError, match='S1 must have shape'): fn(z2, I2, z2, torch.eye(3))
    def test_nan_mean(self, fn):
        with pytest.raises(ValueError, match='m1 contains NaN'): fn(z2, I2, torch.tensor([0., float('nan')]), I2)

@pytest.mark.parametrize('eps', [0.0, -1.0, float('nan'), float('inf')])
def test_bad_eps(eps):
    with pytest.raises(ValueError, match='eps must be > 0'): gaussian_entropic_plan(z2, I2, z2, I2, eps)
    with pytest.raises(ValueError, match='eps must be > 0'): sinkhorn_divergence(torch.zeros(3, 2), torch.ones(3, 2), eps)

def test_eps_type():
    with pytest.raises(TypeError, match='eps must be a number'): gaussian_entropic_plan(z2, I2, z2, I2, '1')

def test_sb_time_range():
    with pytest.raises(ValueError, match=r't must lie in \[0, T'): gaussian_sb_marginal(z2, I2, z2, I2, 1.0, 1.5)
    with pytest.raises(ValueError, match='sigma must be > 0'): gaussian_sb_marginal(z2, I2, z2, I2, 0.0, 0.5)

def test_distributions():
    with pytest.raises(ValueError, match='cov must have shape'): Gaussian(z2, torch.eye(3))
    with pytest.raises(ValueError, match='weights must be positive'): GaussianMixture(torch.zeros(2, 2), 1.0, weights=torch.tensor([1., -1.]))
    with pytest.raises(ValueError, match='n must be >= 0'): Gaussian(z2, I2).sample(-3)
    with pytest.raises(ValueError, match='match_moments needs n > d'): Gaussian(z2, I2).sample(2, match_moments=True)
    with pytest.raises(ValueError, match='cond must be >= 1'): random_spd(3, cond=0.5)

def test_samplers():
    with pytest.raises(ValueError, match='sample_p must contain at least 1'): as_sampler(torch.zeros(0, 2), 'sample_p')
    with pytest.raises(ValueError, match='sample_p contains NaN'): as_sampler(nan_x, 'sample_p')
    with pytest.raises(TypeError, match='sample_p must be a callable'): as_sampler(3, 'sample_p')
    with pytest.raises(ValueError, match=r'must return a tensor of shape \(4, d\)'): as_sampler(lambda n: torch.zeros(n + 1, 2))(4)

def test_nets_and_integrators():
    with pytest.raises(ValueError, match='act must be one of'): MLP(2, 2, act='nope')
    with pytest.raises(ValueError, match='depth must be >= 0'): MLP(2, 2, depth=-1)
    with pytest.raises(ValueError, match=r'x must have shape \(n, 2\)'): TimeMLP(2)(0.0, torch.zeros(4, 3))
    with pytest.raises(ValueError, match='method must be one of'): odeint(lambda t, x: x, torch.zeros(2, 2), method='nope')
    with pytest.raises(TypeError, match='x0 must be a torch.Tensor'): odeint(lambda t, x: x, [[0.0]])
    with pytest.raises(ValueError, match='t1 must be greater than t0'): sdeint(lambda t, x: -x, 1.0, torch.zeros(2, 2), t0=1.0, t1=0.5)

def test_training():
    net = torch.nn.Linear(2, 1)
    with pytest.raises(ValueError, match='lr must be > 0'): train(lambda: net.weight.sum(), net, 3, lr=0.0)
    with pytest.raises(ValueError, match='grad_clip must be > 0'): train(lambda: net.weight.sum(), net, 3, grad_clip=-1.0)
    with pytest.raises(ValueError, match='decay must be in'): EMA(net, decay=1.5)
    with pytest.raises(FloatingPointError, match='loss is nan at step 0'):
        train(lambda: net.weight.sum() * float('nan'), net, 3, progress=False)

def test_l2_uvp_constant_target():
    with pytest.raises(ValueError, match='positive variance'): l2_uvp(torch.zeros(4, 2), torch.ones(4, 2))

@pytest.mark.parametrize('kwargs, name', [(dict(dim=0), 'dim'), (dict(dim=2, n_modes=0), 'n_modes'), (dict(dim=2, var=-1.), 'var'),
                                          (dict(dim=2, strength=0.), 'strength'), (dict(dim=2, n_ridges=1.5), 'n_ridges')])
def test_brenier_pair_bad_input(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name): brenier_pair(**kwargs)

def test_ridge_map_wrong_dim():
    with pytest.raises(ValueError, match='x'): RidgeMap(3)(torch.zeros(4, 2))
