"""OT flow: bad input, reproducibility, save/load, inputs as users hold them, the API's names and docs."""
import math
import numpy as np
import torch, pytest
from otnb.data import moons, checkerboard, Gaussian
from otnb.integrate import kinetic
from otnb.nets import broadcast_time
from otnb.otflow import OTFlow, optimality_gap

def small(**kw): return OTFlow(2, width=16, depth=1, n_time_steps=4, **kw)

def test_bad_input():
    f = small()
    with pytest.raises(ValueError, match='gamma must be'): OTFlow(2, gamma=-1.)
    with pytest.raises(ValueError, match='n_time_steps must be'): OTFlow(2, n_time_steps=0)
    with pytest.raises(ValueError, match=r'x must have dimension d=2'): f.transport(torch.zeros(4, 3))
    with pytest.raises(ValueError, match='y contains NaN'): f.inverse(torch.tensor([[0., float('nan')]]))
    with pytest.raises(ValueError, match="coupling must be one of"): f.fit_init(moons, checkerboard, n_iters=1, coupling='entropic')
    with pytest.raises(ValueError, match='n_pairs must be'): f.reflow(moons, n_pairs=0)
    with pytest.raises(ValueError, match='source must produce dimension 2, got 3'): f.reflow(torch.zeros(10, 3))
    with pytest.raises(ValueError, match="rel_eps must be > 0"): f.fit_init(moons, checkerboard, n_iters=1, coupling='sinkhorn', rel_eps=-1.)
    with pytest.raises(ValueError, match='target must produce dimension 2, got 3'): f.fit_init(moons, torch.zeros(10, 3), n_iters=1, progress=False)
    with pytest.raises(ValueError, match='target must produce dimension 2, got 3'): f.fit_init(moons, lambda n: torch.zeros(n, 3), n_iters=1, progress=False)
    with pytest.raises(ValueError, match='source must contain at least 1'): f.fit_init(torch.zeros(0, 2), moons, n_iters=1, progress=False)
    with pytest.raises(ValueError, match='OTFlow.log_density_ratio needs the time_score fitted'): f.log_density_ratio(torch.zeros(3, 2))
    with pytest.raises(ValueError, match="method must be 'time_score' or 'divergence'"): f.log_density_ratio(torch.zeros(3, 2), method='kde')
    with pytest.raises(ValueError, match='exactly one of log_p and log_q'): f.log_density_ratio(torch.zeros(3, 2), method='divergence')
    with pytest.raises(ValueError, match='n_rounds must be'): f.refine(moons, checkerboard, n_rounds=-1)
    with pytest.raises(ValueError, match='flow_iters must be'): f.refine(moons, checkerboard, flow_iters=0)
    with pytest.raises(ValueError, match='warmup_iters must be'): f.refine(moons, checkerboard, warmup_iters=-1)
    with pytest.raises(ValueError, match='tol must be'): f.refine(moons, checkerboard, tol=-0.1)
    with pytest.raises(ValueError, match='n_check must be'): f.refine(moons, checkerboard, n_check=1)
    with pytest.raises(ValueError, match='same shape'): optimality_gap(torch.zeros(4, 2), torch.zeros(5, 2))
    with pytest.raises(ValueError, match='y contains NaN'): optimality_gap(torch.zeros(4, 2), torch.full((4, 2), float('nan')))
    with pytest.raises(ValueError, match='K >= 1'): kinetic(torch.zeros(1, 4, 2))

def test_all_stages_record_history():
    f = small()
    f.fit(moons(64), checkerboard(64), n_iters=3, n_rounds=0, ratio_iters=2, progress=False)
    f.refine(moons(64), checkerboard(64), n_rounds=1, n_check=0, progress=False)    # every round runs: no gap is read
    for key, n in (('init', 3), ('classifier_p', 100 + 500), ('refine_p', 20), ('classifier_q', 100 + 500), ('refine_q', 20), ('ratio', 2)):
        assert len(f.history[key]) == n, key
    assert f.transport(torch.randn(8, 2), return_path=True).shape == (5, 8, 2)

