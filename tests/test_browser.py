"""A real browser reads the built book: headless Chromium opens every page of ``$BOOK_HTML``.

For each page: no JavaScript error or failed load in the console, every ``<img>`` loaded (natural width > 0),
every math element typeset by MathJax without a TeX error, and every internal link resolving to an existing
file and, for ``#fragment`` links, to an existing id. The claims page must list every chapter of the book.
Screenshots of the landing page and of one figure-heavy section go to ``$BOOK_SCREENSHOTS``
(default ``_build/screenshots``).

Runs only when ``BOOK_HTML`` names a built book (``make test`` sets it after the executed build); it needs
Debian's ``chromium`` and ``chromium-driver`` (paths overridable with ``BOOK_CHROMIUM``/``BOOK_CHROMEDRIVER``).
"""
from __future__ import annotations

import functools
import http.server
import os
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

HTML = os.environ.get("BOOK_HTML", "")
pytestmark = pytest.mark.skipif(not HTML, reason="set BOOK_HTML=_build/html (make test does) to check a built book")

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("BOOK_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("BOOK_CHROMEDRIVER", "/usr/bin/chromedriver")
SHOTS = Path(os.environ.get("BOOK_SCREENSHOTS", ROOT / "_build" / "screenshots"))
MARKS_FAIL = "✗ fails"   # gendiff.claims.MARKS["fails"]
SKIP_DIRS = {"_static", "_sources", "_images", "_downloads", "_sphinx_design_static"}


def html_dir() -> Path:
    path = Path(HTML)
    path = path if path.is_absolute() else ROOT / path
    if not (path / "intro.html").exists():
        raise FileNotFoundError(f"BOOK_HTML={HTML!r}: no built book there (run `make book` first)")
    return path


def pages() -> list[str]:
    if not HTML:
        return []
    base = html_dir()
    return sorted(str(p.relative_to(base)) for p in base.rglob("*.html")
                  if not SKIP_DIRS.intersection(p.relative_to(base).parts))


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("id", "name") and v:
                self.ids.add(v)


@functools.lru_cache(maxsize=None)
def ids_of(path: Path) -> frozenset[str]:
    parser = _Ids()
    parser.feed(path.read_text(errors="replace"))
    return frozenset(parser.ids)


@pytest.fixture(scope="module")
def server():
    base = html_dir()
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(base))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for exe in (CHROMIUM, CHROMEDRIVER):
        if not Path(exe).exists():
            raise FileNotFoundError(f"{exe} is missing: install Debian's chromium and chromium-driver "
                                    "(`make test` does) or set BOOK_CHROMIUM / BOOK_CHROMEDRIVER")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1600", "--hide-scrollbars",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=opts, service=Service(executable_path=CHROMEDRIVER))
    driver.set_script_timeout(60)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def load(driver, url: str) -> None:
    """Open ``url``, wait for the load, scroll through it (so nothing is left lazy) and for MathJax."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, 60).until(lambda d: d.execute_script("return document.readyState") == "complete")
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight); window.scrollTo(0, 0);")
    driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const imgs = Array.from(document.images).map(i => i.complete ? Promise.resolve() :
            new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); }));
        const mj = (window.MathJax && MathJax.startup && MathJax.startup.promise) || Promise.resolve();
        Promise.all([...imgs, mj]).then(() => done(true), () => done(false));
    """)


