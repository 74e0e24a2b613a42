"""Make README.md from nbdev's processed index notebook with nbconvert (no Quarto needed).

Usage: python tools/readme.py _proc/index.ipynb README.md
The processed notebook starts with a raw YAML front-matter cell (title, description); it becomes the
README's heading and summary line, and nbconvert renders the rest as GitHub markdown.
"""
import sys
from pathlib import Path
import nbformat, yaml
from nbconvert import MarkdownExporter

def readme_text(nb_path):
    nb = nbformat.read(nb_path, as_version=4)
    cells = []
    for c in nb.cells:
        src = c.source.strip()
        if c.cell_type == 'raw' and src.startswith('---') and src.endswith('---'):
            meta = yaml.safe_load(src.strip('-')) or {}
            head = f"# {meta.get('title', '')}\n"
            if meta.get('description'): head += f"\n> {meta['description']}\n"
            cells.append(nbformat.v4.new_markdown_cell(head))
        else: cells.append(c)
    nb.cells = cells
    body, res = MarkdownExporter().from_notebook_node(nb)
    if res.get('outputs'): raise SystemExit('index.ipynb must not produce images: the README has no place for them')
    text = body.strip() + '\n'
    return text.replace('](images/', '](nbs/images/')      # figures live in nbs/images/, the site's images/

if __name__ == '__main__':
    src, dst = sys.argv[1], sys.argv[2]
    Path(dst).write_text(readme_text(src))
    print(f'wrote {dst}')