def test_same_seed_same_fit():
    def run():
        torch.manual_seed(0)
        return small().fit(moons, checkerboard, n_iters=4, n_rounds=1, progress=False, seed=2).history
    assert run() == run()

def test_save_load(tmp_path):
    f = small().fit(moons, checkerboard, n_iters=3, n_rounds=0, ratio_iters=2, progress=False)
    f.save(tmp_path / 'f.pt')
    g = OTFlow.from_checkpoint(tmp_path / 'f.pt')
    x = torch.randn(5, 2)
    assert torch.equal(f.transport(x), g.transport(x))
    assert torch.equal(f.log_density_ratio(x), g.log_density_ratio(x))
    own = OTFlow(2, net=lambda t, x: x)
    own.save(tmp_path / 'own.pt')
    with pytest.raises(ValueError, match='with your own net'): OTFlow.from_checkpoint(tmp_path / 'own.pt')

def test_inputs_as_users_hold_them():
    f = small().fit(moons, checkerboard, n_iters=3, n_rounds=0, ratio_iters=2, progress=False)
    x = torch.randn(6, 2)
    log_n = lambda z: -(z ** 2).sum(1) / 2
    for given in (x.double(), x.numpy().astype(np.float64), x.numpy(), x.tolist()):
        for y in (f.transport(given), f.inverse(given), f.transport_cost(given), f.log_density_ratio(given),
                  f.log_density_ratio(given, method='divergence', log_q=log_n)):
            assert y.dtype == torch.float32 and y.device == f.device
        torch.testing.assert_close(f.transport(given), f.transport(x))
    f.double()
    assert f.transport(x).dtype == torch.float64 and f.log_density_ratio(x).dtype == torch.float64
    f.fit_init(moons(64).numpy(), checkerboard(64).numpy().astype(np.float32), n_iters=2, progress=False)

def test_divergence_route_exact_for_a_known_flow():
    # f(t, x) = x: T(x) = e·x, so Q = N(0, e² I) when P = N(0, I); the divergence route must recover log q/p exactly (up to RK4)
    f = OTFlow(2, net=lambda t, x: x, n_time_steps=50)
    P, Q = Gaussian(torch.zeros(2), torch.eye(2)), Gaussian(torch.zeros(2), torch.e ** 2 * torch.eye(2))
    x = torch.randn(10, 2)
    truth = Q.log_prob(x) - P.log_prob(x)
    assert torch.allclose(f.log_density_ratio(x, method='divergence', log_q=Q.log_prob), truth, atol=1e-4)
    assert torch.allclose(f.log_density_ratio(x, method='divergence', log_p=P.log_prob), truth, atol=1e-4)

def test_refine_skips_an_optimal_flow():
    # f(t, x) = c: a translation, which is an OT map, so the gap is 0 and refine must not touch the flow
    net = torch.nn.Linear(1, 2)
    with torch.no_grad(): net.weight.zero_(); net.bias.copy_(torch.tensor([1., -2.]))
    f = OTFlow(2, net=lambda t, x: net(torch.zeros(len(x), 1)).expand_as(x))
    f.refine(moons, lambda n, generator=None: moons(n, generator=generator) + torch.tensor([1., -2.]), progress=False)
    assert f.history['gap'] == [0.0] and 'refine_p' not in f.history

class _Rotation(torch.nn.Module):
    "f(t, x) = Wx + b, started as a rotation by 1.5 rad over unit time: a map that is far from optimal."
    def __init__(self):
        super().__init__(); self.lin = torch.nn.Linear(2, 2)
        with torch.no_grad(): self.lin.weight.copy_(torch.tensor([[0., -1.5], [1.5, 0.]])); self.lin.bias.zero_()
    def forward(self, t, x): return self.lin(x)

