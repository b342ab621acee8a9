"""Makes the first code cell of every notebook in book/ the aelib install cell.

A chapter opened on Colab or Binder from its launch button has no aelib, so the
first code cell installs it from the repository when it is missing (and says
so); on a machine that has aelib it does nothing. The cell's one source is
``book/_setup/install_aelib.py``. ``--check`` reports notebooks whose first
code cell differs, and exits 1; without it the cell is written (or inserted).

    python .ci/sync_install_cell.py [--check] [book]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

CELL_SOURCE = Path(__file__).resolve().parents[1] / "book/_setup/install_aelib.py"
TAGS = ["remove-cell"]


def install_cell() -> dict:
    text = CELL_SOURCE.read_text().rstrip("\n")
    lines = text.split("\n")
    return {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": list(TAGS)},
        "outputs": [],
        "source": [line + "\n" for line in lines[:-1]] + [lines[-1]],
    }


def first_code_index(cells: list[dict]) -> int | None:
    return next((i for i, c in enumerate(cells) if c["cell_type"] == "code"), None)


def is_install_cell(cell: dict) -> bool:
    return "".join(cell["source"]).startswith("# On Colab or Binder: install aelib")


def main(argv: list[str]) -> int:
    check = "--check" in argv
    folders = [a for a in argv if not a.startswith("--")] or ["book"]
    wanted = install_cell()
    bad = []
    for folder in folders:
        for path in sorted(Path(folder).glob("*.ipynb")):
            notebook = json.loads(path.read_text())
            cells = notebook["cells"]
            index = first_code_index(cells)
            current = cells[index] if index is not None else None
            if (
                current is not None
                and "".join(current["source"]) == "".join(wanted["source"])
                and current["metadata"].get("tags") == TAGS
            ):
                continue
            bad.append(path)
            if check:
                continue
            if current is not None and is_install_cell(current):
                cells[index] = wanted
            else:
                cells.insert(index if index is not None else len(cells), wanted)
            path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    for path in bad:
        action = "lacks the install cell" if check else "install cell written"
        print(f"{path}: {action} (source: {CELL_SOURCE.name})")
    return 1 if check and bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
