"""One vocabulary for the whole package (the conventions of 00_core), and nbdev's own idiom for methods."""
import inspect
import pytest
import otnb
from otnb import core, data, gaussian, metrics, nets, integrate, train, interpolants, otflow, dsb, scones, alignment
from otnb._modidx import d as modidx

MODULES = [core, data, gaussian, metrics, nets, integrate, train, interpolants, otflow, dsb, scones, alignment]
# names the conventions replaced: optimisation iterations are n_iters, time grids n_time_steps, batches batch_size
RETIRED = {'n_steps': 'n_iters or n_time_steps', 'batch': 'batch_size', 'n_t': 'n_time_steps', 'init_steps': 'init_iters',
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
