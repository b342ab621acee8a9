"""Writes the configuration of one build of the book, derived from _config.yml.

Both editions build from the same notebooks with the same _config.yml; a build
differs only in what this script changes:

* ``--execute`` sets ``execute_notebooks`` (``cache`` or ``off``). With
  ``cache`` the executed notebooks go to one jupyter-cache, ``_build/.jupyter_cache``,
  which the next build (the other edition, the gettext build) reuses: each
  notebook is executed once for both editions.
* ``--language zh_CN`` makes the Chinese edition: Sphinx's ``language`` (which
  makes it read the catalogues of ``locale_dirs``), the title, and the link of
  every page to its English twin one directory up.

    python .ci/book_config.py --execute cache [--language zh_CN] OUT.yml
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / "_build" / ".jupyter_cache"

# What changes for each translated edition. `root` is where the English book is,
# relative to this edition's root (_build/html/zh -> _build/html).
EDITIONS = {
    "zh_CN": {
        "title": "自编码器与变分自编码器：用数据说话",
        "twin": {"root": "../", "hreflang": "en", "label": "English"},
    },
}


def book_config(execute: str, language: str | None = None) -> dict:
    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    config["execute"]["execute_notebooks"] = execute
    config["execute"]["cache"] = str(CACHE)
    # Paths of local extensions are relative to the configuration file, which is
    # written elsewhere.
    local = config["sphinx"].get("local_extensions") or {}
    for name, path in local.items():
        local[name] = str(REPO / path)
    sphinx = config["sphinx"]["config"]
    if language is not None:
        if language not in EDITIONS:
            raise SystemExit(
                f"book_config: no edition for language {language!r}; "
                f"known: {', '.join(EDITIONS)}"
            )
        edition = EDITIONS[language]
        config["title"] = edition["title"]
        sphinx["language"] = language
        sphinx["aelib_twin"] = edition["twin"]
    return config


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the configuration file to write")
    parser.add_argument("--execute", choices=["cache", "off"], default="cache")
    parser.add_argument("--language", help="a translated edition, e.g. zh_CN")
    args = parser.parse_args(argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    config = book_config(args.execute, args.language)
    args.out.write_text(
        yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
