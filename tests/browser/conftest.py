"""Fixtures of the browser test: the built book, a loopback server, Chromium.

The browser test opens every page of the built book (``_build/html``) in
headless Chromium, served over HTTP from 127.0.0.1, and checks what a reader
would see. It needs three things, each of which can be chosen with an
environment variable:

``AELIB_BOOK_HTML``
    the built site (default ``_build/html``; build it with ``make book``);
``AELIB_BOOK_TOC``
    the table of contents whose pages are tested (default ``_toc.yml``);
``AELIB_CHROMIUM``
    the Chromium executable (default ``/usr/bin/chromium``, Debian's package
    ``chromium``); Playwright drives it, it never downloads a browser;
``AELIB_SCREENSHOTS``
    where the screenshots go (default ``screenshots`` next to the site, so
    ``_build/screenshots``).

The book has two editions from the same notebooks, English at the site's root
and Chinese under ``zh/`` (EDITIONS); every page of the toc is tested in each.

Every request of a page goes through a route: requests to the local server go
on, any other is aborted and recorded, and the page test fails on it. The book
serves everything it needs itself (MathJax included), so a reader offline or
behind a firewall sees the same page; links to other sites stay links, they are
not requests.

Without Chromium the browser tests are deselected and pytest exits with status
0 after saying why; they are not counted as passed. When the environment
variable ``CI`` is set, a missing Chromium is an error instead.
"""

import functools
import glob
import http.server
import os
import threading
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
HTML_DIR = Path(os.environ.get("AELIB_BOOK_HTML") or REPO / "_build" / "html")
TOC = Path(os.environ.get("AELIB_BOOK_TOC") or REPO / "_toc.yml")
CHROMIUM = Path(os.environ.get("AELIB_CHROMIUM") or "/usr/bin/chromium")
SCREENSHOT_DIR = Path(
    os.environ.get("AELIB_SCREENSHOTS") or HTML_DIR.parent / "screenshots"
)

# Headless flags that work on a machine without display, GPU or internet. The
# last three stop Chromium from calling Google's servers in the background.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

SOURCE_SUFFIXES = (".md", ".ipynb", ".rst", ".myst")

# The editions: the directory of each under the site's root, its language (the
# `lang` of its pages) and where the link to its twin on every page leads.
EDITIONS = {
    "en": {"prefix": "", "lang": "en", "twin": "zh"},
    "zh": {"prefix": "zh/", "lang": "zh-CN", "twin": "en"},
}
THIS_DIR = Path(__file__).resolve().parent
REPORT_KEY = pytest.StashKey[dict]()


