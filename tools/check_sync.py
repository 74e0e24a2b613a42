"""Fail unless the notebooks are clean and otnb/ is exactly what nbdev_export makes of them.

The check runs `nbdev_clean` and `nbdev_export` on a copy of the project (settings.ini, _quarto.yml, nbs/, otnb/) in a
temporary folder and compares the bytes of every file under nbs/ and otnb/ with the working tree's. The working tree is
never written, so uncommitted edits are judged, not overwritten: any change the tools would make is a failure.
"""
import hashlib, shutil, subprocess, sys, tempfile
from pathlib import Path

bin_dir = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent
COPIED = ('settings.ini', '_quarto.yml', 'nbs', 'otnb')
SKIP = ('__pycache__', '.ipynb_checkpoints')

def snapshot(root: Path) -> dict:
    "Path -> sha256 of every file under nbs/ and otnb/ that the tools may write."
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for d in ('nbs', 'otnb') for p in sorted((root / d).rglob('*'))
            if p.is_file() and not any(s in p.parts for s in SKIP)}

def copy_project(dst: Path):
    for name in COPIED:
        src = ROOT / name
        if src.is_dir(): shutil.copytree(src, dst / name, symlinks=True, ignore=shutil.ignore_patterns(*SKIP))
        elif src.exists(): shutil.copy2(src, dst / name)

def uncommitted() -> str:
    return subprocess.run(['git', 'status', '--porcelain', '--', 'otnb', 'nbs'], check=True, capture_output=True,
                          text=True, cwd=ROOT).stdout.strip()

if __name__ == '__main__':
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        copy_project(work)
        for tool in ('nbdev_clean', 'nbdev_export'):
            subprocess.run([str(bin_dir / tool)], check=True, cwd=work)
        before, after = snapshot(ROOT), snapshot(work)
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    if changed:
        print('nbdev_clean / nbdev_export would change these files:\n  ' + '\n  '.join(changed))
        print('Run `nbdev_export && nbdev_clean` and commit the result.')
        sys.exit(1)
    if uncommitted(): print('Uncommitted changes under otnb/ or nbs/ (clean and in sync, but not committed):\n' + uncommitted())
    print('notebooks clean, library in sync')
