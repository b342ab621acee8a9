"""Every page of the built book, as a reader's browser shows it.

Each page listed in the toc is loaded in headless Chromium from a loopback HTTP
server (see conftest.py) and must have:

(a) every image loaded, and no failed request to the book's own server;
(b) no unresolved glue, citation or cross-reference, and no docutils error;
(c) every internal link resolving: the page exists and so does the anchor;
(d) no console error or script error from the book's own files;
(e) every maths element rendered by MathJax or still holding its TeX markup.

A full-page screenshot of each page is saved (``_build/screenshots``) before the
checks, so a failing page can be looked at. Problems with external resources
(MathJax's CDN, fonts, launch buttons) are listed at the end of the run but do
not fail: the book is often read offline.
"""

import html.parser
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

# Text that must not appear in the rendered prose (code blocks excluded): raw
# MyST roles that were not rendered and Sphinx's markers of a missing target.
FORBIDDEN_TEXT = ["{glue:", "{cite", "glue:text", "Undefined glue", "[?]", "??"]
RAW_ROLE = re.compile(r"\{[a-z][\w.-]*(?::[\w.-]+)?\}`")

# Errors from the book's own files that come from its third-party theme and
# extensions, not from the book: each matches one exact message and is listed
# at the end of the run instead of failing. Any other error fails the page.
KNOWN_UPSTREAM_ERRORS = {
    # (pydata-sphinx-theme's "invalid theme mode" on a first visit is fixed by
    # html_context.default_mode in _config.yml, so it fails the test again.)
    # sphinx-thebe 0.3.1 writes its inline config script (`const THEBE_JS_URL
    # = ...`) twice into every page; the second copy is rejected, the first works.
    r"SyntaxError: Identifier 'THEBE_JS_URL' has already been declared\s*": (
        "sphinx-thebe, duplicate inline config script"
    ),
}

LOAD_TIMEOUT_MS = 60_000
WAIT_TIMEOUT_MS = 30_000

# One pass over the DOM collects everything the checks need.
INSPECT_PAGE = r"""
() => {
  const prose = (document.querySelector("main") || document.body).cloneNode(true);
  prose.querySelectorAll("pre, script, style, .cell_input, mjx-container")
       .forEach((e) => e.remove());
  const brief = (e) => e.outerHTML.replace(/\s+/g, " ").slice(0, 160);
  return {
    images: Array.from(document.images).map((img) => ({
      src: img.currentSrc || img.src, complete: img.complete, width: img.naturalWidth,
    })),
    links: Array.from(document.querySelectorAll("a[href]")).map((a) => a.href),
    text: prose.textContent,
    docutilsErrors: Array.from(document.querySelectorAll(
      ".problematic, .system-message, .system-messages, .error:not(.admonition)"
    )).map(brief),
    unresolvedXrefs: Array.from(document.querySelectorAll(".xref"))
      .filter((e) => !e.closest("a")).map(brief),
    emptyGlue: Array.from(document.querySelectorAll(".pasted-text, .pasted-inline"))
      .filter((e) => !e.textContent.trim() && !e.querySelector("img")).map(brief),
    math: Array.from(document.querySelectorAll(".math")).map((e) => ({
      rendered: e.querySelector("mjx-container") !== null,
      mathjaxError: e.querySelector("mjx-merror") !== null,
      text: e.textContent.trim(),
      html: brief(e),
    })),
    declaresIcon: document.querySelector("link[rel~=icon]") !== null,
    ids: Array.from(document.querySelectorAll("[id], a[name]"))
      .map((e) => e.id || e.getAttribute("name")),
  };
}
"""

WAIT_FOR_IMAGES = """
() => {
  document.querySelectorAll("img[loading=lazy]").forEach((i) => (i.loading = "eager"));
  return Array.from(document.images).every((img) => img.complete);
}
"""

# Resolves (to true) when MathJax has finished typesetting, or at once when
# MathJax did not load (offline: window.MathJax is then only its configuration).
WAIT_FOR_MATHJAX = """
async () => {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) { await mj.startup.promise; }
  return true;
}
"""


class _IdCollector(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])


