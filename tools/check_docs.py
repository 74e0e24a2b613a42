"""Check the docs build as far as a machine without Quarto can take it (run after nbdev_proc_nbs).

1. nbdev read the top-level _quarto.yml (the processed copy in _proc/ is that file);
2. the sidebar of _quarto.yml lists every notebook in nbs/, and only existing ones;
3. every page of the sidebar renders into the local site (tools/docs_site.py; written to --out, default a temp folder);
4. README.md is what tools/readme.py makes of the processed index;
5. each notebook's title cell holds only its `# title` and `> summary`: nbdev turns that cell into the page's front
   matter and drops anything else in it, so text there never reaches the site.
"""
import argparse, sys, tempfile
from pathlib import Path
import yaml

sys.path.insert(0, str(Path(__file__).parent))
from readme import readme_text
from docs_site import build

ap = argparse.ArgumentParser()
ap.add_argument('--out', default=None, help='folder for the HTML pages (kept); a temp folder if omitted')
args = ap.parse_args()
root = Path('.').resolve()
proc, nbs = root / '_proc', root / 'nbs'
problems = []

# 1. the one config
top = (root / '_quarto.yml').read_text()
if not (nbs / '_quarto.yml').is_symlink() or (nbs / '_quarto.yml').resolve() != (root / '_quarto.yml'):
    problems.append('nbs/_quarto.yml must be a symlink to ../_quarto.yml')
if not (proc / '_quarto.yml').exists() or (proc / '_quarto.yml').read_text() != top:
    problems.append('_proc/_quarto.yml is not the top-level _quarto.yml: nbdev did not read it')

# 2. sidebar <-> notebooks
def entries(items):
    for it in items:
        if isinstance(it, str): yield it
        elif isinstance(it, dict):
            if 'href' in it: yield it['href']
            yield from entries(it.get('contents', []))
side = set(entries(yaml.safe_load(top)['website']['sidebar']['contents']))
notebooks = {str(p.relative_to(nbs)) for p in nbs.rglob('*.ipynb')
             if not any(part.startswith(('.', '_')) for part in p.relative_to(nbs).parts)}
for nb in sorted(notebooks - side): problems.append(f'{nb} is missing from the sidebar in _quarto.yml')
for nb in sorted(side - notebooks): problems.append(f'the sidebar lists {nb}, which does not exist')

# 3. every page renders into the local site
out = Path(args.out) if args.out else Path(tempfile.mkdtemp())
for nb in sorted(notebooks):
    if not (proc / nb).exists(): problems.append(f'{nb} was not processed into _proc/')
if not problems:
    try: build(out, proc)
    except Exception as e: problems.append(f'the site does not build: {e!r}')

# 4. README in sync
if (root / 'README.md').read_text() != readme_text(proc / 'index.ipynb'):
    problems.append('README.md is stale: run `make readme` and commit it')

# 5. nothing after the summary in a title cell (nbdev drops it)
import json
for nb in sorted(notebooks):
    cells = json.loads((nbs / nb).read_text())['cells']
    title = next((c for c in cells if c['cell_type'] == 'markdown'), None)
    text = ''.join(title['source']).strip() if title else ''
    if text.startswith('# ') and any(l.strip() and not l.startswith(('# ', '>')) for l in text.splitlines()):
        problems.append(f'{nb}: the title cell has text after the summary, which nbdev drops; move it to the next cell')

if problems:
    print('docs check failed:\n  ' + '\n  '.join(problems)); sys.exit(1)
print(f'docs check passed: {len(notebooks)} pages rendered to {out}, sidebar complete, README current')
