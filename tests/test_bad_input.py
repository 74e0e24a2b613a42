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
    with pytest.raises(ValueError, match='source must contain at least 1'): as_sampler(torch.zeros(0, 2), 'source')
    with pytest.raises(ValueError, match='source contains NaN'): as_sampler(nan_x, 'source')
    with pytest.raises(TypeError, match='source must be a callable'): as_sampler(3, 'source')
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
        train(lambda: net.weight.sum() * float("nan"), net, 3, progress=False)

def test_l2_uvp_constant_target():
    with pytest.raises(ValueError, match='positive variance'): l2_uvp(torch.zeros(4, 2), torch.ones(4, 2))

@pytest.mark.parametrize('kwargs, name', [(dict(dim=0), 'dim'), (dict(dim=2, n_modes=0), 'n_modes'), (dict(dim=2, var=-1.), 'var'),
                                          (dict(dim=2, strength=0.), 'strength'), (dict(dim=2, n_ridges=1.5), 'n_ridges')])
def test_brenier_pair_bad_input(kwargs, name):
    with pytest.raises((ValueError, TypeError), match=name): brenier_pair(**kwargs)

def test_ridge_map_wrong_dim():
    with pytest.raises(ValueError, match='x'): RidgeMap(3)(torch.zeros(4, 2))

# ---- property-based: any wrong shape, any NaN, any bad hyperparameter, at every public verb -------------------------
from hypothesis import given, settings, strategies as st
import numpy as np
from otnb.core import check_int
from otnb.interpolants import MultimarginalInterpolant
from otnb.otflow import OTFlow

_mi = MultimarginalInterpolant(2, n_marginals=2, width=8, depth=1, n_time_steps=2)
_of = OTFlow(2, width=8, depth=1, n_time_steps=2)
VERBS = {'interpolant.transport': lambda x: _mi.transport(x, (0, 1)), 'interpolant.inverse': lambda x: _mi.inverse(x, (0, 1)),
         'interpolant.sample': lambda x: _mi.sample(x, (0, 1), n_time_steps=2), 'interpolant.transport_cost': lambda x: _mi.transport_cost(x, (0, 1)),
         'otflow.transport': _of.transport, 'otflow.inverse': _of.inverse, 'otflow.transport_cost': _of.transport_cost,
         'otflow.log_density_ratio': lambda x: _of.log_density_ratio(x, method='divergence', log_p=lambda z: -(z ** 2).sum(1))}

@pytest.mark.parametrize('verb', sorted(VERBS))
@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 6), d=st.integers(1, 5).filter(lambda d: d != 2), as_numpy=st.booleans())
def test_wrong_dimension_is_named(verb, n, d, as_numpy):
    x = np.zeros((n, d)) if as_numpy else torch.zeros(n, d)
    with pytest.raises(ValueError, match=r'(x|y) must have dimension d=2'): VERBS[verb](x)

@pytest.mark.parametrize('verb', sorted(VERBS))
@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 6), data=st.data(), bad=st.sampled_from([float('nan'), float('inf'), -float('inf')]))
def test_non_finite_input_is_named(verb, n, data, bad):
    x = torch.zeros(n, 2)
    x[data.draw(st.integers(0, n - 1)), data.draw(st.integers(0, 1))] = bad
    with pytest.raises(ValueError, match=r'(x|y) contains NaN or infinite values'): VERBS[verb](x)

@pytest.mark.parametrize('verb', sorted(VERBS))
@settings(max_examples=5, deadline=None)
@given(shape=st.sampled_from([(0, 2), (3,), (2, 2, 2)]))
def test_empty_or_wrong_rank_is_named(verb, shape):
    with pytest.raises(ValueError, match=r'(x|y) must (contain at least 1|have shape \(n, d\))'): VERBS[verb](torch.zeros(shape))

@settings(max_examples=30, deadline=None)
@given(v=st.one_of(st.floats(max_value=0.0), st.just(float('nan')), st.just(float('inf'))))
def test_bad_positive_hyperparameters_are_named(v):
    with pytest.raises(ValueError, match='eps must be > 0'): check_positive(v, 'eps')
    with pytest.raises(ValueError, match='lr must be > 0'): train(lambda: _of.net(0., torch.zeros(1, 2)).sum(), _of.net, 1, lr=v)

