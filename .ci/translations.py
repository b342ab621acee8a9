"""Keeps the Chinese edition's message catalogues in step with the English book.

The Chinese edition is built from the same notebooks as the English one, with
Sphinx's gettext mechanism: the prose of every page is a message in a ``.po``
catalogue under ``book/locales/<language>/LC_MESSAGES/`` (one per page), and
Sphinx replaces each English paragraph by its translation at build time. Code
and outputs are never copied, so both editions show the same computed numbers.

    python .ci/translations.py update POT_DIR   # after `make gettext`
    python .ci/translations.py check [POT_DIR]  # exit 1 on any problem

``update`` runs sphinx-intl on the message templates (``.pot``) that the gettext
build wrote to POT_DIR: new English paragraphs come in untranslated, changed
ones are marked fuzzy (their old translation kept as a hint), removed ones are
dropped. Then it rewrites every glue role in a translation so that it names its
notebook (``{glue:text}`key``` becomes ``{glue:text}`01_background.ipynb::key```):
Sphinx parses a translated paragraph on its own, outside its notebook, where a
bare key finds no glue data.

``check`` fails on an untranslated, fuzzy or obsolete message; with POT_DIR, on
a catalogue that is missing or does not hold exactly the messages of its
template (the English changed since the last ``update``); and on a translation
that lost what the build needs from its English: every glue role (named with its
notebook), cross-reference target, citation, inline code, maths and link target.
"""

from __future__ import annotations

import argparse
import collections
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

REPO = Path(__file__).resolve().parents[1]
LOCALE_DIR = REPO / "book" / "locales"
LANGUAGES = ("zh_CN",)

# {glue}`key`, {glue:text}`key:format`, {glue:md}`key:format`, with or without
# a notebook path in front of the key (`path::key`).
GLUE = re.compile(r"\{glue(?::(?:text|md|any|figure|math))?\}`(?P<body>[^`]+)`")
# Roles whose target must survive translation; the text shown may change, as in
# {ref}`shown text <target>`.
XREF = re.compile(
    r"\{(?P<role>numref|ref|doc|eq|cite:p|cite:t|cite|term)\}`(?P<body>[^`]+)`"
)
ANY_ROLE = re.compile(r"\{[a-z][\w:.-]*\}`[^`]*`")
MATH = re.compile(r"\$\$.+?\$\$|\$[^$\n]+?\$", re.DOTALL)
INLINE_CODE = re.compile(r"(?<![`{}])`(?P<code>[^`\n]+)`")
LINK_TARGET = re.compile(r"\]\((?P<url>[^)\s]+)\)")


