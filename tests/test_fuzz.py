"""Property-based tests (hypothesis) of the public verbs against what users pass them.

The rule for every verb: a valid input gives a finite result of the documented shape; an invalid one raises a
`ValueError` or `TypeError` that names the argument. Never another exception, never a silent broadcast.
Inputs vary in rank, width, row count (0, 1, a few), dtype (float16/32/64, int, bool), values (finite, NaN, ±inf) and
container (tensor, NumPy array, list, non-contiguous and expanded tensors). The models are tiny and fitted once.
"""
import math
import numpy as np
import pytest, torch
from hypothesis import event, given, settings, HealthCheck, strategies as st
from otnb.data import moons
from otnb.dsb import DSB
from otnb.scones import SCONES
from otnb.otflow import OTFlow
from otnb.interpolants import MultimarginalInterpolant
from otnb.alignment import IterativeAlignmentFlow
from otnb.metrics import w2, sliced_w2, mmd, energy_distance, l2_uvp, l2_uvp_se, sinkhorn_divergence, sampling_floor

D = 2
TINY = dict(width=16, depth=1)
QUIET = dict(progress=False)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)


FLAWS = ['rank 0', 'rank 1', 'rank 3', 'no rows', 'width - 1', 'width + 1', 'bool', 'nan', 'inf', '-inf']

@st.composite
def samples(draw, d=D):
    "`(x, valid, n)`: an input for an argument that takes `(n, d)` samples, valid or with one flaw (about half each)."
    flaw = draw(st.sampled_from([None] * len(FLAWS) + FLAWS))
    n = 0 if flaw == 'no rows' else draw(st.sampled_from([1, 2, 7]))
    width = {'width - 1': d - 1, 'width + 1': d + 1}.get(flaw, d)
    shape = {'rank 0': (), 'rank 1': (n,), 'rank 3': (n, width, 2)}.get(flaw, (n, width))
    dtype = 'bool' if flaw == 'bool' else draw(st.sampled_from(['float32', 'float64', 'float16', 'int64']))
    if flaw in ('nan', 'inf', '-inf') and dtype == 'int64': dtype = 'float32'     # integers hold no NaN
    container = draw(st.sampled_from(['tensor', 'numpy', 'list', 'noncontiguous', 'expanded']))
    if flaw in ('nan', 'inf', '-inf') and container == 'expanded': container = 'tensor'    # expand drops rows
    x = torch.randn(shape, generator=torch.Generator().manual_seed(draw(st.integers(0, 99))), dtype=torch.float64)
    if flaw in ('nan', 'inf', '-inf'): x.view(-1)[draw(st.integers(0, x.numel() - 1))] = float(flaw)
    if dtype == 'int64': x = (3 * x).round().to(torch.int64)
    else: x = x > 0 if dtype == 'bool' else x.to(getattr(torch, dtype))
    if container == 'numpy': x = x.numpy()
    elif container == 'list': x = x.tolist()
    elif container == 'noncontiguous' and len(shape) == 2: x = x.T.contiguous().T
    elif container == 'expanded' and len(shape) == 2 and n: x = x[:1].expand(n, width)
    return x, flaw is None, n


def check_rule(call, x, valid, n, name, out_dim=D):
    "Apply the rule to `call(x)`: finite `(n, out_dim)` when valid, else a ValueError/TypeError naming `name`."
    event('valid input' if valid else 'invalid input')
    if valid:
        y = call(x)
        assert isinstance(y, torch.Tensor) and tuple(y.shape) == (n, out_dim), (type(y), getattr(y, 'shape', None))
        assert torch.isfinite(y).all()
    else:
        with pytest.raises((ValueError, TypeError)) as info: call(x)
        assert name in str(info.value), (name, str(info.value))


