"""The course website: build one lesson, then open it in a real headless Chromium.

The module builds lesson 01 (and the intro page) with ``radlab.site.build`` into a temporary
folder, serves it with Python's own HTTP server on 127.0.0.1 and opens it with Debian's Chromium
through Playwright. The browser may load nothing from outside that server: every other request
is stopped and reported, which is what a room without internet would do to the page.

Needs jupyter-book 1.x (dev extra), the JavaScript of site/package.json (the build runs
``npm ci`` in site/ when it is missing, so npm must be installed), Debian's Chromium at
/usr/bin/chromium (``.ci/install-browser.sh``) and the ``playwright`` package. Never
``playwright install``. Run alone with: python -m pytest tests/test_site.py -s
(RADLAB_SCREENSHOTS=folder keeps a screenshot of the lesson page.)
"""

from __future__ import annotations

import functools
import http.server
import importlib.util
import json
import os
import shutil
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser
from pathlib import Path

import chromium
import nbformat
import pytest

from radlab import claims, site

ROOT = Path(__file__).resolve().parents[1]
LESSON = "01_input_data"
STEP_MS = 15_000  # one thing appearing on the page

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # the skip below says what to install
    sync_playwright = None


def _log(message: str) -> None:
    print(f"[site-test] {message}", flush=True)


# --- without a browser -----------------------------------------------------------------------


def test_claims_are_read_from_the_saved_outputs(monkeypatch, capsys):
    """The lines radlab.claims prints (held, and not shown in smoke mode) become table rows."""
    monkeypatch.setenv("RADLAB_MODE", "smoke")
    monkeypatch.delenv("RADLAB_CLAIMS_DIR", raising=False)
    record = claims.lesson("00_test")
    print("some other line")
    record.claim("phases as channels beat phases tiled", True, channels=0.87, tiled=0.6367)
    record.claim("the default chest X-ray pipeline contains no mirroring", True)
    record.claim("Adam (x) wins", False, adam=1)
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("rec.claim(...)")
    text = capsys.readouterr().out
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    nb.cells = [cell]
    assert site.claims_from_outputs(nb) == [
        {
            "text": "phases as channels beat phases tiled",
            "numbers": "channels=0.87, tiled=0.6367",
            "held": True,
        },
        {
            "text": "the default chest X-ray pipeline contains no mirroring",
            "numbers": "",
            "held": True,
        },
        {"text": "Adam (x) wins", "numbers": "adam=1", "held": False},
    ]


def test_a_lesson_page_gets_its_links_and_claims_table():
    nb = nbformat.read(ROOT / "notebooks" / f"{LESSON}.ipynb", as_version=4)
    page = site.lesson_page(nb, LESSON)
    assert len(page.cells) == len(nb.cells) + 2
    assert page.cells[0].source == nb.cells[0].source  # the title stays first
    assert f"downloads/{LESSON}_student.ipynb" in page.cells[1].source
    assert page.cells[-1].source.startswith("## Claims this lesson checked")
    nbformat.validate(page)
    assert nb.cells[1].source != page.cells[1].source  # the lesson itself is not changed


def test_an_existing_folder_that_is_not_a_site_is_never_replaced(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(site.SiteError, match="not a site this command built"):
        site._replace(tmp_path, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


# --- the built site --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """Lesson 01 and the intro, built once for this module."""
    if importlib.util.find_spec("jupyter_book") is None:
        pytest.skip('jupyter-book is missing: pip install -e ".[dev]" (jupyter-book>=1.0,<2)')
    if not (ROOT / "site" / "node_modules").is_dir() and shutil.which("npm") is None:
        pytest.skip("npm is missing (the site's JavaScript comes from npm): apt-get install npm")
    out = tmp_path_factory.mktemp("site") / "site"
    start = time.monotonic()
    site.build(out, only=["01"], notebooks=ROOT / "notebooks", site=ROOT / "site")
    _log(f"built lesson {LESSON} in {time.monotonic() - start:.1f} s")
    return out


class _Tags(HTMLParser):
    """Collects the addresses a page loads: <script src> and <link href>."""

    def __init__(self):
        super().__init__()
        self.loads: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "script" and values.get("src"):
            self.loads.append(values["src"])
        if tag == "link" and values.get("href"):
            self.loads.append(values["href"])


def test_the_build_holds_the_pages_search_and_downloads(built):
    for name in ("index.html", "intro.html", f"{LESSON}.html", "search.html", "searchindex.js"):
        assert (built / name).is_file(), name
    assert not list(built.glob("02_*.html")), "only the lesson asked for is built"
    assert "hounsfield" in (built / "searchindex.js").read_text().lower()
    for name in ("intro.html", f"{LESSON}.html", "search.html"):
        tags = _Tags()
        tags.feed((built / name).read_text(encoding="utf-8"))
        outside = [u for u in tags.loads if u.startswith(("http:", "https:", "//"))]
        assert not outside, f"{name} loads files from the web: {outside}"
        assert tags.loads, name
    for name in ("vendor/mathjax/tex-mml-chtml.js", "vendor/html-manager/embed-amd.js"):
        assert (built / "_static" / name).is_file(), f"the site does not ship {name}"
    downloads = sorted(p.name for p in built.glob("_downloads/*/*.ipynb"))
    assert downloads == [f"{LESSON}.ipynb", f"{LESSON}_student.ipynb"]


@pytest.fixture(scope="module")
def server(built):
    """Python's HTTP server on 127.0.0.1 (a free port), serving the built site, in a thread."""
    handler = functools.partial(QuietHandler, directory=str(built))
    httpd = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # keep the test log readable
        pass


class QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A browser that drops a download half-way (it often does) is not an error here."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Debian's headless Chromium, launched by Playwright, with a temporary home folder."""
    chromium.require_browser()
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / "config"))
    env.update(XDG_CACHE_HOME=str(home / "cache"), XDG_DATA_HOME=str(home / "data"))
    with sync_playwright() as p:
        browser = chromium.launch(p, env=env)
        _log(f"Chromium {browser.version}")
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser, server):
    """A fresh tab that may load only from the test's server; yields (page, problems)."""
    context = browser.new_context()
    tab = context.new_page()
    problems: dict[str, list[str]] = {"outside": [], "failed": [], "errors": []}

    def only_local(route):
        if route.request.url.startswith(server + "/") or route.request.url.startswith(
            ("blob:", "data:")
        ):
            route.continue_()
        else:  # a room without internet: the request goes nowhere
            problems["outside"].append(route.request.url)
            route.abort()

    tab.route("**/*", only_local)
    tab.on("response", lambda r: r.status >= 400 and problems["failed"].append(r.url))
    tab.on("pageerror", lambda e: problems["errors"].append(str(e)))
    try:
        yield tab, problems
    finally:
        context.close()


