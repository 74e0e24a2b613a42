"""Nothing lost on failure: every fitting verb of every estimator either completes or leaves the estimator bitwise as it
was, whether the fit meets a NaN, a sampler that raises, or Ctrl-C (KeyboardInterrupt) mid-way; saves are atomic."""
import copy, math, os
from pathlib import Path
import pytest, torch
from otnb.data import moons
from otnb.dsb import DSB
from otnb.scones import SCONES
from otnb.otflow import OTFlow
from otnb.interpolants import MultimarginalInterpolant
import otnb.alignment as alignment
from otnb.alignment import IterativeAlignmentFlow


class Flaky:
    "A sampler of the moons that fails from its `k`-th call on: NaN rows, or raising `exc`."
    def __init__(self, k: int, exc: BaseException | None = None): self.k, self.exc, self.calls = k, exc, 0

    def __call__(self, n, generator=None):
        self.calls += 1
        x = moons(n, generator=generator)
        if self.calls < self.k: return x
        if self.exc is not None: raise self.exc
        return x * math.nan


def state_of(est) -> tuple:
    "Everything a fit may change, copied: the state dict (weights, buffers, fitted counts) and the history."
    return copy.deepcopy(est.state_dict()), copy.deepcopy(est.history)


def assert_unchanged(est, before):
    state, history = state_of(est)
    assert state.keys() == before[0].keys()
    for k, v in state.items():
        if isinstance(v, torch.Tensor): assert torch.equal(v, before[0][k]), k          # bitwise, every tensor
        else: assert v == before[0][k], k                                              # the fitted counts
    assert history == before[1]


TINY = dict(width=16, depth=1)

# (name, a fitted estimator, a call of one fitting verb with a source that fails mid-way, the failing call k)
# reflow draws its pairs once, up front, so its source fails at once (k = 1) and the NaN meets the training loop
def cases():
    dsb = DSB(2, n_time_steps=4, **TINY).fit(moons, moons, n_ipf=1, n_iters=5, n_cache=64, batch_size=16, progress=False)
    yield 'DSB.fit', 3, dsb, lambda m, bad: m.fit(bad, moons, n_ipf=2, n_iters=5, n_cache=64, refresh=2, batch_size=16,
                                                progress=False)
    sc = SCONES(2, eps=1.0, **TINY).fit(moons, moons, n_iters=5, batch_size=16, progress=False)
    for verb in ('fit', 'fit_dual', 'fit_projector'):
        yield f'SCONES.{verb}', 3, sc, lambda m, bad, verb=verb: getattr(m, verb)(bad, moons, n_iters=20, batch_size=16,
                                                                               progress=False)
    yield 'SCONES.fit_score', 3, sc, lambda m, bad: m.fit_score(bad, n_iters=20, batch_size=16, progress=False)
    fl = OTFlow(2, n_time_steps=4, **TINY).fit(moons, moons, n_iters=5, reflow_iters=0, n_rounds=0, progress=False)
    yield 'OTFlow.fit', 3, fl, lambda m, bad: m.fit(bad, moons, n_iters=20, reflow_iters=0, n_rounds=0, progress=False)
    yield 'OTFlow.reflow', 1, fl, lambda m, bad: m.reflow(bad, n_iters=20, progress=False)
    yield 'OTFlow.refine', 3, fl, lambda m, bad: m.refine(bad, moons, n_rounds=2, flow_iters=3, clf_iters=3, warmup_iters=3,
                                                       batch_size=32, n_check=64, tol=0, progress=False)
    yield 'OTFlow.fit_ratio', 3, fl, lambda m, bad: m.fit_ratio(moons, bad, n_iters=20, batch_size=16, progress=False)
    mi = MultimarginalInterpolant(2, n_marginals=2, **TINY).fit([moons, moons], n_iters=5, batch_size=16, progress=False)
    yield 'MultimarginalInterpolant.fit', 3, mi, lambda m, bad: m.fit([bad, moons], n_iters=20, batch_size=16,
                                                                   progress=False)

CASES = list(cases())


@pytest.mark.parametrize('name,k,est,call', CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize('failure', ['nan', 'interrupt', 'error'])
def test_a_failed_fit_leaves_the_estimator_as_it_was(name, k, est, call, failure):
    est = copy.deepcopy(est)
    before = state_of(est)
    exc = {'nan': None, 'interrupt': KeyboardInterrupt(), 'error': RuntimeError('the data source went away')}[failure]
    bad = Flaky(k, exc)
    with pytest.raises((FloatingPointError, ValueError, KeyboardInterrupt, RuntimeError)) as info:
        call(est, bad)
    assert bad.calls >= k, f"{name} failed before the source did ({bad.calls} calls): {info.value!r}"
    assert any('unchanged' in n for n in getattr(info.value, '__notes__', [])), info.value
    assert_unchanged(est, before)


def test_a_diverging_refine_keeps_the_flow():
    "The case that was reported: refine with lr=1e30 raised at step 1 and left the net non-finite."
    fl = OTFlow(2, n_time_steps=4, **TINY).fit(moons, moons, n_iters=20, reflow_iters=0, n_rounds=0, progress=False)
    before = state_of(fl)
    with pytest.raises(FloatingPointError):
        fl.refine(moons, moons, n_rounds=2, flow_iters=3, clf_iters=3, warmup_iters=0, batch_size=32, n_check=64,
                  lr=1e30, tol=0, progress=False)
    assert_unchanged(fl, before)


@pytest.mark.parametrize('failure', [KeyboardInterrupt(), RuntimeError('out of memory')])
def test_a_failed_alignment_fit_leaves_the_flow(monkeypatch, failure):
    "The alignment flow's fit takes tensors, so the failure is injected into its third layer's 1D maps."
    classes = [moons(200, generator=torch.Generator().manual_seed(c)) + c for c in range(2)]
    flow = IterativeAlignmentFlow(n_layers=4, n_iters=5).fit(classes, progress=False)
    before = state_of(flow)
    real, calls = alignment._fit_maps, []
    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) >= 3: raise failure
        return real(*args, **kwargs)
    monkeypatch.setattr(alignment, '_fit_maps', failing)
    with pytest.raises(type(failure)):
        flow.fit(classes, progress=False)
    assert len(calls) >= 3
    assert_unchanged(flow, before)


def test_an_interrupted_save_leaves_the_old_checkpoint(tmp_path, monkeypatch):
    fl = OTFlow(2, **TINY)
    fl.save(tmp_path / 'flow.pt')
    real_save = torch.save
    def killed(obj, f, *args, **kwargs):          # half a file, then the process "dies"
        Path(f).write_bytes(b'not a whole checkpoint')
        raise KeyboardInterrupt
    monkeypatch.setattr(torch, 'save', killed)
    with pytest.raises(KeyboardInterrupt): OTFlow(2, **TINY).save(tmp_path / 'flow.pt')
    monkeypatch.setattr(torch, 'save', real_save)
    loaded = OTFlow.from_checkpoint(tmp_path / 'flow.pt')
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), fl.state_dict().values())
               if isinstance(a, torch.Tensor))
    assert os.listdir(tmp_path) == ['flow.pt']