@pytest.fixture(scope='module')
def models():
    torch.manual_seed(0)
    flow = OTFlow(D, n_time_steps=4, **TINY).fit(moons, moons, n_iters=5, reflow_iters=0, n_rounds=0, **QUIET)
    flow.fit_ratio(moons, moons, n_iters=3, batch_size=16, **QUIET)          # for the time-score route
    dsb = DSB(D, n_time_steps=4, **TINY).fit(moons, moons, n_ipf=1, n_iters=3, n_cache=32, batch_size=16, **QUIET)
    sc = SCONES(D, eps=1.0, **TINY).fit(moons, moons, n_iters=5, batch_size=16, **QUIET)
    mi = MultimarginalInterpolant(D, n_marginals=2, n_time_steps=4, **TINY).fit([moons, moons], n_iters=5,
                                                                                  batch_size=16, **QUIET)
    classes = [moons(64, generator=torch.Generator().manual_seed(c)) + c for c in range(2)]
    af = IterativeAlignmentFlow(n_layers=2, n_iters=5).fit(classes, **QUIET)
    return dict(flow=flow, dsb=dsb, scones=sc, interp=mi, align=af)


VERBS = {
    'OTFlow.transport': lambda m, x: m['flow'].transport(x),
    'OTFlow.inverse': lambda m, x: m['flow'].inverse(x),
    'DSB.sample': lambda m, x: m['dsb'].sample(x, seed=0),
    'DSB.sample(reverse=True)': lambda m, x: m['dsb'].sample(x, reverse=True, seed=0),
    'SCONES.transport': lambda m, x: m['scones'].transport(x),
    'SCONES.sample': lambda m, x: m['scones'].sample(x, n_langevin_steps=3, seed=0),
    'MultimarginalInterpolant.transport': lambda m, x: m['interp'].transport(x, (1, 2)),
    'MultimarginalInterpolant.inverse': lambda m, x: m['interp'].inverse(x, (1, 2)),
    'MultimarginalInterpolant.sample': lambda m, x: m['interp'].sample(x, (1, 2), n_time_steps=4, seed=0),
    'IterativeAlignmentFlow.transform': lambda m, x: m['align'].transform(x, 0),
    'IterativeAlignmentFlow.inverse': lambda m, x: m['align'].inverse(x, 1),
    'IterativeAlignmentFlow.translate': lambda m, x: m['align'].translate(x, 0, 1),
}
NAMES = {'OTFlow.inverse': 'y', 'MultimarginalInterpolant.inverse': 'y', 'IterativeAlignmentFlow.inverse': 'z'}


@pytest.mark.parametrize('verb', list(VERBS))
@FUZZ
@given(case=samples())
def test_estimator_verbs_follow_the_rule(models, verb, case):
    x, valid, n = case
    check_rule(lambda x: VERBS[verb](models, x), x, valid, n, NAMES.get(verb, 'x'))


FLOOR = {'w2': w2, 'sliced_w2': sliced_w2, 'mmd': mmd, 'energy_distance': energy_distance,
         'sinkhorn_divergence': sinkhorn_divergence}
MIN_ROWS = {'mmd': 2, 'energy_distance': 2}          # the unbiased estimators need two rows a side (documented)

@pytest.mark.parametrize('fn', list(FLOOR))
@FUZZ
@given(case=samples())
def test_floor_distances_follow_the_rule(fn, case):
    "A distance between `x` (fuzzed) and a fixed sample y: a finite scalar, or an error naming x."
    x, valid, n = case
    valid = valid and n >= MIN_ROWS.get(fn, 1)
    y = moons(5, generator=torch.Generator().manual_seed(1))
    if valid:
        v = FLOOR[fn](x, y)
        assert isinstance(v, torch.Tensor) and v.ndim == 0 and torch.isfinite(v)
    else:
        with pytest.raises((ValueError, TypeError)) as info: FLOOR[fn](x, y)
        assert 'x' in str(info.value)