def catalogue_dir(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES"


def notebook_of(po_path: Path, language: str) -> str | None:
    """The notebook file name a catalogue translates, or None for a Markdown page."""
    docname = po_path.relative_to(catalogue_dir(language)).with_suffix("")
    source = REPO / docname.with_suffix(".ipynb")
    return source.name if source.is_file() else None


def glue_key(role: str, body: str) -> str:
    """The ``key:format`` of a glue role without its path.

    A ``{glue:text}`` role without a format means ``key:s``: MyST-NB splits the
    format off at the last colon, so a role that names its notebook must spell
    the format out (``path::key:s``), and the two forms are the same role.
    """
    key = body.split("::", 1)[1] if "::" in body else body
    if role == "{glue:text}" and ":" not in key:
        key += ":s"
    return key


def qualify_glue(text: str, notebook: str) -> str:
    """Name ``notebook`` in every glue role of ``text`` that names none."""

    def qualify(match: re.Match) -> str:
        body = match.group("body")
        path = body.split("::", 1)[0] if "::" in body else notebook
        role = match.group(0)[: match.start("body") - match.start(0)]
        return f"{role}{path}::{glue_key(role[:-1], body)}`"

    return GLUE.sub(qualify, text)


def _xref_target(role: str, body: str) -> str:
    body = body.strip()
    if role.startswith("cite"):
        return ",".join(sorted(key.strip() for key in body.split(",")))
    match = re.search(r"<([^<>]+)>$", body)
    return match.group(1).strip() if match else body


def essentials(text: str, notebook: str | None) -> collections.Counter:
    """What a translation must keep of its English: a multiset of tokens."""
    found: collections.Counter = collections.Counter()
    for match in GLUE.finditer(text):
        kind = match.group(0).split("`")[0]
        found[f"glue {kind} {notebook}::{glue_key(kind, match.group('body'))}"] += 1
    for match in XREF.finditer(text):
        target = _xref_target(match.group("role"), match.group("body"))
        found[f"{match.group('role')} {target}"] += 1
    prose = ANY_ROLE.sub(" ", text)
    for match in MATH.finditer(prose):
        found[f"maths {' '.join(match.group(0).split())}"] += 1
    prose = MATH.sub(" ", prose)
    for match in INLINE_CODE.finditer(prose):
        found[f"code `{match.group('code')}`"] += 1
    for match in LINK_TARGET.finditer(prose):
        found[f"link {match.group('url')}"] += 1
    return found


def translation_problems(msgid: str, msgstr: str, notebook: str | None) -> list[str]:
    """What is wrong with one translation (empty list: nothing)."""
    problems = []
    if notebook is not None:
        for match in GLUE.finditer(msgstr):
            body = match.group("body")
            if match.group(0).startswith(("{glue:md}", "{glue:math}")):
                problems.append(
                    f"{match.group(0)} cannot be translated: MyST-NB pastes "
                    "Markdown and maths only into their own notebook, so glue "
                    "the value as text"
                )
            elif (
                match.group(0).startswith("{glue:text}")
                and ":" not in body.split("::", 1)[-1]
            ):
                problems.append(
                    f"glue role without its format (write `key:s`): {match.group(0)}"
                )
            elif "::" not in body:
                problems.append(f"glue role without its notebook: {match.group(0)}")
            elif body.split("::", 1)[0] != notebook:
                problems.append(f"glue role names another notebook: {match.group(0)}")
    want, have = essentials(msgid, notebook), essentials(msgstr, notebook)
    for token in sorted((want - have).keys()):
        problems.append(f"lost from the English: {token}")
    for token in sorted((have - want).keys()):
        problems.append(f"not in the English: {token}")
    return problems


def _read(path: Path):
    with path.open("rb") as handle:
        return read_po(handle, abort_invalid=True)


def _messages(catalog) -> list:
    return [message for message in catalog if message.id]


def check_catalogue(path: Path, language: str, template: Path | None) -> list[str]:
    """Every problem of one catalogue, as lines ``path: problem``."""
    name = path.relative_to(REPO)
    notebook = notebook_of(path, language)
    catalog = _read(path)
    problems = []
    for message in _messages(catalog):
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        msgstr = (
            message.string if isinstance(message.string, str) else message.string[0]
        )
        where = f"{name}:{message.lineno}"
        short = " ".join(msgid.split())[:70]
        if message.fuzzy:
            problems.append(f"{where}: fuzzy (the English changed): {short!r}")
        if not msgstr.strip():
            problems.append(f"{where}: untranslated: {short!r}")
            continue
        for problem in translation_problems(msgid, msgstr, notebook):
            problems.append(f"{where}: {problem} in {short!r}")
    for message in catalog.obsolete.values():
        problems.append(f"{name}: obsolete message (remove it): {message.id[:70]!r}")
    if template is not None:
        want = {m.id for m in _messages(_read(template))}
        have = {m.id for m in _messages(catalog)}
        for msgid in sorted(want - have):
            problems.append(f"{name}: missing (`make translations`): {msgid[:70]!r}")
        for msgid in sorted(have - want):
            problems.append(f"{name}: not in the English any more: {msgid[:70]!r}")
    return problems


def check(pot_dir: Path | None, languages=LANGUAGES) -> list[str]:
    problems = []
    for language in languages:
        base = catalogue_dir(language)
        catalogues = sorted(base.rglob("*.po"))
        if not catalogues:
            problems.append(f"{base.relative_to(REPO)}: no catalogue")
        templates = {}
        if pot_dir is not None:
            templates = {
                pot.relative_to(pot_dir).with_suffix(""): pot
                for pot in sorted(pot_dir.rglob("*.pot"))
            }
            for doc in sorted(
                set(templates)
                - {p.relative_to(base).with_suffix("") for p in catalogues}
            ):
                problems.append(
                    f"{base.relative_to(REPO)}/{doc}.po: missing (`make translations`)"
                )
        for path in catalogues:
            doc = path.relative_to(base).with_suffix("")
            if pot_dir is not None and doc not in templates:
                problems.append(
                    f"{path.relative_to(REPO)}: no such page in the English book"
                )
                continue
            problems += check_catalogue(path, language, templates.get(doc))
    return problems


def update(pot_dir: Path, languages=LANGUAGES) -> None:
    for language in languages:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "sphinx_intl",
                "update",
                "--pot-dir",
                str(pot_dir),
                "--locale-dir",
                str(LOCALE_DIR),
                "--language",
                language,
                "--line-width",
                "-1",
                "--no-obsolete",
            ],
            check=True,
        )
        for path in sorted(catalogue_dir(language).rglob("*.po")):
            notebook = notebook_of(path, language)
            if notebook is None:
                continue
            catalog = _read(path)
            changed = False
            for message in _messages(catalog):
                if isinstance(message.string, str) and message.string:
                    qualified = qualify_glue(message.string, notebook)
                    changed |= qualified != message.string
                    message.string = qualified
            if changed:
                with path.open("wb") as handle:
                    write_po(handle, catalog, width=0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("update", help="refresh the catalogues from POT_DIR")
    up.add_argument("pot_dir", type=Path)
    ch = sub.add_parser("check", help="fail on any problem of the catalogues")
    ch.add_argument("pot_dir", type=Path, nargs="?")
    ch.add_argument("--only", help="only the catalogues whose path contains this")
    args = parser.parse_args(argv)
    if args.command == "update":
        update(args.pot_dir)
        return 0
    problems = check(args.pot_dir)
    if args.only:  # a problem line starts with its catalogue's path
        problems = [p for p in problems if args.only in p.split(":", 1)[0]]
    for problem in problems:
        print(problem)
    if problems:
        print(f"translations: {len(problems)} problem(s)")
        return 1
    print("translations: every message translated and consistent with the English")
    return 0


if __name__ == "__main__":
    sys.exit(main())
