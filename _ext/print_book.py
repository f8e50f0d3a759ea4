"""``make pdf``: the built book (``_build/html``) printed to one PDF with headless Chromium.

Each page of ``_toc.yml`` (landing page, then the chapters in order) is opened in Chromium, waited for
(images, MathJax), expanded (every ``<details>``: dropdowns, hidden inputs, exercise solutions; see
``static/book-print.js``) and printed with the DevTools command ``Page.printToPDF`` under the book's print
style (``static/book.css``: no navigation, code wrapped, figures kept whole). The pages' PDFs are joined
with pypdf, one bookmark per page. Usage::

    python _ext/print_book.py [--html _build/html] [--out _build/pdf/book.pdf] [--pages intro chapters/...]

Chromium and ChromeDriver: ``BOOK_CHROMIUM`` / ``BOOK_CHROMEDRIVER`` (default Debian's ``/usr/bin/...``).
"""
from __future__ import annotations

import argparse
import base64
import functools
import http.server
import io
import os
import re
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
A4 = {"paperWidth": 8.27, "paperHeight": 11.69, "marginTop": 0.5, "marginBottom": 0.6,
      "marginLeft": 0.55, "marginRight": 0.55}
FOOTER = ('<div style="font-size:8px;width:100%;text-align:center;color:#666">'
          '<span class="title"></span> — <span class="pageNumber"></span></div>')
EXPAND = """
if (window.bookExpandAll) { window.bookExpandAll(); } else {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
}
document.documentElement.dataset.theme = 'light';
document.querySelectorAll('img[loading]').forEach(i => i.loading = 'eager');
"""
WAIT = """
const done = arguments[arguments.length - 1];
const imgs = Array.from(document.images).map(i => i.complete ? Promise.resolve() :
    new Promise(r => { i.addEventListener('load', r); i.addEventListener('error', r); }));
const mj = (window.MathJax && MathJax.startup && MathJax.startup.promise) || Promise.resolve();
Promise.all([...imgs, mj]).then(() => done(true), () => done(false));
"""


def book_pages(html: Path, root: Path = ROOT) -> list[str]:
    """The built book's pages in reading order (without ``.html``): the landing page, then the links of its
    navigation sidebar; ``_toc.yml`` when the sidebar cannot be read."""
    text = (html / "intro.html").read_text(errors="replace") if (html / "intro.html").exists() else ""
    nav = re.search(r'<nav class="[^"]*bd-docs-nav.*?</nav>', text, re.S)
    if nav:
        found = re.findall(r'<a class="reference internal" href="([^"#]+)\.html"', nav.group(0))
        return list(dict.fromkeys(["intro", *found]))
    toc = (root / "_toc.yml").read_text()
    first = re.search(r"^root:\s*(\S+)", toc, re.M)
    return ([first.group(1)] if first else []) + re.findall(r"file:\s*(\S+)", toc)


@contextmanager
def serve(folder: Path):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


@contextmanager
def chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    exe = os.environ.get("BOOK_CHROMIUM", "/usr/bin/chromium")
    driver_exe = os.environ.get("BOOK_CHROMEDRIVER", "/usr/bin/chromedriver")
    for path in (exe, driver_exe):
        if not Path(path).exists():
            raise FileNotFoundError(f"{path} is missing: install Debian's chromium and chromium-driver "
                                    "(`make browser-deps`) or set BOOK_CHROMIUM / BOOK_CHROMEDRIVER")
    with tempfile.TemporaryDirectory() as profile:
        opts = webdriver.ChromeOptions()
        opts.binary_location = exe
        for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                     "--disable-background-networking", "--disable-component-update", "--disable-dev-shm-usage",
                     "--window-size=1100,1500", f"--user-data-dir={profile}"):
            opts.add_argument(flag)
        driver = webdriver.Chrome(options=opts, service=Service(executable_path=driver_exe))
        driver.set_script_timeout(120)
        driver.set_page_load_timeout(120)
        try:
            yield driver
        finally:
            driver.quit()


def print_page(driver, url: str) -> bytes:
    """One page of the book as PDF bytes, every dropdown open, in the print style."""
    from selenium.webdriver.support.ui import WebDriverWait
    driver.get(url)
    WebDriverWait(driver, 120).until(lambda d: d.execute_script("return document.readyState") == "complete")
    driver.execute_script(EXPAND)
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight); window.scrollTo(0, 0);")
    driver.execute_async_script(WAIT)
    time.sleep(0.2)                         # layout after the dropdowns opened
    pdf = driver.execute_cdp_cmd("Page.printToPDF", {
        **A4, "printBackground": True, "preferCSSPageSize": False, "displayHeaderFooter": True,
        "headerTemplate": "<span></span>", "footerTemplate": FOOTER})
    return base64.b64decode(pdf["data"])


def print_book(html: Path, out: Path, pages: list[str] | None = None) -> dict:
    """Print ``pages`` (default: the whole book) of the built book in ``html`` into ``out``."""
    from pypdf import PdfReader, PdfWriter
    html = Path(html)
    pages = pages or book_pages(html)
    missing = [p for p in pages if not (html / f"{p}.html").exists()]
    if missing:
        raise FileNotFoundError(f"{html} lacks {missing}: build the book first (`make book`)")
    start, writer, counts = time.time(), PdfWriter(), {}
    with serve(html) as base, chromium() as driver:
        for page in pages:
            reader = PdfReader(io.BytesIO(print_page(driver, f"{base}/{page}.html")))
            first = len(writer.pages)
            for p in reader.pages:
                writer.add_page(p)
            title = driver.title.split("—")[0].split(" | ")[0].strip() or page
            writer.add_outline_item(title=title, page_number=first)
            counts[page] = len(reader.pages)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "wb") as f:
        writer.write(f)
    return {"pages": len(writer.pages), "per_page": counts, "seconds": time.time() - start, "path": out}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    p.add_argument("--out", type=Path, default=ROOT / "_build" / "pdf" / "book.pdf")
    p.add_argument("--pages", nargs="*", help="pages to print (default: every page of _toc.yml)")
    args = p.parse_args(argv)
    res = print_book(args.html, args.out, args.pages)
    for page, n in res["per_page"].items():
        print(f"{n:4d}  {page}")
    print(f"{res['path']}: {res['pages']} pages in {res['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