@pytest.mark.parametrize('fn', [l2_uvp, l2_uvp_se])
@FUZZ
@given(case=samples())
def test_l2_uvp_follows_the_rule(fn, case):
    "The score and its SE: a finite scalar, or an error naming mapped."
    x, valid, n = case
    ref = torch.randn(n if valid else 3, D, generator=torch.Generator().manual_seed(2))
    if valid and n >= 2:
        v = fn(x, ref)
        assert v.ndim == 0 and torch.isfinite(v) and v >= 0
    elif not valid:
        with pytest.raises((ValueError, TypeError), match='mapped'): fn(x, ref)


@FUZZ
@given(n_reps=st.one_of(st.integers(-3, 6), st.floats(-2, 5), st.booleans(), st.just('4'), st.none()))
def test_sampling_floor_takes_a_count(n_reps):
    "sampling_floor(n_reps): an int >= 2 gives a finite mean and sd; anything else an error naming n_reps."
    draw, stat = (lambda g: torch.randn(8, D, generator=g)), (lambda y: (y.mean(0) ** 2).sum())
    if isinstance(n_reps, int) and not isinstance(n_reps, bool) and n_reps >= 2:
        fl = sampling_floor(draw, stat, n_reps=n_reps)
        assert math.isfinite(fl.mean) and math.isfinite(fl.sd) and fl.sd >= 0 and fl.n_reps == n_reps
    else:
        with pytest.raises((ValueError, TypeError), match='n_reps'): sampling_floor(draw, stat, n_reps=n_reps)


BAD_COUNTS = [0, -3, 2.5, True, '8', None]
KNOBS = {   # a fitting verb, its count arguments (each must be an int >= 1), and a valid call to vary one knob of
    'DSB.fit': (lambda **kw: DSB(D, n_time_steps=4, **TINY).fit(moons, moons, **{**dict(
        n_ipf=1, n_iters=2, n_cache=16, batch_size=8, refresh=1, n_eval=4), **kw}, **QUIET),
        ['n_ipf', 'n_iters', 'n_cache', 'batch_size', 'refresh']),
    'SCONES.fit': (lambda **kw: SCONES(D, eps=1.0, **TINY).fit(moons, moons, **{**dict(n_iters=2, batch_size=8), **kw},
                                                               **QUIET), ['n_iters', 'batch_size']),
    'OTFlow.fit_init': (lambda **kw: OTFlow(D, **TINY).fit_init(moons, moons, **{**dict(n_iters=2, batch_size=8), **kw},
                                                                **QUIET), ['n_iters', 'batch_size']),
    'OTFlow.fit_ratio': (lambda **kw: OTFlow(D, **TINY).fit_ratio(moons, moons, **{**dict(
        n_iters=2, batch_size=8, refresh=1), **kw}, **QUIET), ['n_iters', 'batch_size', 'refresh']),
    'MultimarginalInterpolant.fit': (lambda **kw: MultimarginalInterpolant(D, n_marginals=2, **TINY).fit(
        [moons, moons], **{**dict(n_iters=2, batch_size=8), **kw}, **QUIET), ['n_iters', 'batch_size']),
}

@pytest.mark.parametrize('verb', list(KNOBS))
@pytest.mark.parametrize('bad', BAD_COUNTS, ids=repr)
def test_counts_must_be_positive_ints(verb, bad):
    call, knobs = KNOBS[verb]
    for knob in knobs:
        with pytest.raises((ValueError, TypeError)) as info: call(**{knob: bad})
        assert knob in str(info.value), (verb, knob, str(info.value))


@pytest.mark.parametrize('eps', [0.0, -1.0, math.nan, math.inf, '1'])
def test_eps_must_be_positive_and_finite(eps):
    with pytest.raises((ValueError, TypeError), match='eps'): SCONES(D, eps=eps)


