"""Devices, two ways.

1. On a real device: every test that takes the `device` fixture runs on the CPU, and on CUDA where it exists
   (it is skipped, with a reason, on machines without a GPU). On the CPU `out.device == x.device` always holds, so
   these tests only prove something on a GPU machine.
2. On a simulated device, everywhere: `otnb.core.device_check` treats every tensor that existed before it as on "the
   device" and every tensor made inside it without a device (or with a literal 'cpu') as on "the host", raising
   `DeviceMismatchError` where CUDA would raise, and recording host synchronisations. It runs the real computation
   (unlike the `meta` device, on which POT, torchsde and data-dependent shapes cannot run), so every public verb of
   every estimator goes through it here, with its data and parameters made before the check, as a user's would be.
   Host synchronisations must not grow with the number of training steps or time steps.
"""
import torch, pytest
from otnb.core import make_generator, device_of, device_check, DeviceMismatchError, categorical
from otnb.data import Gaussian, GaussianMixture, TOYS_2D, as_sampler, random_spd, brenier_pair, moons, eight_gaussians
from otnb.gaussian import gaussian_w2, gaussian_ot_map, gaussian_entropic_plan, gaussian_sb_marginal
from otnb.metrics import w2, sinkhorn_divergence, sliced_w2, mmd, energy_distance, couple, sinkhorn_pairing
from otnb.metrics import mean_cov, coupling_errors, sinkhorn_conditional, sinkhorn_plan_moments
from otnb.integrate import odeint, sdeint, odeint_logdet
from otnb.nets import TimeMLP, SimplexMLP
from otnb.train import train, EMA
from otnb.interpolants import MultimarginalInterpolant, FourierPath, path_cost_samples, polyline
from otnb.otflow import OTFlow, optimality_gap
from otnb.dsb import DSB
from otnb.scones import SCONES, gaussian_score, gaussian_control_chain, control_cross_error
from otnb.alignment import IterativeAlignmentFlow, max_sliced_directions, barycenter_1d, quantiles, sliced_discrepancy, gaussian_barycenter_maps

# ---- 1. real devices -------------------------------------------------------------------------------------------
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
    assert couple(x[:30], y, 'ot').device.type == device.type
    assert couple(x[:30], y, 'sinkhorn', generator=make_generator(0, device)).device.type == device.type
    assert sinkhorn_pairing(x, y, generator=make_generator(0, device)).device.type == device.type
    assert categorical(x.abs(), make_generator(0, device)).device.type == device.type
    mean, spread = sinkhorn_conditional(x[:3], x, y, 1.0)
    assert mean.device.type == spread.device.type == device.type and mean.shape == (3, 2) and spread.shape == (3,)

def test_coupling_scores_under_the_device_check():
    x, y = torch.randn(40, 2), torch.randn(30, 2) + 1                  # "on the device": made before the check
    m, S = mean_cov(torch.cat([x[:30], y], 1))
    with device_check():
        sinkhorn_conditional(x[:3], x, y, 1.0)
        coupling_errors(m, S, m, S, 2)
        sinkhorn_plan_moments(x, y, 1.0)

def test_categorical_under_the_device_check():
    w = torch.rand(16, 5)                                              # "on the device": made before the check
    with device_check(): categorical(w, make_generator(0, w.device))

def test_integrators_and_nets_on_device(device):
    f = TimeMLP(2, width=16).to(device)
    x0 = torch.randn(8, 2, device=device)
    assert odeint(f, x0, n_time_steps=4).device.type == device.type
    assert sdeint(f, 0.1, x0, n_time_steps=4, seed=0).device.type == device.type
    xT, ld = odeint_logdet(f, x0, n_time_steps=4, div='hutchinson', seed=0)
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
                     ema=ema, progress=False, seed=3)
        return hist, net.weight.detach()
    (h1, w1), (h2, w2_) = run(), run()
    assert h1 == h2 and torch.equal(w1, w2_) and w1.device.type == device.type