@pytest.mark.parametrize("page", pages())
def test_page_renders(page, server, browser):
    load(browser, f"{server}/{page}")
    errors = [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, f"{page}: console errors: {errors}"

    broken = browser.execute_script(
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert not broken, f"{page}: images not loaded: {broken}"

    math = browser.execute_script("""
        const els = Array.from(document.querySelectorAll('.math'));
        return {n: els.length, untypeset: els.filter(e => !e.querySelector('mjx-container')).length,
                errors: document.querySelectorAll('mjx-merror, [data-mjx-error]').length,
                mathjax: !!(window.MathJax && MathJax.version)};
    """)
    if math["n"]:
        assert math["mathjax"], f"{page}: has math but MathJax did not load"
    assert math["untypeset"] == 0, f"{page}: {math['untypeset']} of {math['n']} math elements not typeset"
    assert math["errors"] == 0, f"{page}: {math['errors']} TeX errors"

    base, here = html_dir(), urlsplit(f"{server}/{page}")
    bad = []
    for href in browser.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)"):
        url = urlsplit(href)
        if url.scheme not in ("http", "https") or url.netloc != here.netloc:
            continue
        target = base / unquote(url.path).lstrip("/")
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            bad.append(f"{href} (no file)")
        elif url.fragment and target.suffix == ".html" and unquote(url.fragment) not in ids_of(target):
            bad.append(f"{href} (no id #{url.fragment})")
    assert not bad, f"{page}: broken internal links: {bad}"


def test_claims_page_lists_every_chapter(server, browser):
    from gendiff.book import claim_chapters
    chapters = claim_chapters()
    load(browser, f"{server}/chapters/06-claims.html")
    links = set(browser.execute_script(
        "return Array.from(document.querySelectorAll('table.claims-summary a')).map(a => a.getAttribute('href'))"))
    missing = [c for c in chapters if f"{c}.html" not in links]
    assert chapters and not missing, f"claims page lacks chapters {missing}"
    rows = browser.execute_script("return document.querySelectorAll('table.claims-table tbody tr').length")
    assert rows >= 5 * len(chapters), f"claims page shows only {rows} claims"
    heads = browser.execute_script(
        "return Array.from(document.querySelectorAll('table.claims-summary th')).map(th => th.textContent.trim())")
    col = heads.index(MARKS_FAIL)                          # the summary's count of failed paper claims
    fails = browser.execute_script(
        f"return Array.from(document.querySelectorAll('table.claims-summary tbody tr'))"
        f".map(tr => tr.children[{col}].textContent.trim())")
    shown = browser.execute_script(   # per chapter table: how many rows are failures, and are they first
        "return Array.from(document.querySelectorAll('table.claims-table:not(details table)')).map(t => "
        "Array.from(t.querySelectorAll('tbody tr')).map(tr => Array.from(tr.children).some("
        f"td => td.textContent.trim() === {MARKS_FAIL!r})))")
    assert len(fails) == len(shown), (fails, len(shown))
    for n, rows in zip(fails, shown):
        assert int(n) == sum(rows), f"the summary counts {n} failures, the chapter's table lists {sum(rows)}"
        assert rows[:sum(rows)] == [True] * sum(rows), "failed claims are not listed first"


# --- Reading the book: legible figures, no overflow, kernel-free sliders -------------------------------
# A figure's rendered scale is its displayed width over its natural width. gendiff.plots draws at 150 dpi
# with no text below 9 pt, so a scale of 0.6 shows the smallest label at 9 × 150/72 × 0.6 ≈ 11 px ≈ 8.4 pt.
MIN_FIGURE_SCALE = 0.6
DESKTOP_WIDTH = 1440
CHAPTER_PAGES = [p for p in pages() if p.startswith("chapters/") and not p.endswith("06-claims.html")]


@pytest.mark.parametrize("page", CHAPTER_PAGES + ["intro.html"])
def test_figures_are_legible_numbered_and_described(page, server, browser):
    load(browser, f"{server}/{page}")
    imgs = browser.execute_script("""
        return Array.from(document.querySelectorAll('main img')).filter(i => i.offsetParent !== null
            && !i.closest('.navbar-brand, .logo')).map(i => {
              const fig = i.closest('figure');
              return {src: i.getAttribute('src').slice(-48), scale: i.clientWidth / i.naturalWidth,
                      alt: (i.getAttribute('alt') || '').trim(),
                      number: !!(fig && fig.querySelector('figcaption .caption-number')),
                      caption: fig ? (fig.querySelector('figcaption') || {textContent: ''}).textContent.trim() : ''};
            });
    """)
    small = [(i["src"], round(i["scale"], 2)) for i in imgs if i["scale"] < MIN_FIGURE_SCALE]
    assert not small, f"{page}: figures shown below {MIN_FIGURE_SCALE} of their size (labels < 8 pt): {small}"
    bare = [i["src"] for i in imgs if not (i["number"] and len(i["caption"]) > 20)]
    assert not bare, f"{page}: figures without a numbered caption: {bare}"
    no_alt = [i["src"] for i in imgs if len(i["alt"]) < 10 or i["alt"].endswith(".png")]
    assert not no_alt, f"{page}: figures without alt text: {no_alt}"


@pytest.mark.parametrize("page", pages())
def test_no_horizontal_overflow_of_code_or_math(page, server, browser):
    """At a desktop width (1440 px: the theme's widest article column, 786 px of code box) an 88-column
    code line fits in the book's 13-px code font (_ext/static/book.css) and no display equation scrolls."""
    browser.set_window_size(DESKTOP_WIDTH, 1600)
    load(browser, f"{server}/{page}")
    wide = browser.execute_script("""
        const over = e => e.scrollWidth > e.clientWidth + 1;
        const code = Array.from(document.querySelectorAll('main div.highlight pre'))
            .filter(e => !e.closest('.cell_output') && over(e));
        const math = Array.from(document.querySelectorAll('main mjx-container[display="true"]')).filter(over);
        return {code: code.map(e => e.textContent.split('\\n').find(l => l.length > 88) || e.textContent.slice(0, 60)),
                math: math.length};
    """)
    browser.set_window_size(1280, 1600)
    assert not wide["code"], f"{page}: {len(wide['code'])} code blocks scroll sideways: {wide['code'][:3]}"
    assert not wide["math"], f"{page}: {wide['math']} display equations scroll sideways"


@pytest.mark.parametrize("page", CHAPTER_PAGES)
def test_kernel_free_slider_changes_the_figure(page, server, browser):
    load(browser, f"{server}/{page}")
    moved = browser.execute_script("""
        const s = document.querySelector('.gd-slider');
        if (!s) return null;
        const shown = () => Array.from(s.querySelectorAll('img.gd-frame')).find(i => !i.hidden);
        const before = shown().src, r = s.querySelector('input[type=range]');
        r.value = (+r.value === +r.max) ? r.min : r.max;
        r.dispatchEvent(new Event('input'));
        return {changed: shown().src !== before, label: s.querySelector('.gd-value').textContent,
                inFigure: !!s.closest('figure')};
    """)
    assert moved is not None, f"{page}: no kernel-free slider (gendiff.widgets.slider / explore(sweep=...))"
    assert moved["changed"], f"{page}: moving the slider did not change the figure"
    assert moved["inFigure"], f"{page}: the slider is not inside a numbered figure"


def test_screenshots(server, browser):
    from selenium.webdriver.common.by import By

    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.set_window_size(1280, 2400)
    load(browser, f"{server}/intro.html")
    browser.save_screenshot(str(SHOTS / "landing.png"))
    load(browser, f"{server}/chapters/01-harmonic-representations.html")
    section = browser.find_element(By.CSS_SELECTOR, "section[id*='paper-fig-2']")
    browser.execute_script("arguments[0].scrollIntoView();", section)
    browser.save_screenshot(str(SHOTS / "chapter1-fig2.png"))
    browser.set_window_size(1280, 1600)
    for shot in ("landing.png", "chapter1-fig2.png"):
        assert (SHOTS / shot).stat().st_size > 20_000, f"{shot} looks empty"


# ---- Reading outside the browser window: links out, system dark mode, narrow screens, printing ----------
# (_ext/book_links.py, _ext/static/book.css and book-print.js, _ext/print_book.py; `make pdf`)
PLACEHOLDER = "gendiff-book/how-diffusion-models-generalize"     # the repository URL this book once named


def _chapter_pages() -> list[str]:
    return [p for p in pages() if p.startswith("chapters/")] or pages()


def test_links_out_follow_book_repo_url():
    """No page links to a made-up repository. The build's ``BOOK_REPO_URL`` decides the buttons: unset (as
    in ``make test``), no repository or launch button; set (pass the same value to this test), every
    repository link and launch button uses it."""
    from sys import path as syspath
    syspath.insert(0, str(ROOT / "_ext"))
    import reader_notebooks
    url = reader_notebooks.repo_url()
    base = html_dir()
    for page in pages():
        text = (base / page).read_text(errors="replace")
        assert PLACEHOLDER not in text, f"{page} links to the placeholder repository"
        if not url:
            assert "launch-buttons" not in text and "source-repository-button" not in text, \
                f"{page}: launch or repository button without BOOK_REPO_URL"
            assert "colab.research.google.com" not in text and "mybinder.org/v2" not in text, page
    if url:
        chapter = (base / _chapter_pages()[0]).read_text()
        assert f'href="{url}"' in chapter and "launch-buttons" in chapter


def test_downloaded_notebook_installs_gendiff():
    """Each chapter's ``.ipynb`` download starts with the cell that installs gendiff outside a checkout."""
    import nbformat
    base = html_dir()
    for page in _chapter_pages():
        source = base / "_sources" / Path(page).with_suffix(".md")
        if not (source.exists() and "kernelspec" in source.read_text(errors="replace")):
            continue                                           # a page of text, not a notebook
        ipynb = base / "_sources" / Path(page).with_suffix(".ipynb")
        assert ipynb.exists(), f"{page}: no .ipynb download"
        nb = nbformat.read(ipynb, as_version=4)
        assert "install-gendiff" in nb.cells[0].metadata.get("tags", []), f"{ipynb.name}: no install cell first"
        glued = [c.source for c in nb.cells if c.cell_type == "markdown" and "{glue" in c.source]
        assert not glued, f"{ipynb.name}: glue roles left in the text"


def test_dark_mode_follows_the_system(server, browser):
    try:
        for scheme in ("dark", "light"):
            browser.execute_cdp_cmd("Emulation.setEmulatedMedia",
                                    {"features": [{"name": "prefers-color-scheme", "value": scheme}]})
            load(browser, f"{server}/intro.html")
            browser.execute_script("localStorage.clear()")               # a first visit: no choice stored
            load(browser, f"{server}/intro.html")
            theme = browser.execute_script("return document.documentElement.dataset.theme")
            assert theme == scheme, f"system prefers {scheme}, the book shows {theme}"
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
        browser.get_log("browser")


def test_narrow_screen_keeps_the_page_width(server, browser):
    """On a 400 px wide window no page scrolls sideways: wide tables scroll inside their column, images fit."""
    browser.set_window_size(400, 900)
    try:
        for page in ["chapters/06-claims.html", *_chapter_pages()[:2]]:
            if not (html_dir() / page).exists():
                continue
            load(browser, f"{server}/{page}")
            over = browser.execute_script("""
                const w = document.documentElement.clientWidth;
                const wide = Array.from(document.querySelectorAll('.bd-article img, .bd-article table'))
                  .filter(e => e.getBoundingClientRect().width > w + 1 && !e.closest('[style*=overflow], .pst-scrollable-table-container')
                               && getComputedStyle(e).overflowX === 'visible');
                return {page: document.documentElement.scrollWidth - w, wide: wide.map(e => e.tagName + '.' + e.className)};
            """)
            assert over["page"] <= 1, f"{page}: the page is {over['page']} px wider than a 400 px screen"
            assert not over["wide"], f"{page}: elements wider than the screen: {over['wide'][:5]}"
    finally:
        browser.set_window_size(1280, 1600)


def test_print_style_expands_everything(server, browser):
    """Under print media, on an A4 page's width (≈ 690 px): no navigation, code wrapped, every dropdown and
    solution open (book-print.js), and nothing in the text column runs past the right margin."""
    browser.set_window_size(690, 1000)
    try:
        for page in [_chapter_pages()[0], "teaching.html", "chapters/06-claims.html"]:
            if not (html_dir() / page).exists():
                continue
            load(browser, f"{server}/{page}")
            browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
            browser.execute_script("window.bookExpandAll()")
            state = browser.execute_script("""
                const shown = e => e && getComputedStyle(e).display !== 'none';
                const pre = document.querySelector('.bd-article pre');
                const w = document.documentElement.clientWidth;
                const cut = Array.from(document.querySelectorAll('.bd-content, .bd-article *'))
                  .filter(e => e.getBoundingClientRect().right > w + 2 && !e.closest('mjx-container'))
                  .map(e => e.tagName + '.' + String(e.className).slice(0, 40));
                return {nav: shown(document.querySelector('.bd-sidebar-primary')),
                        pre: pre ? getComputedStyle(pre).whiteSpace : 'pre-wrap', cut: cut.slice(0, 5),
                        closed: Array.from(document.querySelectorAll('details')).filter(d => !d.open).length,
                        hidden: document.querySelectorAll('.toggle-hidden').length};
            """)
            browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
            assert not state["nav"], f"{page}: navigation printed"
            assert state["pre"] == "pre-wrap", f"{page}: code not wrapped in print ({state['pre']})"
            assert state["closed"] == 0 and state["hidden"] == 0, f"{page}: dropdowns closed in print: {state}"
            assert not state["cut"], f"{page}: printed past the right margin: {state['cut']}"
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
        browser.set_window_size(1280, 1600)


def test_printed_page_is_not_blank(server, browser):
    """``make pdf``'s printing of one chapter: a PDF whose first page, rendered, has text and figures."""
    import io
    import sys
    import pypdfium2
    from pypdf import PdfReader
    sys.path.insert(0, str(ROOT / "_ext"))
    import print_book

    page = _chapter_pages()[0]
    pdf = print_book.print_page(browser, f"{server}/{page}")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 1 and len(reader.pages[0].extract_text()) > 200, f"{page}: printed no text"
    image = pypdfium2.PdfDocument(pdf)[0].render(scale=1).to_pil().convert("L")
    SHOTS.mkdir(parents=True, exist_ok=True)
    image.save(SHOTS / "printed-page.png")
    ink = sum(image.histogram()[:200]) / (image.width * image.height)
    assert ink > 0.01, f"{page}: the printed first page is blank ({ink:.2%} of pixels have ink)"
    browser.get_log("browser")
# ---- end of the block on links out, dark mode, narrow screens, printing ----------------------------------
