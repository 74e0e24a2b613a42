"""The docs as a local, offline site in _docs/ (a preview where Quarto is absent; the published site is nbdev_docs + Quarto).

It takes the notebooks nbdev has processed into _proc/ and does, with nbconvert, what Quarto does with them:
front matter -> page title and summary; `#| hide`, `exporti`, `include: false` drop a cell, `echo: false` hides its
source, `output: false` its outputs; `output: asis` markdown (show_doc) is rendered as markdown, with Quarto's link
attributes `[text](url){...}` turned into HTML; the sidebar comes from _quarto.yml; links to notebooks point to pages;
math is typeset by MathJax 3 (`tex-svg.js`, one self-contained file) from the npm registry, fetched once with
`npm pack` into .cache/ and copied beside the pages: no CDN, so the pages work offline, from file:// too.

    python tools/docs_site.py [--out _docs]
"""
import argparse, html, re, shutil, subprocess, tarfile
from pathlib import Path
import nbformat, yaml
from nbconvert import HTMLExporter
from nbconvert.preprocessors import TagRemovePreprocessor

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
QUARTO_LINK = re.compile(r'\[([^\]]*)\]\(([^)\s]+)\)\{([^}]*)\}')          # [text](url){target="_blank" style="..."}
NB_LINK = re.compile(r'\]\(((?!https?:)[^)\s#]+)\.ipynb(#[^)\s]*)?\)')     # ](03_metrics.ipynb#w2) -> ](03_metrics.html#w2)

MATHJAX = 'mathjax@3.2.2'

def mathjax_file() -> Path:
    "MathJax's es5/tex-svg.js from the npm package, fetched once into .cache/ (needs npm the first time)."
    cache = ROOT / '.cache' / MATHJAX
    js = cache / 'tex-svg.js'
    if not js.exists():
        cache.mkdir(parents=True, exist_ok=True)
        if not shutil.which('npm'): raise SystemExit(f'npm is needed once to fetch {MATHJAX} from the npm registry into {cache}')
        tgz = subprocess.run(['npm', 'pack', MATHJAX, '--silent'], cwd=cache, check=True, capture_output=True, text=True).stdout.split()[-1]
        with tarfile.open(cache / tgz) as t: js.write_bytes(t.extractfile('package/es5/tex-svg.js').read())
        (cache / tgz).unlink()
    return js

def front_matter(nb) -> dict:
    "Remove the raw `---` front matter cell nbdev writes first; return it as a dict."
    if nb.cells and nb.cells[0].cell_type == 'raw' and nb.cells[0].source.startswith('---'):
        return yaml.safe_load(nb.cells.pop(0).source.strip().strip('-')) or {}
    return {}

def directives(src: str):
    "`({key: value}, {flags}, body)` from the `#|` lines at the top of a cell."
    opts, flags, lines = {}, set(), src.splitlines()
    while lines and lines[0].startswith('#|'):
        d = lines.pop(0)[2:].strip()
        if ':' in d: k, v = d.split(':', 1); opts[k.strip()] = v.strip()
        elif d: flags.update(d.split())
    return opts, flags, '\n'.join(lines)

def markdown(text: str) -> str:
    text = QUARTO_LINK.sub(lambda m: f'<a href="{m[2]}" {m[3]}>{m[1]}</a>', text)
    return NB_LINK.sub(lambda m: f']({m[1]}.html{m[2] or ""})', text)

def prepare(nb):
    "Apply nbdev's cell directives the way Quarto would; returns whether the page has maths."
    has_math = False
    for cell in nb.cells:
        if cell.cell_type == 'markdown':
            cell.source = markdown(cell.source); has_math |= '$' in cell.source
            continue
        if cell.cell_type != 'code': continue
        opts, flags, cell.source = directives(cell.source)
        tags = set(cell.metadata.get('tags', []))
        if flags & {'hide', 'exporti'} or opts.get('include') == 'false': tags.add('remove_cell')
        if opts.get('echo') == 'false': tags.add('remove_input')
        if opts.get('output') == 'false': tags.add('remove_output')
        cell.metadata['tags'] = sorted(tags)
        for out in cell.get('outputs', []):
            if 'text/markdown' in out.get('data', {}):
                out['data']['text/markdown'] = markdown(out['data']['text/markdown']); has_math |= '$' in out['data']['text/markdown']
    return has_math

def sidebar(items, titles, page, root: str = '') -> str:
    "The sidebar of _quarto.yml as nested lists; `page` is marked active; `root` leads from the page to the site's top."
    out = ['<ul>']
    for it in items:
        if isinstance(it, str):
            href = root + it.replace('.ipynb', '.html')
            out.append(f'<li><a href="{href}"{" class=active" if it == page else ""}>{html.escape(titles.get(it, it))}</a></li>')
        elif isinstance(it, dict) and 'section' in it:
            inner = sidebar(it.get("contents", []), titles, page, root)
            out.append(f'<li><div class="otnb-section">{html.escape(it["section"])}</div>{inner}</li>')
    return '\n'.join(out + ['</ul>'])

def build(out: Path, proc: Path = ROOT / '_proc') -> list:
    "Render every page listed in the sidebar into `out`; returns the pages written."
    quarto = yaml.safe_load((ROOT / '_quarto.yml').read_text())
    site_title = yaml.safe_load((ROOT / 'nbs' / 'nbdev.yml').read_text())['website']['title']
    items = quarto['website']['sidebar']['contents']
    def walk(xs):
        for x in xs:
            if isinstance(x, str): yield x
            elif isinstance(x, dict): yield from walk(x.get('contents', []))
    pages = list(walk(items))
    nbs = {p: nbformat.read(proc / p, as_version=4) for p in pages}
    metas = {p: front_matter(nb) for p, nb in nbs.items()}
    titles = {p: m.get('title', p) for p, m in metas.items()}
    out.mkdir(parents=True, exist_ok=True)
    (out / 'mathjax').mkdir(exist_ok=True)
    shutil.copy(mathjax_file(), out / 'mathjax' / 'tex-svg.js')
    shutil.copy(HERE / 'site_template' / 'site.css', out / 'site.css')
    images = proc / 'images' if (proc / 'images').is_dir() else ROOT / 'nbs' / 'images'
    if images.is_dir(): shutil.copytree(images, out / 'images', dirs_exist_ok=True)     # figures the pages link to
    exporter = HTMLExporter(template_name='otnb', extra_template_basedirs=[str(HERE / 'site_template')],
                            exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={'remove_cell'}, remove_input_tags={'remove_input'},
                                                         remove_all_outputs_tags={'remove_output'}), enabled=True)
    written = []
    for p, nb in nbs.items():
        has_math = prepare(nb)
        root = '../' * p.count('/')                    # pages in nbs/tutorials/ sit one folder down
        site = dict(root=root, site_title=site_title, title=titles[p], description=metas[p].get('description', ''),
                    sidebar=sidebar(items, titles, p, root), has_math=has_math)
        body, _ = exporter.from_notebook_node(nb, resources={'site': site, 'metadata': {'name': titles[p]}})
        dst = out / p.replace('.ipynb', '.html')
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_text(body); written.append(dst)
    return written

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--out', default=str(ROOT / '_docs'))
    pages = build(Path(ap.parse_args().out))
    print(f'wrote {len(pages)} pages to {Path(ap.parse_args().out)}')
