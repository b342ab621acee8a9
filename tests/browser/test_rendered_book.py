r"""Every page of the built book, as a reader's browser shows it, offline.

Each page listed in the toc is loaded in headless Chromium from a loopback HTTP
server (see conftest.py), with every request to another host blocked, and must
have:

(a) every image loaded, every figure showing an image (a figure whose plot
    reached the page as the text ``<Figure size ...>`` fails), every request
    answered by the book's own server, and no request to any other host (the
    book serves MathJax and its fonts itself; links to other sites are links,
    not requests);
(b) no unresolved glue, citation or cross-reference, and no docutils error;
(c) every internal link resolving: the page exists and so does the anchor;
(d) no console error and no uncaught script error, whatever their source;
(e) every formula typeset by MathJax: no maths element left as TeX, and no raw
    TeX (``\(``, ``\[``, ``$$``, ``\mathcal``...) anywhere in the text outside
    code;
(f) no TensorFlow, absl or Python warning text, in the prose or in any output;
(g) its edition's language: the page's ``lang``, a link to its twin page in the
    other edition (which exists), and on a Chinese page a Chinese title and
    mostly Chinese prose;
(h) every Chinese character drawn with a real glyph: none falls back to the
    "missing glyph" box (tofu) for want of a font.

Every page is tested in both editions (``en/...`` and ``zh/...``).

A full-page screenshot of each page is saved (``_build/screenshots``) before the
checks, so a failing page can be looked at.
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

# TeX that MathJax did not typeset, in text outside code and outside maths
# elements (which are checked one by one): the delimiters Sphinx writes, display
# dollars, a control word such as \mathcal or \frac, or inline dollars around
# something with a backslash, ^ or _.
RAW_TEX = re.compile(r"\\[()\[\]]|\$\$|\\[A-Za-z]+|\$[^$\n]*[\\^_][^$\n]*\$")

# Log and warning text of TensorFlow, absl and Python. In the prose: the formats
# of their log lines (the prose may name absl or retracing). In cell outputs:
# those, and the words alone.
WARNING_LINES = {
    "TensorFlow/absl Python log": re.compile(
        r"\b(?:WARNING|INFO|ERROR):(?:tensorflow|absl)\b"
    ),
    "absl C++ log line": re.compile(r"\b[IWEF]\d{4} \d\d:\d\d:\d+\.\d+\s"),
    "TensorFlow C++ log line": re.compile(
        r"\d: [IWEF] (?:tensorflow|external|xla|tsl)/"
    ),
    "absl initialization note": re.compile(r"absl::InitializeLog"),
    "oneDNN notice": re.compile(r"oneDNN custom operations are on"),
    "tf.function retracing": re.compile(r"triggered tf\.function retracing"),
    "CUDA probe": re.compile(
        r"Could not find cuda drivers|Unable to register cu(?:DNN|FFT|BLAS) factory"
        r"|failed call to cuInit"
    ),
    "CPU instructions notice": re.compile(r"This TensorFlow binary is optimized"),
    "Python warning": re.compile(r"^\S+:\d+: \w*Warning: ", re.MULTILINE),
}
WARNING_WORDS_IN_OUTPUTS = {
    "retracing": re.compile(r"retracing", re.IGNORECASE),
    "absl": re.compile(r"\babsl\b"),
    "Python warning": re.compile(r"\b\w+Warning: "),
}

# At most this many raw TeX fragments are listed per page (then a count).
MAX_SHOWN = 10

LOAD_TIMEOUT_MS = 60_000
WAIT_TIMEOUT_MS = 30_000

# One pass over the DOM collects everything the checks need.
INSPECT_PAGE = r"""
() => {
  const main = document.querySelector("main") || document.body;
  const without = (selector) => {
    const copy = main.cloneNode(true);
    copy.querySelectorAll(selector).forEach((e) => e.remove());
    return copy.textContent;
  };
  const brief = (e) => e.outerHTML.replace(/\s+/g, " ").slice(0, 160);
  return {
    text: without("pre, script, style, .cell_input, mjx-container"),
    texText: without(
      "pre, code, kbd, samp, script, style, .cell_input, .math, mjx-container"
    ),
    prose: without("pre, script, style, .cell_input, .cell_output, mjx-container"),
    outputs: Array.from(main.querySelectorAll(".cell_output"))
      .map((e) => e.textContent).join("\n"),
    images: Array.from(document.images).map((img) => ({
      src: img.currentSrc || img.src, complete: img.complete, width: img.naturalWidth,
    })),
    links: Array.from(document.querySelectorAll("a[href]")).map((a) => a.href),
    docutilsErrors: Array.from(document.querySelectorAll(
      ".problematic, .system-message, .system-messages, .error:not(.admonition)"
    )).map(brief),
    unresolvedXrefs: Array.from(document.querySelectorAll(".xref"))
      .filter((e) => !e.closest("a")).map(brief),
    imagelessFigures: Array.from(main.querySelectorAll("figure"))
      .filter((f) => !f.querySelector(
        "img, video, canvas, object, svg:not(button svg)"
      )).map(brief),
    figureAsText: main.textContent.includes("<Figure size"),
    emptyGlue: Array.from(document.querySelectorAll(".pasted-text, .pasted-inline"))
      .filter((e) => !e.textContent.trim() && !e.querySelector("img")).map(brief),
    math: Array.from(document.querySelectorAll(".math")).map((e) => ({
      rendered: e.querySelector("mjx-container") !== null,
      mathjaxError: e.querySelector("mjx-merror") !== null,
      text: e.textContent.trim(),
      html: brief(e),
    })),
    ids: Array.from(document.querySelectorAll("[id], a[name]"))
      .map((e) => e.id || e.getAttribute("name")),
    lang: document.documentElement.lang,
    twin: Array.from(document.querySelectorAll(".aelib-twin a"))
      .map((a) => ({ href: a.href, hreflang: a.hreflang })),
    title: (main.querySelector("h1") || { textContent: "" }).textContent,
    letters: without(
      "pre, code, script, style, .cell_input, .cell_output, .math, mjx-container, "
      + ".citation-list, .aelib-twin, .bd-header-article"
    ),
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
# MathJax did not load (window.MathJax is then only its configuration, and the
# maths check fails the page).
WAIT_FOR_MATHJAX = """
async () => {
  const mj = window.MathJax;
  if (mj && mj.startup && mj.startup.promise) { await mj.startup.promise; }
  return true;
}
"""


# CJK Unified Ideographs (and Extension A), the characters of Chinese prose.
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
# On a Chinese page, at least this share of the letters of the prose (outside
# code, outputs, maths and the bibliography's entries) are Chinese characters:
# an untranslated page is English letters. Names, symbols and glued text keep
# it well below 1. (The link to the English twin is English by design.)
MIN_CHINESE_SHARE = 0.5
MIN_PROSE_LETTERS = 200

# Draws each character on a canvas in the page's own font and compares it with
# the drawing of characters that no font has (private-use code points): the
# browser draws those as its "missing glyph" box, and a character drawn the
# same way has no font either. Returns the characters drawn as the box.
FIND_TOFU = r"""
(chars) => {
  const main = document.querySelector("main") || document.body;
  const family = getComputedStyle(main).fontFamily;
  const canvas = document.createElement("canvas");
  canvas.width = 48; canvas.height = 48;
  const g = canvas.getContext("2d", { willReadFrequently: true });
  const draw = (ch) => {
    g.clearRect(0, 0, 48, 48);
    g.font = `32px ${family}`;
    g.fillText(ch, 4, 38);
    const data = g.getImageData(0, 0, 48, 48).data;
    let hash = 0;
    for (let i = 3; i < data.length; i += 4) { hash = (hash * 31 + data[i]) | 0; }
    return hash;
  };
  const boxes = new Set(["\uE000", "\uF8FF", "\u{10FFFD}"].map(draw));
  return chars.filter((ch) => boxes.has(draw(ch)));
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


def _raw_tex_fragments(text: str, gap: int = 40) -> list[tuple[int, int]]:
    """Spans of raw TeX in `text`, matches closer than `gap` merged into one."""
    spans: list[list[int]] = []
    for match in RAW_TEX.finditer(text):
        if spans and match.start() - spans[-1][1] <= gap:
            spans[-1][1] = match.end()
        else:
            spans.append([match.start(), match.end()])
    return [(start, end) for start, end in spans]


def _around(text: str, match: re.Match, width: int = 60) -> str:
    return " ".join(text[max(match.start() - width, 0) : match.end() + width].split())


def test_page(
    edition,
    docname,
    editions,
    site,
    base_url,
    new_context,
    fetch,
    screenshot_dir,
    book_report,
):
    start = time.perf_counter()
    info = editions[edition]
    page_name = info["prefix"] + docname
    html_file = site / f"{page_name}.html"
    assert html_file.is_file(), (
        f"{docname} is in the toc but {html_file} was not built (edition {edition!r})"
    )
    url = urllib.parse.urljoin(base_url, f"{page_name}.html")
    report_name = f"{edition}/{docname}"
    book_report["tested"].append(report_name)

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    console, page_errors, failed, bad_status = [], [], [], []
    notes = []

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
        chinese = sorted(set(CJK.findall(dom["letters"] + dom["title"])))
        tofu = page.evaluate(FIND_TOFU, chinese) if chinese else []
        shot = screenshot_dir / edition / f"{docname}.png"
        shot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shot), full_page=True)
    finally:
        context.close()

    problems = []

    # (a) images; requests: answered by the book's server, none to other hosts
    for img in dom["images"]:
        if not img["complete"] or img["width"] == 0:
            problems.append(f"image not loaded: {img['src']}")
    blocked = list(dict.fromkeys(context.blocked))
    problems += [f"request to another host (blocked): {u}" for u in blocked]
    for request_url, status in bad_status:
        problems.append(f"HTTP {status} for {request_url}")
    for request_url, failure in failed:
        if request_url not in blocked:
            problems.append(f"request failed ({failure}): {request_url}")

    # (b) unresolved glue, citations, cross-references; docutils errors
    text = dom["text"]
    for needle in FORBIDDEN_TEXT:
        for match in re.finditer(re.escape(needle), text):
            problems.append(f"unresolved text {needle!r}: ...{_around(text, match)}...")
    for match in RAW_ROLE.finditer(text):
        problems.append(f"unrendered MyST role: ...{_around(text, match)}...")
    problems += [f"docutils error element: {e}" for e in dom["docutilsErrors"]]
    problems += [f"unresolved cross-reference: {e}" for e in dom["unresolvedXrefs"]]
    problems += [f"empty glue output: {e}" for e in dom["emptyGlue"]]
    problems += [f"figure without an image: {e}" for e in dom["imagelessFigures"]]
    if dom["figureAsText"]:
        problems.append(
            "a Matplotlib figure printed as text ('<Figure size ...>'): the "
            "kernel drew it without the inline backend (is MPLBACKEND set?)"
        )

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

    # (d) every console error and uncaught exception, whatever its source
    reported = set(blocked) | {request_url for request_url, _ in bad_status + failed}
    for source, message in console:
        if source in reported and message.startswith("Failed to load resource"):
            continue  # the request above, reported there
        problems.append(f"console error from {source or 'the page'}: {message}")
    problems += [f"uncaught script error: {error}" for error in page_errors]

    # (e) maths: every formula typeset, no raw TeX left in the text
    for math in dom["math"]:
        if math["mathjaxError"]:
            problems.append(f"MathJax could not typeset: {math['html']}")
        elif not math["rendered"]:
            problems.append(f"maths not typeset by MathJax: {math['html']}")
    tex_text = dom["texText"]
    fragments = _raw_tex_fragments(tex_text)
    for first, last in fragments[:MAX_SHOWN]:
        shown = " ".join(tex_text[max(first - 40, 0) : last + 40].split())
        problems.append(f"raw TeX in the text: ...{shown[:300]}...")
    if len(fragments) > MAX_SHOWN:
        problems.append(f"raw TeX in the text: {len(fragments) - MAX_SHOWN} more")

    # (f) warning text of TensorFlow, absl or Python (each place reported once)
    outputs = dom["outputs"]
    flagged = []  # spans of `outputs` already reported
    for what, pattern in WARNING_LINES.items():
        for where, content in (("prose", dom["prose"]), ("an output", outputs)):
            for match in pattern.finditer(content):
                problems.append(f"{what} in {where}: ...{_around(content, match)}...")
                if content is outputs:
                    flagged.append((match.start(), match.end()))
    for what, pattern in WARNING_WORDS_IN_OUTPUTS.items():
        for match in pattern.finditer(outputs):
            if not any(
                a < match.end() + 80 and match.start() < b + 80 for a, b in flagged
            ):
                problems.append(f"{what} in an output: ...{_around(outputs, match)}...")
                flagged.append((match.start(), match.end()))

    # (g) the edition's language, the twin page
    if dom["lang"] != info["lang"]:
        problems.append(f"page language is {dom['lang']!r}, not {info['lang']!r}")
    twin_info = editions[info["twin"]]
    twin_url = urllib.parse.urljoin(base_url, f"{twin_info['prefix']}{docname}.html")
    hrefs = [link["href"] for link in dom["twin"]]
    if hrefs != [twin_url]:
        problems.append(f"link to the twin page: {hrefs}, expected [{twin_url!r}]")
    elif fetch(twin_url)[0] != 200:
        problems.append(f"the twin page does not exist: {twin_url}")
    share = None
    if edition == "zh":
        if not CJK.search(dom["title"]):
            problems.append(f"title not in Chinese: {dom['title'].strip()!r}")
        letters = re.findall(r"[A-Za-z]", dom["letters"])
        hanzi = CJK.findall(dom["letters"])
        share = len(hanzi) / max(len(hanzi) + len(letters), 1)
        # A page of a heading and a list of references has no prose to measure.
        if len(hanzi) + len(letters) >= MIN_PROSE_LETTERS and share < MIN_CHINESE_SHARE:
            problems.append(
                f"prose mostly not Chinese: {share:.0%} of its letters are Chinese "
                f"characters (at least {MIN_CHINESE_SHARE:.0%} expected)"
            )

    # (h) no Chinese character without a font
    if tofu:
        problems.append(
            f"{len(tofu)} Chinese character(s) drawn as the missing-glyph box "
            f"(no font has them): {''.join(tofu[:40])}"
        )

    book_report["notes"] += [f"{report_name}: {note}" for note in dict.fromkeys(notes)]
    book_report["pages"][report_name] = {
        "chinese": len(chinese),
        "chinese_share": share,
        "images": len(dom["images"]),
        "links": len(internal),
        "math": len(dom["math"]),
        "math_rendered": sum(m["rendered"] for m in dom["math"]),
        "requests": context.requests,
        "blocked": len(blocked),
        "seconds": time.perf_counter() - start,
        "screenshot": shot,
    }
    if problems:
        problems = list(dict.fromkeys(problems))
        pytest.fail(
            f"{report_name}: {len(problems)} problem(s):\n  " + "\n  ".join(problems),
            pytrace=False,
        )


def test_index_redirects_to_root_page(
    edition, editions, site, base_url, new_context, toc_docnames
):
    """index.html, the page a reader opens first, leads to the toc's root page."""
    root = toc_docnames[0]
    prefix = editions[edition]["prefix"]
    context = new_context()
    try:
        page = context.new_page()
        page.goto(base_url + prefix + "index.html", wait_until="domcontentloaded")
        page.wait_for_url(base_url + prefix + root + ".html", timeout=WAIT_TIMEOUT_MS)
    finally:
        context.close()


def test_every_toc_page_was_tested(site, browser, book_report, toc_docnames, editions):
    """Runs last: every page of the toc was checked in each edition (none lost)."""
    pages = [
        info["prefix"] + page for info in editions.values() for page in toc_docnames
    ]
    tested = [
        editions[name.split("/", 1)[0]]["prefix"] + name.split("/", 1)[1]
        for name in book_report["tested"]
    ]
    assert sorted(tested) == sorted(pages), (
        f"{len(tested)} pages tested, {len(pages)} in the toc's editions; "
        f"untested: {sorted(set(pages) - set(tested))}"
    )
    extra = sorted(
        str(path.relative_to(site).with_suffix(""))
        for path in site.rglob("*.html")
        if not any(part.startswith("_") for part in path.relative_to(site).parts)
        and path.name not in ("index.html", "search.html", "genindex.html")
        and str(path.relative_to(site).with_suffix("")) not in pages
    )
    if extra:
        book_report["notes"].append(
            f"Note: built pages not in the toc (stale from an older build?): {extra}"
        )
