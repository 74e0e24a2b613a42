"""Install otnb as a user would, and check that its runtime requirements are exactly what `otnb/` imports.

Usage: python tools/install_check.py [--keep DIR]

1. The requirements in settings.ini name exactly the distributions that `otnb/*.py` imports (parsed with ast).
2. `python -m build` makes the sdist and the wheel; `twine check` reads their metadata.
3. A fresh virtual environment (no dev extras) installs the wheel, pinned to the torch of the calling
   environment by a constraints file, so that pip takes the same build (from this machine's disk, or its cache)
   instead of a multi-GB CUDA one; `pip check` must pass.
4. The README's first example runs there, from an empty folder, so that only the installed package can be imported.
"""
import argparse, ast, configparser, importlib.metadata as md, re, shlex, shutil, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def canonical(name): return re.sub(r'[-_.]+', '-', name).lower()


def declared_requirements():
    "The distribution names of settings.ini's `requirements`."
    cfg = configparser.ConfigParser(delimiters=['='])
    cfg.read(ROOT / 'settings.ini', encoding='utf-8')
    reqs = shlex.split(cfg['DEFAULT'].get('requirements', ''))
    return {canonical(re.split(r'[<>=!~;\[ ]', r, maxsplit=1)[0]) for r in reqs}


def imported_modules(lib=ROOT / 'otnb'):
    "Top-level modules imported anywhere in the library (absolute imports only; relative ones are otnb itself)."
    mods = set()
    for f in lib.glob('*.py'):
        for node in ast.walk(ast.parse(f.read_text(encoding='utf-8'))):
            if isinstance(node, ast.Import): mods |= {a.name.split('.')[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                mods.add(node.module.split('.')[0])
    return mods - {'otnb', '__future__'} - set(sys.stdlib_module_names)


def imported_distributions():
    "The distributions that provide the library's imports, in this environment."
    owners = md.packages_distributions()
    missing = sorted(m for m in imported_modules() if m not in owners)
    if missing: raise SystemExit(f'otnb imports {missing}, which no installed distribution provides')
    return {canonical(d) for m in imported_modules() for d in owners[m]}


def check_requirements():
    declared, used = declared_requirements(), imported_distributions()
    if declared != used:
        raise SystemExit(f'settings.ini requirements and otnb/ imports differ: declared but not imported '
                         f'{sorted(declared - used)}, imported but not declared {sorted(used - declared)}')
    print(f'requirements = imports: {sorted(declared)}')


def first_example(readme=ROOT / 'README.md'):
    "The first code block after the README's heading '## A first example'."
    text = readme.read_text(encoding='utf-8').split('## A first example', 1)[1]
    return re.search(r'```[a-z]*\n(.*?)```', text, flags=re.S).group(1)


def run(cmd, **kw):
    print('$', ' '.join(map(str, cmd)), flush=True)
    subprocess.run(list(map(str, cmd)), check=True, **kw)


def main(work):
    t0 = time.time()
    check_requirements()
    dist, scratch = work / 'dist', ROOT / 'build'
    had_scratch = scratch.exists()
    try: run([sys.executable, '-m', 'build', '--sdist', '--wheel', '--outdir', dist, ROOT], stdout=subprocess.DEVNULL)
    finally:                                  # setuptools leaves build/lib in the source tree: not the project's
        if not had_scratch: shutil.rmtree(scratch, ignore_errors=True)
    run([sys.executable, '-m', 'twine', 'check', '--strict', *sorted(dist.iterdir())])
    venv = work / 'venv'
    run([sys.executable, '-m', 'venv', venv])
    py = venv / 'bin' / 'python'
    pin = work / 'torch-constraint.txt'
    import torch
    pin.write_text(f'torch=={torch.__version__}\n')
    wheel = next(dist.glob('*.whl'))
    run([py, '-m', 'pip', 'install', '-q', '--disable-pip-version-check', '-c', pin, wheel])
    run([py, '-m', 'pip', 'check'])
    empty = work / 'cwd'
    empty.mkdir()
    (empty / 'first_example.py').write_text(first_example())
    run([py, 'first_example.py'], cwd=empty)
    print(f'install check passed in {time.time() - t0:.0f} s')


if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--keep', type=Path, help='work in this folder and keep it (default: a temporary one)')
    args = ap.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        main(args.keep.resolve())
    else:
        with tempfile.TemporaryDirectory() as d: main(Path(d))