def test_estimators_on_device(device, tmp_path):
    mi = MultimarginalInterpolant(2, n_marginals=2, width=16, depth=1, n_time_steps=4).to(device)
    mi.fit([moons, eight_gaussians(64, device=device)], n_iters=3, batch_size=16, progress=False)
    x = torch.randn(8, 2, device=device)
    for y in (mi.transport(x, (0, 2)), mi.inverse(x, (0, 2)), mi.sample(x, (0, 1), n_time_steps=4, seed=0), mi.transport_cost(x, (1, 2))):
        assert y.device.type == device.type
    f = OTFlow(2, width=16, depth=1, n_time_steps=4).to(device).fit(moons, eight_gaussians, n_iters=3, n_rounds=1, ratio_iters=2, progress=False)
    for y in (f.transport(x), f.inverse(x), f.transport_cost(x), f.log_density_ratio(x)):
        assert y.device.type == device.type
    f.save(tmp_path / 'f.pt')
    assert OTFlow.from_checkpoint(tmp_path / 'f.pt', map_location=device).transport(x).device.type == device.type

# ---- 2. the simulated device ------------------------------------------------------------------------------------
def test_the_check_catches_a_path_made_on_the_host():
    # the bug the check was built for: `optimize_path` once built its FourierPath without a device and fed it samples
    # drawn on the model's device; on a GPU `a[..., None] * xk` mixes devices. The check must see it on the CPU.
    xk = torch.randn(32, 3, 2)                                        # "on the device": made before the check
    g = lambda a, x: x[:, None, :].expand(-1, 3, -1)
    with device_check(), pytest.raises(DeviceMismatchError, match='mixes a tensor on the device with a host tensor'):
        path_cost_samples(g, lambda n: xk[:n], FourierPath(1, 2, 3), n_time_steps=4, batch_size=8)
    with device_check():                                               # made on the device of the samples, it passes
        path_cost_samples(g, lambda n: xk[:n], FourierPath(1, 2, 3, device=xk.device), n_time_steps=4, batch_size=8)
    pts = torch.eye(3)[[1, 0, 2]]                                       # the other one: polyline's simplex check
    with device_check():                                               # compared its points with a host torch.ones
        polyline(pts)(torch.linspace(0, 1, 5, device=pts.device))

def _verbs_interpolant(tmp_path, coupling):
    m = MultimarginalInterpolant(2, n_marginals=2, width=16, depth=1, n_time_steps=4)
    a, b, x = moons(64), eight_gaussians(64), torch.randn(8, 2)
    path = FourierPath(1, 2, 3)
    yield 'fit', lambda: m.fit([a, b], n_iters=3, batch_size=16, coupling=coupling, progress=False)
    yield 'transport', lambda: m.transport(x, (0, 2))
    yield 'transport along a user path', lambda: m.transport(x, path)
    yield 'inverse', lambda: m.inverse(x, (0, 2))
    yield 'transport_cost', lambda: m.transport_cost(x, (1, 2))
    yield 'sample', lambda: m.sample(x, (0, 1), n_time_steps=4, seed=0)
    yield 'score', lambda: m.score(torch.tensor([0.5, 0.25, 0.25]), x)
    yield 'optimize_path', lambda: m.transport_cost(x, m.optimize_path(1, 2, n_iters=2, batch_size=8, n_time_steps=2))
    yield 'optimize_path via a vertex', lambda: m.optimize_path(1, 2, via=0, n_iters=2, batch_size=8, n_time_steps=2)
    yield 'save', lambda: m.save(tmp_path / 'm.pt')
    yield 'load', lambda: m.load(tmp_path / 'm.pt')
    yield 'from_checkpoint, moved', lambda: MultimarginalInterpolant.from_checkpoint(tmp_path / 'm.pt').to(x.device).transport(x, (0, 1))