@settings(max_examples=20, deadline=None)
@given(v=st.one_of(st.integers(max_value=0), st.floats(allow_nan=False), st.booleans(), st.text(max_size=2)))
def test_bad_counts_are_named(v):
    with pytest.raises((ValueError, TypeError), match='n_iters must be'): check_int(v, 'n_iters')
    with pytest.raises((ValueError, TypeError), match='n_time_steps must be'): OTFlow(2, n_time_steps=v)


def _reported_cases():
    "The silent or unclear failures found by hand (issue 25): each must now raise a ValueError naming its argument."
    from otnb.otflow import OTFlow
    from otnb.dsb import DSB
    from otnb.interpolants import MultimarginalInterpolant
    from otnb.alignment import gaussian_barycenter, gaussian_barycenter_maps, sliced_discrepancy
    fl, tiny = OTFlow(2, width=8, depth=1), dict(width=8, depth=1)
    quiet = dict(progress=False)
    return {
        'log_q of shape (n, 1)': (lambda: fl.log_density_ratio(torch.zeros(5, 2), method='divergence',
                                                               log_q=lambda x: torch.zeros(len(x), 1)), 'log_q'),
        'a prior with the Brownian reference': (lambda: DSB(2, prior=Gaussian(z2, I2)), 'prior'),
        'DSB batch_size=0': (lambda: DSB(2, **tiny).fit(moons, moons, batch_size=0, **quiet), 'batch_size'),
        'DSB batch_size=-3': (lambda: DSB(2, **tiny).fit(moons, moons, batch_size=-3, **quiet), 'batch_size'),
        'fit_ratio refresh=0': (lambda: fl.fit_ratio(moons, moons, refresh=0, **quiet), 'refresh'),
        'OTFlow transport n_time_steps=0': (lambda: fl.transport(torch.zeros(3, 2), n_time_steps=0), 'n_time_steps'),
        'fit_init batch_size=0': (lambda: fl.fit_init(moons, moons, batch_size=0, **quiet), 'batch_size'),
        'interpolant transport n_time_steps=0': (lambda: MultimarginalInterpolant(2, 2, **tiny).transport(
            torch.zeros(3, 2), (1, 2), n_time_steps=0), 'n_time_steps'),
        'a NaN barycenter mean': (lambda: gaussian_barycenter(torch.tensor([[0., math.nan], [0., 0.]]),
                                                              torch.stack([I2, I2])), 'means'),
        'an indefinite barycenter covariance': (lambda: gaussian_barycenter(torch.zeros(2, 2), torch.stack(
            [I2, torch.tensor([[1., 2.], [2., 1.]])])), r'covs\[1\]'),
        'a class with n_c <= d': (lambda: gaussian_barycenter_maps([torch.randn(2, 2), torch.randn(5, 2)]), r'xs\[0\]'),
        'directions that are not unit vectors': (lambda: sliced_discrepancy([torch.randn(10, 2), torch.randn(10, 2)],
                                                                           torch.full((2, 2), 10.)), 'directions'),
    }

@pytest.mark.parametrize('case', list(_reported_cases()))
def test_reported_cases_name_their_argument(case):
    call, name = _reported_cases()[case]
    with pytest.raises(ValueError, match=name): call()


def test_alignment_takes_what_users_hold_and_loads_only_its_settings(tmp_path):
    "float16 classes, a 0-d integer tensor as the class, and a checkpoint with a foreign setting (issue 25)."
    from otnb.alignment import IterativeAlignmentFlow
    from otnb.train import read_checkpoint
    xs = [moons(100, generator=make_generator(c)) + c for c in range(2)]
    flow = IterativeAlignmentFlow(n_layers=2, n_iters=5).fit([x.half() for x in xs], progress=False)
    assert torch.equal(flow.transform(xs[0][:3], torch.tensor(1)), flow.transform(xs[0][:3], 1))
    flow.save(tmp_path / 'a.pt')
    st = read_checkpoint(tmp_path / 'a.pt')
    st['config']['__class__'] = 'anything'
    torch.save(st, tmp_path / 'b.pt')
    with pytest.raises(ValueError, match='settings the constructor does not take'): IterativeAlignmentFlow().load(tmp_path / 'b.pt')
