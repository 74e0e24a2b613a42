"""One vocabulary for the whole package (the conventions of 00_core), and nbdev's own idiom for methods."""
import inspect
import pytest
import otnb
from otnb import core, data, gaussian, metrics, nets, integrate, train, distributed, interpolants, otflow, dsb, scones
from otnb import alignment
from otnb._modidx import d as modidx

MODULES = [core, data, gaussian, metrics, nets, integrate, train, distributed, interpolants, otflow, dsb, scones, alignment]
# names the conventions replaced: optimisation iterations are n_iters, time grids n_time_steps, batches batch_size
RETIRED = {'n_steps': 'n_iters or n_time_steps', 'batch': 'batch_size', 'n_t': 'n_time_steps', 'init_steps': 'n_iters',
           'ratio_steps': 'ratio_iters', 'flow_steps': 'flow_iters', 'clf_steps': 'clf_iters', 'generator_seed': 'seed'}
RETIRED_VERBS = {'sample_sde': 'sample', 'path_cost': 'transport_cost'}

def public_callables():
    for mod in MODULES:
        for name in getattr(mod, '__all__', []):
            obj = getattr(mod, name)
            if inspect.isclass(obj):
                for mname, meth in inspect.getmembers(obj, inspect.isfunction):
                    if not mname.startswith('_') and meth.__module__.startswith('otnb'): yield f'{mod.__name__}.{name}.{mname}', meth
                yield f'{mod.__name__}.{name}', obj.__init__
            elif callable(obj): yield f'{mod.__name__}.{name}', obj

@pytest.mark.parametrize('qualname, fn', list(public_callables()), ids=lambda v: v if isinstance(v, str) else '')
def test_argument_names(qualname, fn):
    params = inspect.signature(fn).parameters
    bad = {p: RETIRED[p] for p in params if p in RETIRED}
    assert not bad, f"{qualname} takes {sorted(bad)}: the conventions say {bad}"

@pytest.mark.parametrize('cls', [interpolants.MultimarginalInterpolant, otflow.OTFlow])
def test_verbs(cls):
    for old, new in RETIRED_VERBS.items(): assert not hasattr(cls, old), f"{cls.__name__}.{old}: the verb is {new}"
    for verb in ('fit', 'transport', 'inverse', 'transport_cost', 'save', 'load', 'from_checkpoint'): assert hasattr(cls, verb), verb

@pytest.mark.parametrize('method', ['fit_init', 'refine', 'fit_ratio', 'fit', 'log_density_ratio'])
def test_patched_methods_are_named_for_their_class(method):
    fn = getattr(otflow.OTFlow, method)
    assert fn.__qualname__ == f'OTFlow.{method}'                       # tracebacks and show_doc
    syms = modidx['syms']['otnb.otflow']
    assert f'otnb.otflow.OTFlow.{method}' in syms and not any(k.endswith(f'._{method}') for k in syms)
    from nbdev.showdoc import show_doc
    assert f'OTFlow.{method}' in show_doc(fn)._repr_markdown_()

def test_dsb_methods_are_named_for_their_class():
    syms = modidx['syms']['otnb.dsb']
    for m in ('fit', 'sample', 'generate', 'prior'): assert f'otnb.dsb.DSB.{m}' in syms, m
    assert dsb.DSB.fit.__qualname__ == 'DSB.fit'

def test_scones_methods_are_named_for_their_class():
    syms = modidx['syms']['otnb.scones']
    for m in ('fit', 'fit_dual', 'fit_score', 'fit_projector', 'transport', 'sample', 'log_compatibility', 'score', 'sigmas'):
        assert f'otnb.scones.SCONES.{m}' in syms, m
    assert scones.SCONES.sample.__qualname__ == 'SCONES.sample'

def test_interpolant_methods_are_named_for_their_class():
    syms = modidx['syms']['otnb.interpolants']
    for m in ('fit', 'transport', 'inverse', 'transport_cost', 'sample', 'score', 'optimize_path'):
        assert f'otnb.interpolants.MultimarginalInterpolant.{m}' in syms, m

def test_alignment_methods_are_named_for_their_class():
    syms = modidx['syms']['otnb.alignment']
    for m in ('fit', 'transform', 'inverse', 'translate', 'save', 'load', 'from_checkpoint'):
        assert hasattr(alignment.IterativeAlignmentFlow, m), m
    for m in ('fit', 'transform', 'inverse', 'translate'): assert f'otnb.alignment.IterativeAlignmentFlow.{m}' in syms, m
    assert alignment.IterativeAlignmentFlow.transform.__qualname__ == 'IterativeAlignmentFlow.transform'