def _local_addresses(tab, base: str) -> set[str]:
    """Every link and source on the page that points into the site, without #fragment."""
    found = tab.eval_on_selector_all(
        "a[href], img[src], script[src], link[href], iframe[src], source[src]",
        "els => els.map(e => e.href || e.src)",
    )
    local = set()
    for url in found:
        url = urllib.parse.urldefrag(url)[0]
        if url.startswith(base + "/"):
            local.add(url)
    return local


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.mark.browser
def test_lesson_page_in_chromium(page, server):
    tab, problems = page
    start = time.monotonic()
    tab.goto(f"{server}/{LESSON}.html", wait_until="load")

    # headings: the lesson's title and its sections, including the claims table's
    h1 = tab.locator("article h1").first
    assert "Input data" in h1.inner_text()
    h2 = tab.locator("article h2").all_inner_texts()
    assert len(h2) >= 3, h2
    assert any("Claims this lesson checked" in t for t in h2), h2
    rows = tab.locator("table.radlab-claims tbody tr")
    assert rows.count() >= 3
    assert "held" in rows.first.inner_text()

    # figures: every picture in the lesson has loaded (a broken image has naturalWidth 0)
    tab.wait_for_function(
        "() => [...document.querySelectorAll('article img')].every(i => i.complete)",
        timeout=STEP_MS,
    )
    widths = tab.eval_on_selector_all("article img", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(widths) >= 5 and all(w > 0 for w in widths), widths

    # the saved widget, drawn from its saved state by the site's own copy of the widget manager
    viewer = tab.locator(".radlab-window-viewer")
    viewer.wait_for(state="visible", timeout=STEP_MS)
    assert viewer.locator(".widget-slider").count() >= 1
    tab.wait_for_function(
        "() => [...document.querySelectorAll('.radlab-window-viewer img')]"
        ".some(i => i.complete && i.naturalWidth > 0)",
        timeout=STEP_MS,
    )

    # the downloads: the lesson with its outputs and the student copy without them
    links = tab.locator("article a.download")
    hrefs = [links.nth(i).evaluate("a => a.href") for i in range(links.count())]
    assert len(hrefs) == 2, hrefs
    books = [json.loads(urllib.request.urlopen(u, timeout=10).read()) for u in hrefs]
    outputs = [sum(len(c.get("outputs", [])) for c in b["cells"]) for b in books]
    assert outputs[0] > 0 and outputs[1] == 0, outputs

    # every local link and source on the page answers
    addresses = _local_addresses(tab, server)
    broken = sorted(u for u in addresses if _status(u) != 200)
    assert not broken, f"broken local links: {broken}"
    _log(f"{len(addresses)} local links checked; page checks took {time.monotonic() - start:.1f} s")

    if os.environ.get("RADLAB_SCREENSHOTS"):
        folder = Path(os.environ["RADLAB_SCREENSHOTS"])
        folder.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(folder / f"site-{LESSON}.png"), full_page=True)
    assert not problems["outside"], f"the page tried to reach the web: {problems['outside']}"
    assert not problems["failed"], f"requests that failed: {problems['failed']}"
    assert not problems["errors"], f"JavaScript errors on the page: {problems['errors']}"


@pytest.mark.browser
def test_search_finds_a_word_and_the_intro_lists_the_lesson(page, server):
    tab, problems = page
    tab.goto(f"{server}/search.html?q=Hounsfield", wait_until="load")
    hit = tab.locator(f"ul.search li a[href*='{LESSON}']").first
    hit.wait_for(state="attached", timeout=STEP_MS)

    tab.goto(f"{server}/index.html", wait_until="load")  # a redirect to intro.html
    tab.wait_for_url("**/intro.html", timeout=STEP_MS)
    assert tab.locator("article h1").first.inner_text().startswith("CNNs in radiology")
    lesson = tab.locator(f"nav a[href*='{LESSON}.html']").first
    assert "01 · input data" in lesson.inner_text()
    assert not problems["outside"], f"the pages tried to reach the web: {problems['outside']}"
    assert not problems["errors"], f"JavaScript errors on the pages: {problems['errors']}"
