"""Run every benchmark script in bench/ at its default (full) settings; each saves its table in bench/results/."""
import subprocess, sys
from pathlib import Path

here = Path(__file__).parent
scripts = sorted(p for p in here.glob('*.py') if p.name not in ('run_all.py', 'common.py'))
for s in scripts:
    print(f'=== {s.name}', flush=True)
    subprocess.run([sys.executable, str(s)], check=True)