@st.composite
def class_indices(draw, n=3, K=2):
    "`(c, valid)`: a class argument for `transform(x, c)` with `n` rows and K classes."
    kind = draw(st.sampled_from(['int', 'numpy int', '0-d tensor', 'row tensor', 'bool', 'float', '0-d float',
                                 'float rows', 'short rows', 'str']))
    k = draw(st.integers(-2, K + 1))
    inside = 0 <= k < K
    if kind == 'int': return k, inside
    if kind == 'numpy int': return np.int64(k), inside
    if kind == '0-d tensor': return torch.tensor(k), inside
    if kind == 'row tensor':
        rows = torch.tensor([k, 0, K - 1])
        return rows, inside
    if kind == 'bool': return draw(st.booleans()), False
    if kind == 'float': return float(k), False
    if kind == '0-d float': return torch.tensor(float(k)), False
    if kind == 'float rows': return torch.zeros(n), False
    if kind == 'short rows': return torch.zeros(n - 1, dtype=torch.long), False
    return str(k), False


@FUZZ
@given(case=class_indices())
def test_class_indices_follow_the_rule(models, case):
    c, valid = case
    x = moons(3, generator=torch.Generator().manual_seed(3))
    event('valid class' if valid else 'invalid class')
    if valid:
        z = models['align'].transform(x, c)
        assert z.shape == (3, D) and torch.isfinite(z).all()
    else:
        with pytest.raises((ValueError, TypeError), match='c '): models['align'].transform(x, c)


@st.composite
def covariances(draw, d=D):
    "`(S, valid)`: a covariance argument: SPD, or with one flaw."
    flaw = draw(st.sampled_from([None, None, None, 'indefinite', 'asymmetric', 'nan', 'shape', 'rank 1', 'singular']))
    A = torch.randn(d, d, generator=torch.Generator().manual_seed(draw(st.integers(0, 99))), dtype=torch.float64)
    S = A @ A.T + 0.1 * torch.eye(d, dtype=torch.float64)
    if flaw == 'indefinite': S = S - 2 * torch.linalg.eigvalsh(S).max() * torch.eye(d, dtype=torch.float64)
    if flaw == 'asymmetric': S = S + torch.triu(torch.ones(d, d, dtype=torch.float64), 1)
    if flaw == 'nan': S[0, 0] = math.nan
    if flaw == 'shape': S = torch.eye(d + 1, dtype=torch.float64)
    if flaw == 'rank 1': S = torch.ones(d, dtype=torch.float64)
    if flaw == 'singular': S = torch.ones(d, d, dtype=torch.float64)
    return S, flaw is None


@FUZZ
@given(c0=covariances(), c1=covariances(), nan_mean=st.booleans())
def test_gaussian_closed_forms_follow_the_rule(c0, c1, nan_mean):
    from otnb.gaussian import gaussian_w2, gaussian_ot_map, gaussian_entropic_plan
    (S0, ok0), (S1, ok1) = c0, c1
    m0, m1 = torch.zeros(D, dtype=torch.float64), torch.ones(D, dtype=torch.float64)
    if nan_mean: m1[0] = math.nan
    valid = ok0 and ok1 and not nan_mean
    event('valid Gaussians' if valid else 'invalid Gaussians')
    for fn in (gaussian_w2, gaussian_ot_map, lambda *a: gaussian_entropic_plan(*a, eps=1.0)):
        if valid:
            out = fn(m0, S0, m1, S1)
            assert all(torch.isfinite(t).all() for t in (out if isinstance(out, tuple) else (out,)))
        else:
            with pytest.raises((ValueError, TypeError), match='S0|S1|m1'): fn(m0, S0, m1, S1)


ROUTES = ['time_score', 'divergence, log_q', 'divergence, log_p']

