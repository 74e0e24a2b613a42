"""SCONES: bad input, the dual's conventions, reproducibility, save/load, a custom cost across dimensions, inputs as users hold them."""
import math
import numpy as np
import torch, pytest
from otnb.core import make_generator
from otnb.data import Gaussian, moons
from otnb.scones import (SCONES, dual_objective, gaussian_score, langevin, pairwise_cost, sqeuclidean, log_compatibility_from,
                         gaussian_control_chain, control_cross_error)

def small(**kw): return SCONES(2, eps=kw.pop('eps', 1.0), width=16, depth=1, **kw)
FIT = dict(n_iters=3, batch_size=8, progress=False)

def test_bad_input():
    with pytest.raises(ValueError, match='eps must be > 0'): SCONES(2, eps=-1.)
    with pytest.raises(ValueError, match="regularization must be 'kl' or 'l2'"): SCONES(2, eps=1., regularization='entropy')
    with pytest.raises(ValueError, match='target_dim == dim'): SCONES(2, eps=1., target_dim=4)
    with pytest.raises(TypeError, match='cost must be'): SCONES(2, eps=1., cost=3)
    with pytest.raises(ValueError, match='n_sigmas must be >= 2'): SCONES(2, eps=1., n_sigmas=1)
    m = small()
    with pytest.raises(ValueError, match='sample needs the dual'): m.sample(torch.zeros(2, 2), score=lambda y, s: -y)
    with pytest.raises(ValueError, match='transport needs the projector'): m.transport(torch.zeros(2, 2))
    with pytest.raises(ValueError, match='fit_projector needs the dual'): m.fit_projector(moons, moons, **FIT)
    with pytest.raises(ValueError, match='target must produce dimension 2, got 3'): m.fit_dual(moons, torch.zeros(10, 3), **FIT)
    with pytest.raises(ValueError, match='source contains NaN'): m.fit_dual(torch.full((4, 2), math.nan), moons, **FIT)
    m.fit(moons, moons, **FIT)
    with pytest.raises(ValueError, match=r'x must have dimension d=2'): m.sample(torch.zeros(3, 3))
    with pytest.raises(ValueError, match='x contains NaN'): m.transport(torch.tensor([[0., math.nan]]))
    with pytest.raises(ValueError, match='step_size must be > 0'): m.sample(torch.zeros(3, 2), step_size=0.)
    with pytest.raises(ValueError, match='n_langevin_steps must be >= 1'): m.sample(torch.zeros(3, 2), n_langevin_steps=0)
    with pytest.raises(TypeError, match='score must be a callable'): m.sample(torch.zeros(3, 2), score=1.0)
    with pytest.raises(ValueError, match="init must be 'projector' or 'noise'"): m.sample(torch.zeros(3, 2), init='zeros')
    with pytest.raises(ValueError, match="sigma sets plain Langevin's noise level"):      # it used to be ignored
        m.sample(torch.zeros(3, 2), init='noise', sigma=0.1)
    with pytest.raises(TypeError, match='reverse must be True or False'): m.sample(torch.zeros(3, 2), 'backward')
    with pytest.raises(NotImplementedError, match=r'SCONES models y \| x only'): m.sample(torch.zeros(3, 2), reverse=True)

def test_kl_dual_is_the_plain_dual_at_the_optimal_shift():
    g = make_generator(0)
    phi, psi, C = torch.randn(5, generator=g, dtype=torch.float64), torch.randn(7, generator=g, dtype=torch.float64), torch.rand(5, 7, generator=g, dtype=torch.float64) * 3
    eps = 0.7
    plain = lambda p: p.mean() + psi.mean() - eps * torch.exp((p[:, None] + psi[None] - C) / eps).mean() + eps
    stable = dual_objective(phi, psi, C, eps, 'kl')
    kappa = -eps * torch.log(torch.exp((phi[:, None] + psi[None] - C) / eps).mean())
    torch.testing.assert_close(stable, plain(phi + kappa))
    assert stable >= plain(phi) and stable >= plain(phi + 0.3)          # the best shift, never below the plain dual
    # finite where the plain form overflows
    assert torch.isfinite(dual_objective(phi + 500., psi, C, 1e-2, 'kl')) and not torch.isfinite(torch.exp((phi + 500.)[:, None] / 1e-2)).all()

def test_pairwise_cost_and_compatibility():
    x, y = torch.randn(4, 2), torch.randn(3, 2)
    torch.testing.assert_close(pairwise_cost(sqeuclidean, x, y), torch.cdist(x, y) ** 2, atol=1e-5, rtol=1e-5)
    v = torch.linspace(-2, 2, 9)
    assert torch.isneginf(log_compatibility_from(v, 0.5, 'l2')[:5]).all()
    assert (log_compatibility_from(v, 0.5, 'l2', smoothing=0.1).diff() > 0).all()

