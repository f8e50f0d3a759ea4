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
MARKS_FAIL = "✗ fail"   # gendiff.claims.MARKS["fail"]
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
    cells = browser.execute_script(
        "return Array.from(document.querySelectorAll('table.claims-table td')).map(td => td.textContent.trim())")
    assert MARKS_FAIL not in cells, "a failed claim is listed"
    heads = browser.execute_script(
        "return Array.from(document.querySelectorAll('table.claims-summary th')).map(th => th.textContent.trim())")
    col = heads.index(MARKS_FAIL)                          # the summary's count of failed paper claims
    fails = browser.execute_script(
        f"return Array.from(document.querySelectorAll('table.claims-summary tbody tr'))"
        f".map(tr => tr.children[{col}].textContent.trim())")
    assert fails and set(fails) == {"0"}, f"failed claims per chapter: {fails}"


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
