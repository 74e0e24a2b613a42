"""Diffusion Schrödinger bridge: bad input, the oracle's identities, reproducibility, save/load, inputs as users hold them."""
import numpy as np
import torch, pytest
from otnb.core import make_generator
from otnb.data import Gaussian, moons, eight_gaussians
from otnb.gaussian import gaussian_entropic_plan
from otnb.dsb import DSB, gaussian_dsb_oracle, reference_chain, time_steps, endpoint_kernel, ou_static_bridge

def small(**kw): return DSB(2, n_time_steps=4, width=16, depth=1, **kw)
FIT = dict(n_ipf=1, n_iters=3, batch_size=8, n_cache=16, refresh=2, n_eval=8, progress=False)

def test_bad_input():
    with pytest.raises(ValueError, match='n_time_steps must be >= 1'): DSB(2, n_time_steps=0)
    with pytest.raises(ValueError, match='sigma must be > 0'): DSB(2, sigma=0.)
    with pytest.raises(ValueError, match='horizon must be > 0'): DSB(2, horizon=-1.)
    with pytest.raises(ValueError, match="reference must be 'brownian' or 'ou'"): DSB(2, reference='vp')
    with pytest.raises(ValueError, match="schedule must be 'constant' or 'symmetric'"): DSB(2, schedule='cosine')
    with pytest.raises(ValueError, match='needs γ_k < s²'): DSB(2, n_time_steps=1, sigma=2., reference='ou')
    with pytest.raises(TypeError, match='prior must be a Gaussian'): DSB(2, reference='ou', prior=torch.zeros(2))
    with pytest.raises(ValueError, match='prior must have dimension 2'): DSB(2, reference='ou', prior=Gaussian.standard(3))
    m = small()
    with pytest.raises(ValueError, match='source must produce dimension 2, got 3'): m.fit(torch.zeros(10, 3), moons, **FIT)
    with pytest.raises(ValueError, match=r'target contains NaN'): m.fit(moons, torch.full((4, 2), float('nan')), **FIT)
    with pytest.raises(ValueError, match='n_ipf must be >= 1'): m.fit(moons, moons, n_ipf=0)
    with pytest.raises(ValueError, match='x contains NaN'): m.sample(torch.tensor([[0., float('nan')]]))
    with pytest.raises(ValueError, match='m1 must have length 2'): gaussian_dsb_oracle(torch.zeros(2), torch.eye(2), torch.zeros(3), torch.eye(3), torch.ones(3), 1)

def test_oracle_first_pass_is_exact_denoising_and_chain_kernel_is_brownian():
    # the N-step Brownian chain's endpoint kernel is N(x, σ²T): the static bridge of the continuous problem, whatever N
    for N in (1, 7, 50):
        a, v = endpoint_kernel(*reference_chain(time_steps(N, horizon=1.5), sigma=0.8))
        assert a == 1.0 and abs(v - 0.8 ** 2 * 1.5) < 1e-12
    # the oracle approaches the continuous bridge as N grows
    m0, m1, S = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)
    _, plan = gaussian_entropic_plan(m0, S, m1, S, eps=2.0)
    gaps = [(gaussian_dsb_oracle(m0, S, m1, S, reference_chain(time_steps(N))[0], 10)['cov'] - plan).abs().max().item() for N in (10, 40, 160)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 2e-3

def test_ou_static_bridge_reduces_to_brownian_when_a_is_one():
    m0, m1 = torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    S0, S1 = torch.eye(2, dtype=torch.float64), 2 * torch.eye(2, dtype=torch.float64)
    mo, So = ou_static_bridge(m0, S0, m1, S1, 1.0, 0.7)
    mb, Sb = gaussian_entropic_plan(m0, S0, m1, S1, eps=1.4)
    torch.testing.assert_close(So, Sb); torch.testing.assert_close(mo, mb)

def test_same_seed_same_fit():
    def run():
        torch.manual_seed(0)
        return small().fit(moons, eight_gaussians, seed=3, **FIT).history
    assert run() == run()

def test_save_load(tmp_path):
    m = small(reference='ou', prior=Gaussian(torch.ones(2), 2 * torch.eye(2))).fit(moons, None, **FIT)
    m.save(tmp_path / 'd.pt')
    m2 = DSB.from_checkpoint(tmp_path / 'd.pt')
    x = torch.randn(6, 2)
    for reverse in (False, True):
        assert torch.equal(m.sample(x, reverse=reverse, seed=1), m2.sample(x, reverse=reverse, seed=1))
    assert torch.equal(m.generate(5, seed=2), m2.generate(5, seed=2)) and m2.history == m.history and m2.prior_var == 2.0
    m3 = small(reference='ou', prior=Gaussian(torch.ones(2), 2 * torch.eye(2))).load(tmp_path / 'd.pt')
    assert torch.equal(m3.sample(x, reverse=True, seed=1), m.sample(x, reverse=True, seed=1))

def test_inputs_as_users_hold_them():
    m = small().fit(moons(64).numpy().astype(np.float64), eight_gaussians(64).double(), **FIT)
    x = torch.randn(5, 2)
    for given in (x.double(), x.numpy(), x.tolist()):
        for reverse in (False, True):
            y = m.sample(given, reverse=reverse, seed=0)
            assert y.dtype == torch.float32 and y.device == m.device
            torch.testing.assert_close(y, m.sample(x, reverse=reverse, seed=0))
    assert m.double().sample(x, seed=0).dtype == torch.float64

@pytest.mark.parametrize('parametrization', ['mean', 'increment'])
def test_both_parametrizations_and_cold_starts_fit(parametrization):
    m = small(parametrization=parametrization, schedule='symmetric')
    m.fit(moons, eight_gaussians, warm_start=False, **FIT)
    assert torch.isfinite(m.sample(torch.randn(4, 2), reverse=True, last_noise=False)).all()


def test_a_continued_fit_draws_a_new_stream():
    "seed=None (the default) seeds by the IPF iterations done: a second call draws anew; an explicit seed is kept."
    firsts = []
    def source(n, generator=None):
        firsts.append(torch.rand(1, generator=generator).item())
        return moons(n, generator=generator)
    kw = dict(n_ipf=1, n_iters=2, n_cache=16, batch_size=8, n_eval=4, progress=False)
    m = DSB(2, n_time_steps=4, width=8, depth=1)
    m.fit(source, moons, **kw)
    m.fit(source, moons, **kw)
    assert firsts[0] != firsts[len(firsts) // 2]                     # the second call's stream is not the first's
    firsts.clear()
    m.fit(source, moons, seed=0, **kw)
    m.fit(source, moons, seed=0, **kw)
    assert firsts[0] == firsts[len(firsts) // 2]                     # seed=0 twice: the same stream, as asked
