"""Open every page of the local docs site in headless Chromium and check what a reader sees.

Fails, naming page and problem, when: a `#|` directive or raw front matter is visible; raw LaTeX (`$$`, `\\mathbb`,
`\\frac`) is visible outside code and rendered maths; a page with maths has no typeset maths; an image did not load;
the console shows a JavaScript error; a sidebar link does not resolve. Saves a full-page screenshot of each page in
<site>/screenshots/. Uses Debian's Chromium (`tools/install_chromium.sh`) through Playwright. It first checks a page built with every
one of those defects, and stops if it misses any: a check that cannot fail is no check.

    python tools/browser_check.py [_docs] [--chromium /usr/bin/chromium] [--expect-failure]
"""
import argparse, shutil, sys, tempfile, time
from pathlib import Path
from urllib.parse import urlparse, unquote
from playwright.sync_api import sync_playwright

# the text a reader sees, without code blocks and typeset maths (where $$ and \frac may legitimately appear)
VISIBLE_PROSE = """() => {
  const main = document.querySelector('main') || document.body;
  const copy = main.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, mjx-container').forEach(e => e.remove());
  document.body.appendChild(copy); copy.style.position = 'absolute'; copy.style.left = '-99999px';
  const text = copy.innerText; copy.remove(); return text;
}"""
RAW = ['#|', '$$', '\\mathbb', '\\frac', 'output-file:']

def check_page(page, path: Path, shots: Path, name: str | None = None) -> list:
    errors = []
    page.on('console', lambda m: m.type == 'error' and errors.append(f"console error: {m.text} ({m.location.get('url', '')})"))
    page.on('requestfailed', lambda r: errors.append(f'failed to load {r.url}: {r.failure}'))
    page.on('pageerror', lambda e: errors.append(f'JavaScript error: {e}'))
    page.goto(path.as_uri(), wait_until='load')
    has_math = page.locator('meta[name="otnb-math"]').count() > 0
    try: page.wait_for_function("() => document.body.getAttribute('data-math')", timeout=20_000)
    except Exception: errors.append('MathJax never finished typesetting (data-math not set)')
    text = page.evaluate(VISIBLE_PROSE)
    for raw in RAW:
        if raw in text:
            i = text.index(raw); errors.append(f'raw {raw!r} visible: ...{text[max(0, i - 40):i + 40]!r}...')
    if text.lstrip().startswith('---'): errors.append('raw front matter visible at the top of the page')
    if has_math and page.locator('mjx-container').count() == 0:
        errors.append('the page has maths but no typeset maths')
    broken = page.evaluate("() => Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length")
    if broken: errors.append(f'{broken} image(s) did not load')
    for href in page.eval_on_selector_all('nav a', 'els => els.map(e => e.href)'):
        u = urlparse(href)
        if u.scheme == 'file' and not Path(unquote(u.path)).exists(): errors.append(f'sidebar link does not resolve: {href}')
    if page.locator('nav a').count() == 0: errors.append('no sidebar')
    page.screenshot(path=str(shots / f'{name or path.stem}.png'), full_page=True)
    return errors

BAD_PAGE = """<html><head><meta name="otnb-math" content="1"></head>
<body data-math="done"><nav><a href="missing.html">a dead link</a></nav><main>
<p>#| echo: false</p><p>--- output-file: bad.html</p><p>$$\\frac{1}{2}$$ and $\\mathbb R$</p>
<img src="missing.png"><script>console.error("boom")</script></main></body></html>"""
EXPECTED = ["raw '#|'", "raw '$$'", "raw '\\\\mathbb'", "raw '\\\\frac'", "raw 'output-file:'", 'no typeset maths',
            'image(s) did not load', 'console error: boom', 'sidebar link does not resolve']

def self_test(browser, tmp: Path):
    "The check must flag every defect of a page built to have them all; exits if one goes unnoticed."
    page_file = tmp / 'bad.html'; page_file.write_text(BAD_PAGE)
    page = browser.new_page(); errs = check_page(page, page_file, tmp); page.close()
    missed = [e for e in EXPECTED if not any(e in x for x in errs)]
    if missed: sys.exit(f'browser check self-test: these defects went unnoticed: {missed} (found: {errs})')
    print(f'self-test: all {len(EXPECTED)} planted defects found')

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('site', nargs='?', default='_docs')
    ap.add_argument('--chromium', default=shutil.which('chromium') or shutil.which('chromium-browser') or shutil.which('google-chrome') or '/usr/bin/chromium')
    ap.add_argument('--expect-failure', action='store_true', help='succeed only if some page fails (proves the check can fail)')
    args = ap.parse_args()
    site = Path(args.site).resolve()
    pages = sorted(p for p in site.rglob('*.html') if 'screenshots' not in p.parts)     # tutorials/ too
    if not pages: sys.exit(f'no pages in {site}: build the site first (make site)')
    if not Path(args.chromium).exists(): sys.exit(f'no Chromium at {args.chromium}: run tools/install_chromium.sh')
    shots = site / 'screenshots'; shots.mkdir(exist_ok=True)
    t0, failures = time.time(), {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=['--no-sandbox', '--allow-file-access-from-files'])
        with tempfile.TemporaryDirectory() as tmp: self_test(browser, Path(tmp))
        for path in pages:
            page = browser.new_page(viewport={'width': 1280, 'height': 900})
            rel = path.relative_to(site)
            errs = check_page(page, path, shots, '__'.join(rel.with_suffix('').parts))
            page.close()
            if errs: failures[str(rel)] = errs
            print(f"{rel}: {'ok' if not errs else f'{len(errs)} problem(s)'}", flush=True)
        browser.close()
    for name, errs in failures.items(): print(f'{name}:\n  ' + '\n  '.join(errs[:10]))
    print(f'browser check: {len(pages) - len(failures)}/{len(pages)} pages clean, {time.time() - t0:.0f} s, screenshots in {shots}')
    if args.expect_failure: sys.exit(0 if failures else 'the check passed pages it was expected to fail')
    sys.exit(1 if failures else 0)

if __name__ == '__main__': main()
