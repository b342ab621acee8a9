"""The book's two editions, English and Chinese, built from the same notebooks.

A Sphinx extension (listed in ``_config.yml``) that does two things:

* it links every page to its twin in the other edition: a link at the top of the
  page and ``<link rel="alternate" hreflang=...>`` in its head. The English book
  is ``_build/html`` and the Chinese one ``_build/html/zh``, so the twin of
  ``book/01_background.html`` is ``zh/book/01_background.html`` and back;
* it keeps the outputs of code cells out of translation: they are computed when
  the book is built (numbers, tables, printed text), so they are the same in
  both editions and never become messages of a catalogue.

Configuration (``sphinx: config:`` in ``_config.yml``; the Chinese build
overrides it): ``aelib_twin = {"root": "zh/", "hreflang": "zh-CN",
"label": "中文版"}``, where ``root`` is the twin edition's root relative to this
edition's root.
"""

from __future__ import annotations

import html

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.transforms import SphinxTransform


class KeepOutputsUntranslated(SphinxTransform):
    """Mark the text of code-cell outputs as not translatable.

    Runs before Sphinx's ``Locale`` transform (priority 20), which then neither
    extracts these texts (gettext builder) nor replaces them (other builders).
    """

    default_priority = 10

    def apply(self, **kwargs) -> None:
        for container in self.document.findall(nodes.container):
            if container.get("nb_element") != "cell_code_output":
                continue
            for node in container.findall(nodes.TextElement):
                node["translatable"] = False


def twin_href(pagename: str, root: str) -> str:
    """The URL of ``pagename``'s twin, relative to the page itself."""
    up = "../" * pagename.count("/")
    return f"{up}{root}{pagename}.html"


def add_twin_link(app: Sphinx, pagename: str, templatename, context, doctree) -> None:
    twin = app.config.aelib_twin
    if not twin or doctree is None or pagename not in app.env.found_docs:
        return
    href = html.escape(twin_href(pagename, twin["root"]), quote=True)
    lang = html.escape(twin["hreflang"], quote=True)
    label = html.escape(twin["label"])
    context["metatags"] = (
        context.get("metatags", "")
        + f'\n<link rel="alternate" hreflang="{lang}" href="{href}" />'
    )
    context["body"] = (
        f'<p class="aelib-twin"><a class="reference internal" href="{href}" '
        f'hreflang="{lang}" lang="{lang}">{label}</a></p>\n' + context["body"]
    )


def setup(app: Sphinx) -> dict:
    app.add_config_value("aelib_twin", {}, "html", types=[dict])
    app.add_transform(KeepOutputsUntranslated)
    app.connect("html-page-context", add_twin_link)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