def _verbs_otflow(tmp_path, coupling):
    f = OTFlow(2, width=16, depth=1, n_time_steps=4)
    p, q, x = moons(64), eight_gaussians(64), torch.randn(8, 2)
    log_n = lambda z: -(z ** 2).sum(1) / 2
    yield 'fit', lambda: f.fit(p, q, n_iters=3, reflow_iters=2, n_rounds=1, ratio_iters=2, coupling=coupling, progress=False)
    yield 'fit_init', lambda: f.fit_init(p, q, n_iters=3, coupling=coupling, progress=False)
    yield 'fit_init, Sinkhorn pairs', lambda: f.fit_init(p, q, n_iters=3, coupling='sinkhorn', batch_size=16, progress=False)
    yield 'reflow', lambda: f.reflow(p, n_iters=3, n_pairs=32, batch_size=16, progress=False)
    yield 'refine', lambda: f.refine(p, q, n_rounds=1, flow_iters=2, clf_iters=2, batch_size=16, progress=False)
    yield 'refine, moment multipliers', lambda: f.refine(p, q, n_rounds=1, flow_iters=2, clf_iters=2, batch_size=16, debias=True, n_check=0, progress=False)
    yield 'fit_ratio', lambda: f.fit_ratio(p, q, n_iters=3, batch_size=16, progress=False)
    yield 'transport', lambda: f.transport(x, return_path=True)
    yield 'inverse', lambda: f.inverse(x)
    yield 'transport_cost', lambda: f.transport_cost(x)
    yield 'optimality_gap', lambda: optimality_gap(x, f.transport(x))
    yield 'sinkhorn_pairing', lambda: sinkhorn_pairing(x, f.transport(x))
    yield 'log_density_ratio', lambda: f.log_density_ratio(x)
    yield 'log_density_ratio, divergence', lambda: f.log_density_ratio(x, method='divergence', log_p=log_n)
    yield 'log_density_ratio, Hutchinson', lambda: f.log_density_ratio(x, method='divergence', log_q=log_n, div='hutchinson')
    yield 'save', lambda: f.save(tmp_path / 'f.pt')
    yield 'load', lambda: f.load(tmp_path / 'f.pt')
    yield 'from_checkpoint, moved', lambda: OTFlow.from_checkpoint(tmp_path / 'f.pt').to(x.device).transport(x)

def _verbs_dsb(tmp_path, coupling):
    m = DSB(2, n_time_steps=4, width=16, depth=1, reference='ou' if coupling == 'ot' else 'brownian')
    p0, p1, x = moons(64), eight_gaussians(64), torch.randn(8, 2)
    fit = dict(n_ipf=1, n_iters=3, batch_size=8, n_cache=16, refresh=2, n_eval=8, progress=False)
    yield 'fit', lambda: m.fit(p0, None if coupling == 'ot' else p1, **fit)
    yield 'fit, continued', lambda: m.fit(p0, None if coupling == 'ot' else p1, **fit)
    yield 'sample forward', lambda: m.sample(x, return_path=True, seed=0)
    yield 'sample backward', lambda: m.sample(x, reverse=True, last_noise=False)
    if coupling == 'ot': yield 'generate', lambda: m.generate(5, seed=0)
    yield 'save', lambda: m.save(tmp_path / 'd.pt')
    yield 'load', lambda: m.load(tmp_path / 'd.pt')
    yield 'from_checkpoint, moved', lambda: DSB.from_checkpoint(tmp_path / 'd.pt').to(x.device).sample(x)

def _verbs_scones(tmp_path, coupling):
    m = SCONES(2, eps=1.0, regularization='l2' if coupling == 'ot' else 'kl', width=16, depth=1)
    p, q, x = moons(64), eight_gaussians(64), torch.randn(8, 2)
    exact = gaussian_score(torch.zeros(2), torch.eye(2))
    fit = dict(n_iters=3, batch_size=16, progress=False)
    yield 'fit', lambda: m.fit(p, q, **fit)
    yield 'fit_dual', lambda: m.fit_dual(p, q, **fit)
    yield 'fit_score', lambda: m.fit_score(q, **fit)
    yield 'fit_projector', lambda: m.fit_projector(p, q, **fit)
    yield 'transport', lambda: m.transport(x)
    yield 'sample', lambda: m.sample(x, n_langevin_steps=4, seed=0)
    yield 'sample, exact score', lambda: m.sample(x, n_langevin_steps=4, score=exact)
    yield 'sample, not preconditioned', lambda: m.sample(x, n_langevin_steps=4, precondition=False, seed=0)
    yield 'langevin_metric', lambda: m.langevin_metric(x, score=exact)
    yield 'sample from noise, annealed, denoised', lambda: m.sample(x, n_langevin_steps=20, init='noise', denoise=True, seed=0)
    yield 'log_compatibility', lambda: m.log_compatibility(x, x)
    yield 'score', lambda: m.score(x, 0.1)
    g2 = (torch.zeros(2), torch.eye(2), torch.ones(2), torch.eye(2))
    if coupling != 'ot':                                      # the control chain exists for the KL coupling only
        yield 'gaussian_control_chain, control_cross_error', lambda: control_cross_error(x, m.sample(x, n_langevin_steps=3, seed=1), gaussian_control_chain(m, x, *g2, 3, 0.01, seed=1), *g2, 1.0)
    yield 'save', lambda: m.save(tmp_path / 's.pt')
    yield 'load', lambda: m.load(tmp_path / 's.pt')
    yield 'from_checkpoint, moved', lambda: SCONES.from_checkpoint(tmp_path / 's.pt').to(x.device).sample(x, n_langevin_steps=2)