def test_fastcore_is_a_runtime_requirement():
    from configparser import ConfigParser
    from pathlib import Path
    cfg = ConfigParser(); cfg.read(Path(otnb.__file__).parents[1] / 'settings.ini')
    req = cfg['DEFAULT']['requirements'].split()
    assert any(r.startswith('fastcore') for r in req) and not any(r.startswith('scipy') for r in req)

# --- the API table of 00_core (`core.API_ROLES`, `core.RETIRED`), checked against every estimator's verbs ---
ESTIMATORS = {c.__name__: c for c in (dsb.DSB, scones.SCONES, otflow.OTFlow, interpolants.MultimarginalInterpolant,
                                      alignment.IterativeAlignmentFlow)}
SAMPLING_VERBS = ('sample', 'generate', 'transport', 'inverse', 'transform', 'translate', 'transport_cost',
                  'log_density_ratio', 'langevin_metric')

def estimator_verbs():
    for cname, cls in ESTIMATORS.items():
        yield f'{cname}.__init__', cls.__init__
        for name, fn in inspect.getmembers(cls, inspect.isfunction):
            if not name.startswith('_') and fn.__module__.startswith('otnb'): yield f'{cname}.{name}', fn

def resolve(qualname):
    cname, verb = qualname.split('.')
    return getattr(ESTIMATORS[cname], verb)

@pytest.mark.parametrize('name, meaning, verbs', core.API_ROLES, ids=[r[0] for r in core.API_ROLES])
def test_every_verb_in_the_table_takes_its_name(name, meaning, verbs):
    missing = [v for v in verbs if name not in inspect.signature(resolve(v)).parameters]
    assert not missing, f"the API table says {missing} take {name!r}"

@pytest.mark.parametrize('qualname, fn', list(estimator_verbs()), ids=lambda v: v if isinstance(v, str) else '')
def test_no_verb_takes_a_retired_name(qualname, fn):
    params = inspect.signature(fn).parameters
    bad = {p: core.RETIRED[p] for p in params if p in core.RETIRED}
    assert not bad, f"{qualname} takes {sorted(bad)}: the table says {bad}"
    if qualname.split('.')[1] in SAMPLING_VERBS: assert 'n_iters' not in params, f"{qualname}: a sampler's steps are not n_iters"

def test_the_roles_are_named_once():
    names = [r[0] for r in core.API_ROLES]
    assert len(names) == len(set(names)) and not set(names) & set(core.RETIRED)

def tiny_estimators():
    yield dsb.DSB(2, n_time_steps=2, width=8, depth=1)
    yield scones.SCONES(2, eps=1.0, width=8, depth=1)
    yield otflow.OTFlow(2, n_time_steps=2, width=8, depth=1)
    yield interpolants.MultimarginalInterpolant(2, 2, width=8, depth=1)
    yield alignment.IterativeAlignmentFlow(2)

@pytest.mark.parametrize('est', list(tiny_estimators()), ids=lambda e: type(e).__name__)
def test_retired_names_fail_loudly_and_name_their_replacement(est):
    checked = 0
    for qualname, fn in estimator_verbs():
        cls, verb = qualname.split('.')
        if cls != type(est).__name__ or not hasattr(fn, 'retired'): continue
        for old, new in fn.retired.items():
            with pytest.raises(TypeError, match=f"{cls}.{verb}\\(\\) no longer takes '{old}': it is now '{new}'"):
                getattr(est, verb)(**{old: None})
            checked += 1
    assert checked, f"{type(est).__name__} has no renamed verb"

@pytest.mark.parametrize('est', list(tiny_estimators()), ids=lambda e: type(e).__name__)
def test_fitted_state_lives_on_the_host_and_travels_with_the_weights(est, tmp_path):
    assert not est.is_fitted() and all(est.n_fitted(p) == 0 for p in est.fitted_parts)
    for p in est.fitted_parts: est.mark_fitted(p)
    assert est.is_fitted() and isinstance(est._fitted, dict)
    est.save(tmp_path / 'e.pt')
    again = type(est).from_checkpoint(tmp_path / 'e.pt')
    assert again.is_fitted() and again._fitted == est._fitted