def test_langevin_samples_a_gaussian_with_the_predicted_bias():
    S = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=torch.float64)
    a = 0.1
    y = langevin(gaussian_score(torch.zeros(2, dtype=torch.float64), S), torch.zeros(40000, 2, dtype=torch.float64), n_langevin_steps=300,
                 step_size=a, generator=make_generator(0))
    S_a = S @ torch.linalg.inv(torch.eye(2, dtype=torch.float64) - a / 2 * torch.linalg.inv(S))
    assert (torch.cov(y.T) - S_a).abs().max() < 3 * math.sqrt(2 / 40000) * 2.3

def test_same_seed_same_result():
    def run():
        torch.manual_seed(0)
        m = small().fit(moons, moons, seed=3, **FIT)
        return m.history, m.sample(torch.zeros(4, 2), n_langevin_steps=5, seed=1)
    (h1, y1), (h2, y2) = run(), run()
    assert h1 == h2 and torch.equal(y1, y2)

def test_save_load(tmp_path):
    m = small(regularization='l2').fit(moons, moons(256) + 1, **FIT)
    m.save(tmp_path / 's.pt')
    m2 = SCONES.from_checkpoint(tmp_path / 's.pt')
    x = torch.randn(5, 2)
    assert torch.equal(m.sample(x, n_langevin_steps=4, seed=2), m2.sample(x, n_langevin_steps=4, seed=2))
    assert torch.equal(m.transport(x), m2.transport(x)) and m2.history == m.history
    assert torch.equal(m.sample(x, n_langevin_steps=6, init='noise', seed=3), m2.sample(x, n_langevin_steps=6, init='noise', seed=3))
    torch.testing.assert_close(m.log_compatibility(x, x), m2.log_compatibility(x, x))

def test_custom_cost_across_dimensions(tmp_path):
    pool = lambda y: y.reshape(len(y), 2, 2).mean(2)                     # 4 -> 2 by averaging pairs
    cost = lambda x, y: ((x - pool(y)) ** 2).sum(1)
    m = SCONES(2, eps=1.0, cost=cost, target_dim=4, width=16, depth=1).fit(moons, torch.randn(64, 4), **FIT)
    x = torch.randn(6, 2)
    assert m.sample(x, n_langevin_steps=3, seed=0).shape == (6, 4) and m.transport(x).shape == (6, 4)
    assert m.log_compatibility(x, torch.randn(6, 4)).shape == (6,)
    m.save(tmp_path / 'c.pt')
    with pytest.raises(ValueError, match='your own cost'): SCONES.from_checkpoint(tmp_path / 'c.pt')
    m2 = SCONES(2, eps=1.0, cost=cost, target_dim=4, width=16, depth=1).load(tmp_path / 'c.pt')
    assert torch.equal(m2.transport(x), m.transport(x))

def test_inputs_as_users_hold_them():
    m = small().fit(np.random.randn(50, 2), moons(50).double(), **FIT)
    y = m.sample(np.zeros((3, 2)), n_langevin_steps=3)
    assert y.dtype == torch.float32 and y.shape == (3, 2)
    m64 = small().double().fit(moons, moons, **FIT)
    assert m64.sample(torch.zeros(3, 2), n_langevin_steps=2).dtype == torch.float64

def test_history_records_the_dual_value():
    m = small().fit_dual(moons, moons, n_iters=20, batch_size=16, progress=False)
    assert len(m.history['dual']) == 20 and all(math.isfinite(v) for v in m.history['dual'])

def test_all_pairs_matches_paired_rows():
    g = make_generator(0)
    x, y = torch.randn(7, 3, generator=g) + 20, torch.randn(5, 3, generator=g) + 20   # far from the origin: cancellation
    rowwise = lambda a, b: ((a - b) ** 2).sum(1)                                      # no all_pairs: the n×m×d path
    torch.testing.assert_close(pairwise_cost(sqeuclidean, x, y), pairwise_cost(rowwise, x, y), atol=1e-4, rtol=1e-5)
    pool = lambda y: y.reshape(len(y), 3, 2).mean(2)
    cost = lambda a, b: sqeuclidean(a, pool(b))
    cost.all_pairs = lambda a, b: sqeuclidean.all_pairs(a, pool(b))
    y6 = torch.randn(5, 6, generator=g)
    torch.testing.assert_close(pairwise_cost(cost, x - 20, y6), pairwise_cost(lambda a, b: cost(a, b), x - 20, y6))