def _verbs_alignment(tmp_path, coupling):
    m = IterativeAlignmentFlow(2, 1, maps='gaussian' if coupling == 'ot' else 'quantile', n_iters=30)
    xs, x = [moons(40), eight_gaussians(50), moons(30) + 1], torch.randn(8, 2)
    labels = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    yield 'fit', lambda: m.fit(xs, weights=[0.2, 0.3, 0.5], seed=0, progress=False)
    yield 'transform', lambda: m.transform(x, 1)
    yield 'transform, a class per row', lambda: m.transform(x, labels, layers=1)
    yield 'inverse', lambda: m.inverse(x, labels)
    yield 'translate', lambda: m.translate(x, 0, 2)
    yield 'max_sliced_directions', lambda: max_sliced_directions(xs, 2, n_iters=30, seed=0)
    yield 'sliced_discrepancy', lambda: sliced_discrepancy(xs, torch.eye(2)[:, :1])
    yield 'barycenter_1d, quantiles', lambda: (barycenter_1d([x[:, 0], x[:5, 1]]), quantiles([x[:, 0], x[:5, 1]], [0.1, 0.5]))
    yield 'gaussian_barycenter_maps', lambda: gaussian_barycenter_maps(xs)
    yield 'save', lambda: m.save(tmp_path / 'a.pt')
    yield 'load', lambda: m.load(tmp_path / 'a.pt')
    yield 'from_checkpoint, moved', lambda: IterativeAlignmentFlow.from_checkpoint(tmp_path / 'a.pt').to(x.device).transform(x, 0)

# for DSB, 'ot' means the OU reference; for SCONES, the L2 regulariser
VERBS = {'interpolant': _verbs_interpolant, 'otflow': _verbs_otflow, 'dsb': _verbs_dsb, 'scones': _verbs_scones,
         'alignment': _verbs_alignment}

@pytest.mark.parametrize('coupling', ['independent', 'ot'])
@pytest.mark.parametrize('estimator', sorted(VERBS))
def test_every_verb_passes_the_device_check(estimator, coupling, tmp_path):
    for name, verb in VERBS[estimator](tmp_path, coupling):
        with device_check():
            try: verb()
            except DeviceMismatchError as e: pytest.fail(f"{estimator}.{name}: {e}")

def _syncs(fn, *args):
    "The host syncs of `fn(*args)` (estimators are built before the check, as a user's model sits on the device)."
    with device_check() as chk: fn(*args)
    return [op for op, _ in chk.syncs]

@pytest.mark.parametrize('coupling', ['independent', 'ot', 'paired'])
def test_interpolant_training_makes_no_sync_per_step(coupling):
    a = moons(64)
    fit = lambda m, n: m.fit([a, a + 1] if coupling == 'paired' else [a, eight_gaussians(64)], n_iters=n, batch_size=16,
                             coupling=coupling, progress=False)
    new = lambda: MultimarginalInterpolant(2, n_marginals=2, width=16, depth=1)
    assert _syncs(fit, new(), 4) == _syncs(fit, new(), 12)           # the minibatch-OT solve is a declared (allowed) sync

def test_otflow_training_makes_no_sync_per_step():
    p, q = moons(64), eight_gaussians(64)
    new = lambda: OTFlow(2, width=16, depth=1, n_time_steps=4)
    for stage in (lambda f, n: f.fit_init(p, q, n_iters=n, coupling='ot', batch_size=16, progress=False),
                  lambda f, n: f.fit_init(p, q, n_iters=n, coupling='independent', progress=False),
                  lambda f, n: f.fit_init(p, q, n_iters=n, coupling='sinkhorn', batch_size=16, progress=False),
                  lambda f, n: f.reflow(p, n_iters=n, n_pairs=32, batch_size=16, progress=False),
                  lambda f, n: f.refine(p, q, n_rounds=1, flow_iters=n, clf_iters=n, batch_size=16, progress=False),
                  lambda f, n: f.fit_ratio(p, q, n_iters=n, batch_size=16, progress=False)):
        assert _syncs(stage, new(), 3) == _syncs(stage, new(), 9)