@pytest.fixture(scope="session")
def fetch(base_url):
    """GET a URL of the loopback server once: (status, set of element ids)."""
    cache = {}

    def get(url):
        if url not in cache:
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    status, body = response.status, response.read()
                    kind = response.headers.get_content_type()
            except urllib.error.HTTPError as error:
                status, body, kind = error.code, b"", ""
            ids = set()
            if kind == "text/html":
                collector = _IdCollector()
                collector.feed(body.decode("utf-8", errors="replace"))
                ids = collector.ids
            cache[url] = (status, ids)
        return cache[url]

    return get


def _own(url: str, base_url: str) -> bool:
    return url.startswith(base_url)


def _known_upstream(message: str) -> str | None:
    for pattern, origin in KNOWN_UPSTREAM_ERRORS.items():
        if re.fullmatch(pattern, message):
            return origin
    return None


def test_page(docname, site, base_url, new_context, fetch, screenshot_dir, book_report):
    start = time.perf_counter()
    html_file = site / f"{docname}.html"
    assert html_file.is_file(), f"{docname} is in the toc but {html_file} was not built"
    url = urllib.parse.urljoin(base_url, f"{docname}.html")
    book_report["tested"].append(docname)

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    console, page_errors, failed, bad_status = [], [], [], []
    notes, known = [], []

    def on_console(message):
        if message.type == "error":
            console.append((message.location.get("url", ""), message.text))

    def on_page_error(error):
        page_errors.append(f"{error.name}: {error.message}\n{error.stack}")

    def on_request_failed(request):
        failed.append((request.url, request.failure or "failed"))

    def on_response(response):
        if response.status >= 400:
            bad_status.append((response.url, response.status))

    context = new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("requestfailed", on_request_failed)
    page.on("response", on_response)
    try:
        response = page.goto(
            url, wait_until="domcontentloaded", timeout=LOAD_TIMEOUT_MS
        )
        assert response is not None and response.status == 200, (
            f"{url}: HTTP {response.status if response else 'no response'}"
        )
        try:  # an external script that hangs delays "load"; the page is there
            page.wait_for_load_state("load", timeout=LOAD_TIMEOUT_MS)
        except PlaywrightTimeout:
            notes.append(f"load event not reached within {LOAD_TIMEOUT_MS} ms")
        try:
            page.wait_for_function(WAIT_FOR_IMAGES, timeout=WAIT_TIMEOUT_MS)
        except PlaywrightTimeout:
            pass  # the image check below names the images
        try:
            page.wait_for_function(WAIT_FOR_MATHJAX, timeout=WAIT_TIMEOUT_MS)
        except PlaywrightTimeout:
            notes.append(f"MathJax did not finish within {WAIT_TIMEOUT_MS} ms")
        dom = page.evaluate(INSPECT_PAGE)
        shot = screenshot_dir / f"{docname}.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
    finally:
        context.close()

    problems = []

    # (a) images and requests to the book's own server
    for img in dom["images"]:
        if not img["complete"] or img["width"] == 0:
            problems.append(f"image not loaded: {img['src']}")
    # Chromium asks every server for /favicon.ico by itself; the book declares
    # no icon, so that request's 404 is the browser's, not a broken reference.
    favicon = base_url + "favicon.ico"
    for request_url, status in bad_status:
        if request_url == favicon and not dom["declaresIcon"]:
            known.append(f"HTTP {status} for {request_url} (no favicon declared)")
        elif _own(request_url, base_url):
            problems.append(f"HTTP {status} for {request_url}")
        else:
            notes.append(f"HTTP {status} for {request_url}")
    for request_url, failure in failed:
        if _own(request_url, base_url):
            problems.append(f"request failed ({failure}): {request_url}")
        else:
            notes.append(f"request failed ({failure}): {request_url}")

    # (b) unresolved glue, citations, cross-references; docutils errors
    text = dom["text"]
    for needle in FORBIDDEN_TEXT:
        for match in re.finditer(re.escape(needle), text):
            context_text = " ".join(text[match.start() - 60 : match.end() + 60].split())
            problems.append(f"unresolved text {needle!r}: ...{context_text}...")
    for match in RAW_ROLE.finditer(text):
        context_text = " ".join(text[match.start() - 40 : match.end() + 60].split())
        problems.append(f"unrendered MyST role: ...{context_text}...")
    problems += [f"docutils error element: {e}" for e in dom["docutilsErrors"]]
    problems += [f"unresolved cross-reference: {e}" for e in dom["unresolvedXrefs"]]
    problems += [f"empty glue output: {e}" for e in dom["emptyGlue"]]

    # (c) internal links: the target page exists, and so does the anchor
    internal = sorted({link for link in dom["links"] if _own(link, base_url)})
    own_ids = set(dom["ids"])
    for link in internal:
        target, _, fragment = link.partition("#")
        target = target.split("?")[0]
        if target == url:
            status, ids = 200, own_ids
        else:
            status, ids = fetch(target)
        if status != 200:
            problems.append(f"broken link (HTTP {status}): {link}")
        elif fragment and urllib.parse.unquote(fragment) not in ids:
            problems.append(f"broken anchor #{fragment}: {link}")

    # (d) console errors and uncaught exceptions
    reported = {request_url for request_url, _ in bad_status + failed}
    for source, message in console:
        if source == favicon and not dom["declaresIcon"]:
            known.append(f"HTTP 404 for {favicon} (no favicon declared)")
        elif source in reported and message.startswith("Failed to load resource"):
            pass  # the failed request above, reported there
        elif (origin := _known_upstream(message)) and _own(source, base_url):
            known.append(f"console error ({origin}): {message}")
        elif not source or _own(source, base_url):
            problems.append(f"console error from {source or 'the page'}: {message}")
        else:
            notes.append(f"console error from {source}: {message}")
    for error in page_errors:
        if origin := _known_upstream(error):
            known.append(f"script error ({origin}): {error.splitlines()[0]}")
        elif base_url in error or "://" not in error:
            problems.append(f"uncaught script error: {error}")
        else:
            notes.append(f"uncaught script error: {error.splitlines()[0]}")

    # (e) maths: rendered by MathJax, or at least still present as TeX
    for math in dom["math"]:
        if math["mathjaxError"]:
            problems.append(f"MathJax could not typeset: {math['html']}")
        elif not math["rendered"] and not re.search(r"\\|\$", math["text"]):
            problems.append(f"maths neither rendered nor TeX markup: {math['html']}")

    book_report["external"] += [(docname, note) for note in dict.fromkeys(notes)]
    book_report["known"] += [(docname, note) for note in dict.fromkeys(known)]
    book_report["pages"][docname] = {
        "images": len(dom["images"]),
        "links": len(internal),
        "math": len(dom["math"]),
        "math_rendered": sum(m["rendered"] for m in dom["math"]),
        "seconds": time.perf_counter() - start,
        "screenshot": shot,
    }
    if problems:
        problems = list(dict.fromkeys(problems))
        pytest.fail(
            f"{docname}: {len(problems)} problem(s):\n  " + "\n  ".join(problems),
            pytrace=False,
        )


def test_index_redirects_to_root_page(site, base_url, new_context, toc_docnames):
    """index.html, the page a reader opens first, leads to the toc's root page."""
    root = toc_docnames[0]
    context = new_context()
    try:
        page = context.new_page()
        page.goto(base_url + "index.html", wait_until="domcontentloaded")
        page.wait_for_url(f"**/{root}.html", timeout=WAIT_TIMEOUT_MS)
    finally:
        context.close()


def test_every_toc_page_was_tested(site, browser, book_report, toc_docnames):
    """Runs last: as many pages were checked as the toc lists (no page lost)."""
    pages = toc_docnames
    tested = book_report["tested"]
    assert len(tested) == len(pages), (
        f"{len(tested)} pages tested, {len(pages)} in the toc; untested: "
        f"{sorted(set(pages) - set(tested))}"
    )
    extra = sorted(
        str(path.relative_to(site).with_suffix(""))
        for path in site.rglob("*.html")
        if not path.relative_to(site).parts[0].startswith("_")
        and path.name not in ("index.html", "search.html", "genindex.html")
        and str(path.relative_to(site).with_suffix("")) not in pages
    )
    if extra:
        book_report["notes"].append(
            f"Note: built pages not in the toc (stale from an older build?): {extra}"
        )