def test_score_is_the_gaussian_score_plus_the_network():
    m1, S1 = torch.tensor([1.0, -2.0]), torch.tensor([[2.0, 0.5], [0.5, 0.3]])
    m = small().fit_score(Gaussian(m1, S1), n_iters=1, batch_size=8, progress=False)
    last = [mod for mod in m.score_net.modules() if isinstance(mod, torch.nn.Linear)][-1]
    with torch.no_grad(): last.weight.zero_(); last.bias.zero_()
    y = torch.randn(50, 2)
    for sigma in (0.01, 0.3, 3.0):
        S_hat = m.target_evecs @ torch.diag(m.target_evals) @ m.target_evecs.T
        torch.testing.assert_close(m.score(y, sigma), gaussian_score(m.target_mean, S_hat)(y, sigma), atol=1e-4, rtol=1e-4)
    # the moments come from 10,000 draws: a few percent from the truth
    torch.testing.assert_close(m.target_mean, m1, atol=0.05, rtol=0)
    torch.testing.assert_close(S_hat, S1, atol=0.1, rtol=0)

def test_control_chain_shares_the_samplers_noise():
    m0, S0, m1, S1 = torch.zeros(2), torch.eye(2), torch.ones(2), torch.tensor([[2.0, 0.3], [0.3, 0.5]])
    P, Q = Gaussian(m0, S0), Gaussian(m1, S1)
    torch.manual_seed(0)
    m = SCONES(2, eps=1.0, width=32, depth=2).fit_dual(P, Q, n_iters=300, batch_size=256, progress=False)
    m.fit_projector(P, Q, n_iters=200, batch_size=256, progress=False)
    x = P(2000, make_generator(1))
    exact = gaussian_score(m1, S1)
    y = m.sample(x, n_langevin_steps=200, score=exact, seed=3)
    y_bar, mean_bar = gaussian_control_chain(m, x, m0, S0, m1, S1, 200, 0.01, seed=3, score=exact)
    # with shared noise the two chains differ only through the learned compatibility: far less than the chains' own spread
    assert (y - y_bar).norm(dim=1).mean() < 0.3 * (y_bar - mean_bar).norm(dim=1).mean()
    # E[ȳ | x] is the control chain's mean: its residuals average to zero within 4 SE
    r = y_bar - mean_bar
    assert (r.mean(0).abs() < 4 * r.std(0) / math.sqrt(len(r))).all()
    err, se = control_cross_error(x, y, (y_bar, mean_bar), m0, S0, m1, S1, 1.0)
    assert 0 <= se < 0.05 and torch.isfinite(err)

def test_control_chain_refuses_what_it_cannot_check():
    g2 = (torch.zeros(2), torch.eye(2), torch.ones(2), torch.eye(2))
    m = small(regularization='l2').fit(moons, torch.randn(64, 2), **FIT)
    with pytest.raises(ValueError, match="regularization='kl'"): gaussian_control_chain(m, torch.randn(4, 2), *g2, 3, 0.01, seed=0)
    x = torch.randn(4, 2)
    with pytest.raises(ValueError, match='same rows'): control_cross_error(x, torch.randn(5, 2), (x, x), *g2, 1.0)

def test_metric_is_never_wider_than_the_target():
    "The floor of `langevin_metric` (total variance: E Cov(y|x) ⪯ Cov(y)) holds for any score, even one of negative curvature."
    torch.manual_seed(0)
    m = small(eps=2.0).fit(moons, moons, **FIT)
    repel = lambda y, sigma: 10 * y          # a log-convex "target": the conditional's curvature is negative everywhere
    L = m.langevin_metric(moons(64, generator=make_generator(1)), score=repel)
    top = torch.linalg.eigvalsh(L @ L.mT).max()
    assert top <= m.target_evals.max() * (1 + 1e-5), (top, m.target_evals)

def test_a_diverging_chain_raises_rather_than_returning_nan():
    torch.manual_seed(0)
    m = small().fit(moons, moons, **FIT)
    with pytest.raises(FloatingPointError, match='step_size'):
        m.sample(torch.zeros(4, 2), n_langevin_steps=50, step_size=1e6, precondition=False, seed=0)

def test_annealing_cap_is_measured_for_other_costs():
    "ε/2 is the inverse curvature of |x - y|²/ε; a cost four times steeper must get about a quarter of that cap."
    torch.manual_seed(0)
    steep = lambda x, y: 4 * ((x - y) ** 2).sum(1)
    kw = dict(n_iters=20, batch_size=64, progress=False)
    m_sq, m_steep = small(eps=1.0).fit(moons, moons, **kw), small(eps=1.0, cost=steep).fit(moons, moons, **kw)
    x = moons(64, generator=make_generator(1))
    assert m_sq._annealing_cap(x, m_sq.transport(x)) == 0.5
    cap = m_steep._annealing_cap(x, m_steep.transport(x))
    assert 0.5 / 8 < cap < 0.5 / 2, cap             # ε/8 up to the learned potential's own curvature
    m_steep.sample(x, init='noise', n_langevin_steps=20, seed=0)        # annealed, with the measured cap: finite