def running_in_ci() -> bool:
    """True when the environment variable CI is set to something true-like."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def no_chromium_message() -> str:
    return (
        f"browser test did not run: no Chromium at {CHROMIUM}. "
        "Install it with `sudo apt-get install chromium` "
        "(or point AELIB_CHROMIUM at a Chromium executable)."
    )


# ------------------------------------------------------------------- toc pages


def toc_pages(toc: Path = TOC) -> list[str]:
    """The documents of a Jupyter Book 1.x toc, in reading order, without suffix.

    Handles ``root``, ``parts``, ``chapters`` and ``sections`` at any depth and
    ``file`` and ``glob`` entries; ``url`` entries are external and skipped.
    """
    book_dir = toc.parent
    data = yaml.safe_load(toc.read_text(encoding="utf-8"))
    pages: list[str] = []

    def add(name: str) -> None:
        if Path(name).suffix in SOURCE_SUFFIXES:
            name = str(Path(name).with_suffix(""))
        if name not in pages:
            pages.append(name)

    def walk(node) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        if "file" in node:
            add(node["file"])
        if "glob" in node:
            pattern = str(book_dir / node["glob"])
            for path in sorted(glob.glob(pattern + ".*")):
                if Path(path).suffix in SOURCE_SUFFIXES:
                    add(str(Path(path).relative_to(book_dir)))
        for key in ("parts", "chapters", "sections"):
            walk(node.get(key))

    add(data["root"])
    walk(data)
    return pages


def pytest_generate_tests(metafunc):
    """Parametrize the page test with every page of the toc, in each edition."""
    if "docname" in metafunc.fixturenames:
        pages = toc_pages()
        if "edition" in metafunc.fixturenames:
            cases = [(edition, page) for edition in EDITIONS for page in pages]
            metafunc.parametrize(
                ("edition", "docname"), cases, ids=[f"{e}/{p}" for e, p in cases]
            )
        else:
            metafunc.parametrize("docname", pages, ids=pages)
    elif "edition" in metafunc.fixturenames:
        metafunc.parametrize("edition", list(EDITIONS))


# ------------------------------------------------- no Chromium: say it, exit 0


def _is_browser_item(item) -> bool:
    return THIS_DIR in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists() or running_in_ci():
        return  # in CI the `browser` fixture fails every test instead
    browser_items = [item for item in items if _is_browser_item(item)]
    if browser_items:
        config.hook.pytest_deselected(items=browser_items)
        items[:] = [item for item in items if not _is_browser_item(item)]
        config.stash[REPORT_KEY]["not_run"] = no_chromium_message()


def pytest_sessionfinish(session, exitstatus):
    # Only browser tests were selected and none could run: not a failure, but
    # not a pass either (the summary says why).
    if session.config.stash[REPORT_KEY].get("not_run") and exitstatus == 5:
        session.exitstatus = 0


def pytest_configure(config):
    config.stash[REPORT_KEY] = {
        "tested": [],  # pages whose test ran
        "pages": {},  # what was found on each page that loaded
        "notes": [],
    }


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    report = config.stash[REPORT_KEY]
    write = terminalreporter.write_line
    if report.get("not_run"):
        terminalreporter.section("browser test NOT RUN", yellow=True, bold=True)
        write(report["not_run"])
        return
    if not report["pages"]:
        return
    terminalreporter.section("rendered book in headless Chromium")
    for docname, info in report["pages"].items():
        chinese = (
            f"{info['chinese_share']:.0%} of the prose's letters Chinese "
            f"({info['chinese']} distinct characters), "
            if info.get("chinese_share") is not None
            else ""
        )
        write(
            f"{docname}: {info['images']} images, {info['links']} internal links, "
            + chinese
            + f"{info['math']} maths ({info['math_rendered']} typeset by MathJax), "
            f"{info['requests']} requests ({info['blocked']} to other hosts, "
            f"blocked), {info['seconds']:.1f} s, screenshot {info['screenshot']}"
        )
    for note in report["notes"]:
        write(note)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def book_report(pytestconfig) -> dict:
    """What the tests found, printed at the end of the run."""
    return pytestconfig.stash[REPORT_KEY]


@pytest.fixture(scope="session")
def editions() -> dict:
    """The book's editions (EDITIONS): directory, language, twin edition."""
    return EDITIONS


@pytest.fixture(scope="session")
def toc_docnames() -> list[str]:
    """The pages of the toc, root first."""
    return toc_pages()


@pytest.fixture(scope="session")
def site() -> Path:
    """The built HTML book; the test fails when it has not been built."""
    if not (HTML_DIR / "index.html").is_file():
        pytest.fail(
            f"the book is not built: {HTML_DIR / 'index.html'} does not exist. "
            "Run `make book` first (in `make test` this stage runs after "
            "book-strict, which builds it).",
            pytrace=False,
        )
    return HTML_DIR


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture(scope="session")
def base_url(site):
    """Serve the site from 127.0.0.1 on a free port for the whole session."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium (the system's), driven by Playwright."""
    if not CHROMIUM.exists():
        pytest.fail(
            no_chromium_message() + " CI is set, so the browser test must run.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def new_context(browser, base_url):
    """Make a fresh browser context (empty profile) that only reaches the book.

    Every request is routed: one to the local server goes on; any other is
    aborted and its URL appended to the context's ``blocked`` list, which the
    page test turns into failures. The context's ``requests`` counts them all.
    """

    def make(**options):
        context = browser.new_context(**options)
        context.blocked = []
        context.requests = 0

        def route(route):
            context.requests += 1
            url = route.request.url
            if url.startswith(base_url):
                route.continue_()
            else:
                context.blocked.append(url)
                route.abort("blockedbyclient")

        context.route("**/*", route)
        return context

    return make


@pytest.fixture(scope="session")
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR
