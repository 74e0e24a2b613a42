"""Fail unless the notebooks are clean and otnb/ is exactly what nbdev_export makes of them."""
import subprocess, sys
from pathlib import Path

bin_dir = Path(sys.executable).parent

def run(*cmd):
    subprocess.run([str(bin_dir / cmd[0]), *cmd[1:]], check=True)

def changed():
    out = subprocess.run(['git', 'status', '--porcelain', '--', 'otnb', 'nbs'], check=True,
                         capture_output=True, text=True).stdout
    return out.strip()

before = changed()
run('nbdev_clean')
run('nbdev_export')
after = changed()
if after != before:
    print('nbdev_clean / nbdev_export changed these files:\n' + after)
    print('Run `nbdev_export && nbdev_clean` and commit the result.')
    sys.exit(1)
if before:
    print('Uncommitted changes under otnb/ or nbs/ (not judged here):\n' + before)
print('notebooks clean, library in sync')
