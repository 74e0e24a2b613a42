"""Fail unless the notebooks are clean and otnb/ is exactly what nbdev_export makes of them.

The check compares the bytes of every file under nbs/ and otnb/ before and after `nbdev_clean` and `nbdev_export`,
so a file that was already modified (uncommitted) is judged too: any change the tools make is a failure.
"""
import hashlib, subprocess, sys
from pathlib import Path

bin_dir = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent

def run(*cmd):
    subprocess.run([str(bin_dir / cmd[0]), *cmd[1:]], check=True, cwd=ROOT)

def snapshot() -> dict:
    "Path -> sha256 of every file the tools may write."
    return {str(p.relative_to(ROOT)): hashlib.sha256(p.read_bytes()).hexdigest()
            for d in ('nbs', 'otnb') for p in sorted((ROOT / d).rglob('*'))
            if p.is_file() and '__pycache__' not in p.parts and '.ipynb_checkpoints' not in p.parts}

def uncommitted() -> str:
    return subprocess.run(['git', 'status', '--porcelain', '--', 'otnb', 'nbs'], check=True, capture_output=True,
                          text=True, cwd=ROOT).stdout.strip()

if __name__ == '__main__':
    before = snapshot()
    run('nbdev_clean')
    run('nbdev_export')
    after = snapshot()
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    if changed:
        print('nbdev_clean / nbdev_export changed these files:\n  ' + '\n  '.join(changed))
        print('Run `nbdev_export && nbdev_clean` and commit the result.')
        sys.exit(1)
    if uncommitted(): print('Uncommitted changes under otnb/ or nbs/ (clean and in sync, but not committed):\n' + uncommitted())
    print('notebooks clean, library in sync')