@pytest.mark.parametrize('reference', ['brownian', 'ou'])
def test_dsb_training_makes_no_sync_per_step(reference):
    fit = lambda m, n: m.fit(moons(64), None if reference == 'ou' else eight_gaussians(64), n_ipf=1, n_iters=n, batch_size=8,
                             n_cache=16, refresh=4, n_eval=8, progress=False)
    new = lambda: DSB(2, n_time_steps=4, width=16, depth=1, reference=reference)
    assert _syncs(fit, new(), 4) == _syncs(fit, new(), 12)

@pytest.mark.parametrize('regularization', ['kl', 'l2'])
def test_scones_training_makes_no_sync_per_step(regularization):
    p, q = moons(64), eight_gaussians(64)
    new = lambda: SCONES(2, eps=1.0, regularization=regularization, width=16, depth=1)
    assert _syncs(lambda m, n: m.fit(p, q, n_iters=n, batch_size=16, progress=False), new(), 5) == \
           _syncs(lambda m, n: m.fit(p, q, n_iters=n, batch_size=16, progress=False), new(), 15)

def test_scones_langevin_makes_no_sync_per_step():
    m = SCONES(2, eps=1.0, width=16, depth=1).fit(moons(64), eight_gaussians(64), n_iters=2, batch_size=16, progress=False)
    x = torch.randn(8, 2)
    for kw in (dict(), dict(init='noise', denoise=True)):
        assert _syncs(lambda: m.sample(x, n_langevin_steps=20, **kw)) == _syncs(lambda: m.sample(x, n_langevin_steps=60, **kw))

def test_alignment_makes_no_sync_per_iteration_or_layer():
    xs = [moons(40), eight_gaussians(50), moons(30) + 1]
    fit = lambda n_layers, n_iters: IterativeAlignmentFlow(n_layers, 1, n_iters=n_iters).fit(xs, seed=0, progress=False)
    assert _syncs(fit, 2, 10) == _syncs(fit, 4, 40)          # the stall check (every 25 iterations) is a declared sync
    m = fit(4, 10)
    x = torch.randn(8, 2)
    assert _syncs(lambda: m.transform(x, 0, layers=1)) == _syncs(lambda: m.transform(x, 0))

def test_solves_make_no_sync_per_time_step():
    m = MultimarginalInterpolant(2, n_marginals=2, width=16, depth=1)
    f = OTFlow(2, width=16, depth=1)
    x = torch.randn(8, 2)
    for verb in (lambda k: m.transport(x, (0, 2), n_time_steps=k), lambda k: m.transport_cost(x, polyline(torch.eye(3)[[1, 0, 2]]), n_time_steps=k),
                 lambda k: m.sample(x, (0, 1), n_time_steps=k, seed=0), lambda k: f.transport(x, n_time_steps=k),
                 lambda k: f.inverse(x, n_time_steps=k)):
        assert _syncs(lambda: verb(4)) == _syncs(lambda: verb(16))
    for k in (4, 16):                                              # a DSB chain of k steps, both ways
        d = DSB(2, n_time_steps=k, width=16, depth=1).fit(moons(32), eight_gaussians(32), n_ipf=1, n_iters=1, batch_size=4,
                                                         n_cache=8, n_eval=4, progress=False)
        assert _syncs(lambda: (d.sample(x), d.sample(x, reverse=True))) == ['__bool__'] * 2     # the input's NaN check, once a call

def test_samplers_draw_on_the_device_without_syncs():
    # checkerboard once moved its cells to the host at every draw, RidgeMap moved its parameters and checked for NaNs
    # at every batch, and a mixture drew where its generator lived and copied back: none of that may remain
    P, Q, T = brenier_pair(3)
    M = GaussianMixture(torch.randn(4, 2), 0.3)
    S, x = as_sampler(torch.randn(100, 2)), torch.randn(10, 3)         # the data's NaN check runs once, here
    draws = {'checkerboard': lambda g: TOYS_2D['checkerboard'](64, generator=g), 'moons': lambda g: moons(64, generator=g),
             'mixture': lambda g: M.sample(64, generator=g), 'Brenier target': lambda g: Q(64, generator=g),
             'Brenier map': lambda g: T(x), 'data sampler': lambda g: S(16, generator=g)}
    for name, draw in draws.items():
        with device_check() as chk:
            g = make_generator(0, x.device)
            for _ in range(3): draw(g)
        assert chk.syncs == [], (name, chk.syncs)