@pytest.mark.parametrize('route', ROUTES)
@FUZZ
@given(case=samples())
def test_log_density_ratio_follows_the_rule(models, route, case):
    "Each route (time score; divergence with a known log q or log p): a finite value per row, or an error naming x."
    from otnb.data import Gaussian
    x, valid, n = case
    log = Gaussian(torch.zeros(D), torch.eye(D)).log_prob
    kw = {'time_score': {}, 'divergence, log_q': dict(method='divergence', log_q=log),
          'divergence, log_p': dict(method='divergence', log_p=log)}[route]
    call = lambda x: models['flow'].log_density_ratio(x, **kw)
    event('valid input' if valid else 'invalid input')
    if valid:
        v = call(x)
        assert v.shape == (n,) and torch.isfinite(v).all()
    else:
        with pytest.raises((ValueError, TypeError), match='x'): call(x)


@FUZZ
@given(n=st.one_of(st.integers(-3, 5), st.floats(-2, 5), st.booleans(), st.just('4'), st.none()))
def test_generate_takes_a_positive_int(n):
    "DSB.generate(n) with the OU reference: n draws, or an error naming n."
    gen = _ou_dsb()
    valid = isinstance(n, int) and not isinstance(n, bool) and n >= 1
    if valid:
        y = gen.generate(n, seed=0)
        assert y.shape == (n, D) and torch.isfinite(y).all()
    else:
        with pytest.raises((ValueError, TypeError), match='n'): gen.generate(n, seed=0)


_OU = {}
def _ou_dsb():
    "A tiny DSB with the OU reference, fitted once (generate needs its backward chain)."
    if not _OU:
        torch.manual_seed(0)
        _OU['m'] = DSB(D, n_time_steps=4, reference='ou', **TINY).fit(moons, None, n_ipf=1, n_iters=3, n_cache=32,
                                                                     batch_size=16, **QUIET)
    return _OU['m']


FIT_SOURCES = {   # a fitting verb called with `x` as its source (two steps): it fits, or names the argument
    'OTFlow.fit_init': (lambda x: OTFlow(D, n_time_steps=2, **TINY).fit_init(x, moons, n_iters=2, batch_size=8, **QUIET),
                        'source'),
    'SCONES.fit_dual': (lambda x: SCONES(D, eps=1.0, **TINY).fit_dual(x, moons, n_iters=2, batch_size=8, **QUIET),
                        'source'),
    'DSB.fit': (lambda x: DSB(D, n_time_steps=2, **TINY).fit(x, moons, n_ipf=1, n_iters=2, n_cache=8, batch_size=8,
                                                            n_eval=4, **QUIET), 'source'),
    'MultimarginalInterpolant.fit': (lambda x: MultimarginalInterpolant(D, n_marginals=2, **TINY).fit(
        [x, moons], n_iters=2, batch_size=8, **QUIET), 'marginals'),
    'IterativeAlignmentFlow.fit': (lambda x: IterativeAlignmentFlow(n_layers=1, n_iters=2).fit(
        [x, moons(16, generator=torch.Generator().manual_seed(0))], **QUIET), 'classes'),
}
MIN_FIT_ROWS = {'IterativeAlignmentFlow.fit': 4}     # a 1D map needs a few points per class (documented)
PART = {'OTFlow.fit_init': 'flow', 'SCONES.fit_dual': 'dual', 'DSB.fit': 'forward', 'MultimarginalInterpolant.fit': 'fields',
        'IterativeAlignmentFlow.fit': 'layers'}