def test_refine_keeps_the_best_round_and_calls_back():
    torch.manual_seed(0)
    f = OTFlow(2, net=_Rotation(), width=16, depth=1, n_time_steps=4)
    states, rounds = [{k: v.clone() for k, v in f.net.state_dict().items()}], []
    def cb(r, flow): rounds.append(r); states.append({k: v.clone() for k, v in flow.net.state_dict().items()})
    f.refine(moons, checkerboard, n_rounds=3, flow_iters=3, clf_iters=3, warmup_iters=2, batch_size=64, n_check=200, tol=0., lr=1e-2,
             callback=cb, progress=False)
    gaps, arrivals, slack = f.history['gap'], f.history['arrival'], f.history['arrival_slack'][0]
    assert rounds == [1, 2, 3] and len(gaps) == len(arrivals) == 4 and slack > 0
    arrived = [i for i in range(4) if i == 0 or arrivals[i] <= max(arrivals[0], slack)]  # rounds whose images stay on Q
    best = min(arrived, key=lambda i: gaps[i])
    for k, v in f.net.state_dict().items(): assert torch.equal(v, states[best][k]), k
    g = small().fit_init(moons, checkerboard, n_iters=5, coupling='independent', progress=False)
    g.refine(moons, checkerboard, n_rounds=2, flow_iters=2, clf_iters=2, batch_size=32, n_check=0, callback=lambda r, flow: rounds.append(r), progress=False)
    assert rounds[3:] == [1, 2]                                        # the callback runs without the checks, too
    assert g.history.get('gap', []) == []                              # and no check was read

def test_optimality_gap():
    x = torch.randn(300, 3, dtype=torch.float64)
    assert optimality_gap(x, 2 * x + 1).item() < 1e-12                   # a gradient of a convex function
    assert optimality_gap(x, x).item() == 0.0
    flip = x.clone(); flip[:, 0] = -flip[:, 0]                             # a reflection is not monotone
    assert optimality_gap(x, flip).item() > 0.5
    assert optimality_gap(x.float(), (2 * x + 1).float()).dtype == torch.float64

class _Bent(torch.nn.Module):
    "f(t, x) = v + c·cos(2πt)·w: the translation by v along paths bent by c (∫cos = 0), with v and c trainable."
    def __init__(self):
        super().__init__()
        self.v, self.c = torch.nn.Parameter(torch.tensor([1., 0.])), torch.nn.Parameter(torch.tensor(2.))
    def forward(self, t, x):
        return (self.v + self.c * torch.cos(2 * math.pi * broadcast_time(t, x)) * torch.tensor([0., 1.])).expand_as(x)

def test_reflow_straightens_the_paths_and_keeps_the_map():
    torch.manual_seed(0)
    f = OTFlow(2, net=_Bent(), n_time_steps=20)
    x = moons(500)
    y0, cost0 = f.transport(x), f.transport_cost(x).item()
    assert abs(cost0 - 3) < 0.05                          # |v|² + c²|w|²/2: twice the displacement's cost
    f.reflow(moons, n_iters=400, lr=5e-2, progress=False)
    assert (f.transport(x) - y0).abs().max() < 0.02       # the same map, x + v ...
    assert f.transport_cost(x).item() < 1.02              # ... along straight lines, at the cost |v|² = 1


def test_refine_with_tol_zero_runs_every_round():
    "tol=0 is documented as 'every round': a gap clamped to exactly 0 must not stop it, nor skip it at the start."
    f = OTFlow(2, net=_Rotation(), width=16, depth=1, n_time_steps=4)
    f.refine(moons, moons, n_rounds=3, flow_iters=2, clf_iters=2, warmup_iters=0, batch_size=32, n_check=64, tol=0.,
             progress=False)
    assert len(f.history['gap']) == 4                                  # round 0 and three rounds
    g = OTFlow(2, net=_Scale(), width=16, depth=1, n_time_steps=4)   # x -> e^a x: a gradient map, gap 0 at round 0
    g.refine(moons, moons, n_rounds=2, flow_iters=1, clf_iters=1, warmup_iters=0, batch_size=32, n_check=64, tol=0.,
             progress=False)
    assert g.history['gap'][0] <= 1e-9 and len(g.history['gap']) == 3

class _Scale(torch.nn.Module):
    "f(t, x) = a x with a trainable scalar a: its flow x -> e^a x is the gradient of a convex function."
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(0.5))
    def forward(self, t, x): return self.a * x
