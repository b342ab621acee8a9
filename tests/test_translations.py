"""The Chinese edition's catalogues and the tools that keep them in step.

The Chinese edition is the English notebooks with their prose replaced, page by
page, from the gettext catalogues in ``book/locales/zh_CN/LC_MESSAGES``
(``.ci/translations.py``; the English templates come from `make translations`).
These tests check the checker (that it catches what would break the Chinese
build or let it drift from the English), the rewriting of glue roles, the link
between the editions (``book/_ext/editions.py``), and that every catalogue in the
repository is complete and consistent with its English.
"""

import importlib.util
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

REPO = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


translations = _load("aelib_book_translations", REPO / ".ci" / "translations.py")
editions = _load("aelib_book_editions", REPO / "book" / "_ext" / "editions.py")
book_config = _load("aelib_book_config", REPO / ".ci" / "book_config.py")

NB = "03_algorithms_and_maths.ipynb"


def test_qualify_glue_names_the_notebook_once():
    text = "损失 {glue:text}`ch3_kl:.2f`，{glue:text}`ch3_source`，{glue}`x`。"
    once = translations.qualify_glue(text, NB)
    # A text role without a format gets ``:s``: MyST-NB splits ``path::key``
    # at its last colon, so ``path::key`` alone would lose the key.
    assert once == (
        f"损失 {{glue:text}}`{NB}::ch3_kl:.2f`，{{glue:text}}`{NB}::ch3_source:s`，"
        f"{{glue}}`{NB}::x`。"
    )
    assert translations.qualify_glue(once, NB) == once
    assert translations.translation_problems(text, once, NB) == []


def test_glued_markdown_cannot_be_translated():
    msgid = "Data: {glue:md}`ch3_source`."
    msgstr = translations.qualify_glue("数据：{glue:md}`ch3_source`。", NB)
    problems = translations.translation_problems(msgid, msgstr, NB)
    assert any("glue the value as text" in problem for problem in problems), problems


def test_a_faithful_translation_has_no_problem():
    msgid = (
        "The KL is {glue:text}`ch3_kl:.2f` nats {cite:p}`kingma2014auto`; see "
        "{numref}`ch3-fig-elbo` and {ref}`the gap <ch3-gap>`, where "
        "$\\log p(x) \\ge \\mathcal{L}(x)$ and `beta=1` ([docs](https://keras.io))."
    )
    msgstr = (
        f"KL 为 {{glue:text}}`{NB}::ch3_kl:.2f` 奈特 {{cite:p}}`kingma2014auto`；见 "
        "{numref}`ch3-fig-elbo` 与{ref}`这个差距 <ch3-gap>`，其中 "
        "$\\log p(x) \\ge \\mathcal{L}(x)$，`beta=1`（[文档](https://keras.io)）。"
    )
    assert translations.translation_problems(msgid, msgstr, NB) == []


@pytest.mark.parametrize(
    ("msgstr", "expected"),
    [
        ("KL 为 {glue:text}`ch3_kl:.2f` 奈特。", "glue role without its notebook"),
        ("KL 为 {glue:text}`other.ipynb::ch3_kl:.2f` 奈特。", "names another notebook"),
        ("KL 为 0.42 奈特。", "lost from the English: glue {glue:text}"),
        (f"KL 为 {{glue:text}}`{NB}::ch3_kl:.1f` 奈特。", "lost from the English"),
        (f"KL 为 {{glue:text}}`{NB}::ch3_kl:.2f` 奈特，$x$。", "not in the English"),
    ],
    ids=[
        "bare-glue",
        "other-notebook",
        "typed-number",
        "format-changed",
        "extra-maths",
    ],
)
def test_a_translation_that_breaks_the_build_is_caught(msgstr, expected):
    msgid = "The KL is {glue:text}`ch3_kl:.2f` nats."
    problems = translations.translation_problems(msgid, msgstr, NB)
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("msgid", "msgstr", "lost"),
    [
        ("See {numref}`fig-a`.", "见 {numref}`fig-b`。", "numref fig-a"),
        (
            "As {cite:t}`a2014,b2015` show.",
            "如 {cite:t}`a2014` 所示。",
            "cite:t a2014,b2015",
        ),
        ("Use `fit()`.", "使用 fit()。", "code `fit()`"),
        ("$$\\sum_i x_i$$", "$$\\sum_j x_j$$", "maths $$\\sum_i x_i$$"),
        (
            "[Keras](https://keras.io)",
            "[Keras](https://keras.cn)",
            "link https://keras.io",
        ),
    ],
)
def test_references_maths_code_and_links_must_survive(msgid, msgstr, lost):
    problems = translations.translation_problems(msgid, msgstr, None)
    assert f"lost from the English: {lost}" in problems, problems


def _write_catalogue(path: Path, messages: dict, fuzzy=()):
    catalog = Catalog(locale="zh_CN")
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr, flags=("fuzzy",) if msgid in fuzzy else ())
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=0)


def test_check_reports_untranslated_fuzzy_missing_and_stale(tmp_path, monkeypatch):
    locale = tmp_path / "locales"
    monkeypatch.setattr(translations, "REPO", tmp_path)
    monkeypatch.setattr(translations, "LOCALE_DIR", locale)
    po = locale / "zh_CN" / "LC_MESSAGES" / "book" / "page.po"
    _write_catalogue(
        po,
        {"Title": "标题", "Old text": "旧文字", "Todo": "", "Changed": "改过"},
        fuzzy={"Changed"},
    )
    pot_dir = tmp_path / "pot"
    _write_catalogue(
        pot_dir / "book" / "page.pot",
        {"Title": "", "Todo": "", "Changed": "", "New text": ""},
    )
    _write_catalogue(pot_dir / "book" / "other.pot", {"Other": ""})
    problems = "\n".join(translations.check(pot_dir))
    assert "untranslated: 'Todo'" in problems
    assert "fuzzy (the English changed): 'Changed'" in problems
    assert "missing (`make translations`): 'New text'" in problems
    assert "not in the English any more: 'Old text'" in problems
    assert "book/other.po: missing" in problems
    assert "'Title'" not in problems

    _write_catalogue(
        po, {"Title": "标题", "Todo": "待办", "Changed": "改过", "New text": "新"}
    )
    _write_catalogue(po.with_name("other.po"), {"Other": "其他"})
    assert translations.check(pot_dir) == []


def test_twin_links_lead_to_the_same_page_in_the_other_edition():
    assert editions.twin_href("book/01_background", "zh/") == (
        "../zh/book/01_background.html"
    )
    assert editions.twin_href("book/01_background", "../") == (
        "../../book/01_background.html"
    )
    assert editions.twin_href("index", "zh/") == "zh/index.html"


def test_the_chinese_build_reuses_the_english_execution():
    english = book_config.book_config("cache")
    chinese = book_config.book_config("cache", "zh_CN")
    assert english["execute"]["cache"] == chinese["execute"]["cache"]
    assert Path(chinese["execute"]["cache"]).is_absolute()
    assert chinese["sphinx"]["config"]["language"] == "zh_CN"
    assert "language" not in english["sphinx"]["config"]
    assert english["sphinx"]["config"]["aelib_twin"]["root"] == "zh/"
    assert chinese["sphinx"]["config"]["aelib_twin"]["root"] == "../"
    with pytest.raises(SystemExit, match="no edition for language 'fr'"):
        book_config.book_config("cache", "fr")


def test_every_catalogue_is_complete_and_consistent():
    """The repository's Chinese catalogues: nothing untranslated, fuzzy or broken.

    (`make check-translations` also compares them with the English templates.)
    """
    problems = translations.check(None)
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems[:30])