@pytest.mark.parametrize('verb', list(FIT_SOURCES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
@given(case=samples())
def test_fit_sources_follow_the_rule(verb, case):
    x, valid, n = case
    valid = valid and n >= MIN_FIT_ROWS.get(verb, 1)
    call, name = FIT_SOURCES[verb]
    event('valid source' if valid else 'invalid source')
    if valid: assert call(x).n_fitted(PART[verb]) == 1
    else:
        with pytest.raises((ValueError, TypeError)) as info: call(x)
        assert name in str(info.value), (name, str(info.value))


@pytest.mark.parametrize('name', ['eight_gaussians', 'moons', 'checkerboard', 'spirals', 'swiss_roll', 'circles',
                                  'Gaussian'])
@FUZZ
@given(n=st.one_of(st.integers(-3, 9), st.floats(-2, 5), st.booleans(), st.just('4'), st.none()))
def test_data_samplers_take_a_count(name, n):
    "n ≥ 0 rows (n = 0 gives an empty (0, d) sample, as torch.randn does); anything else names n."
    from otnb.data import TOYS_2D, Gaussian
    draw = TOYS_2D[name] if name in TOYS_2D else Gaussian(torch.zeros(D), torch.eye(D))
    if isinstance(n, int) and not isinstance(n, bool) and n >= 0:
        y = draw(n)
        assert y.shape == (n, D) and torch.isfinite(y).all()
    else:
        with pytest.raises((ValueError, TypeError), match='n'): draw(n)


@FUZZ
@given(case=samples(), n_steps=st.sampled_from([1, 3, 0, -2, 2.5]), t1=st.sampled_from([1.0, 0.5, -1.0, math.nan]))
def test_integrators_follow_the_rule(case, n_steps, t1):
    "odeint and sdeint on a linear field: the end points `(n, d)`, finite, or an error naming the bad argument."
    from otnb.integrate import odeint, sdeint
    x, valid, n = case
    steps_ok = isinstance(n_steps, int) and n_steps >= 1
    calls = {'odeint': lambda: odeint(lambda t, z: -z, x, 0.0, t1, n_time_steps=n_steps),
             'sdeint': lambda: sdeint(lambda t, z: -z, lambda t, z: torch.ones_like(z), x, 0.0, t1,
                                      n_time_steps=n_steps, seed=0)}
    # the integrators take floating-point tensors (the verbs convert what users hold before they call them)
    tensor = isinstance(x, torch.Tensor) and x.is_floating_point()
    for name, call in calls.items():
        times_ok = math.isfinite(t1) and (t1 > 0 or name == 'odeint')       # sdeint runs forward in time only
        if tensor and valid and steps_ok and times_ok:
            y = call()
            assert y.shape == (n, D) and torch.isfinite(y).all(), name
        elif not tensor or not steps_ok or not times_ok:
            with pytest.raises((ValueError, TypeError)) as info: call()
            said = str(info.value)
            assert any(k in said for k in ('x0', 'n_time_steps', 't1')), (name, said)
        # a tensor with NaN or a bad shape is the caller's to check: the verbs do (no host sync in the integrator)


@FUZZ
@given(i=st.one_of(st.integers(-1, 3), st.floats(0, 2), st.booleans()), j=st.integers(-1, 3),
       via=st.one_of(st.none(), st.integers(-1, 3)), n_iters=st.sampled_from([1, 2, 0, -1]),
       batch_size=st.sampled_from([8, 0]), n_time_steps=st.sampled_from([2, 0]))
def test_optimize_path_follows_the_rule(models, i, j, via, n_iters, batch_size, n_time_steps):
    "Vertex indices are ints in [0, K] (i ≠ j, via a third one); counts are ints ≥ 1; else an error naming one of them."
    from otnb.interpolants import FourierPath
    V = models['interp'].n_vertices
    is_index = lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v < V
    valid = (is_index(i) and is_index(j) and i != j and (via is None or is_index(via) and via not in (i, j))
             and n_iters >= 1 and batch_size >= 1 and n_time_steps >= 1)
    call = lambda: models['interp'].optimize_path(i, j, via=via, n_iters=n_iters, batch_size=batch_size,
                                                  n_time_steps=n_time_steps)
    event('valid' if valid else 'invalid')
    if valid:
        path = call()
        alpha = path(torch.linspace(0, 1, 5))
        assert isinstance(path, FourierPath) and torch.isfinite(alpha).all()
    else:
        with pytest.raises((ValueError, TypeError)) as info: call()
        said = str(info.value)
        assert any(k in said for k in ('i ', 'j ', 'via', 'n_iters', 'batch_size', 'n_time_steps', 'i and j')), said
