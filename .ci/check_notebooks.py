"""Check that every notebook under book/ is stripped and starts with the install cell.

Notebooks are stored stripped (no outputs, no execution counts) so that diffs
stay readable and the book is always built from a fresh execution. Their first
code cell must be the aelib install cell (``book/_setup/install_aelib.py``, the
check of ``.ci/sync_install_cell.py --check``), so that a chapter opened on
Colab or Binder can import aelib. This script lists every offending notebook,
tracked by git or not, and exits with status 1 if there is any. Fix them with
`make strip` and `python .ci/sync_install_cell.py`.

Usage: python .ci/check_notebooks.py [DIRECTORY]   (default: book)
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path


def _load_sync_script():
    """The module .ci/sync_install_cell.py (this folder has no package)."""
    path = Path(__file__).resolve().with_name("sync_install_cell.py")
    spec = importlib.util.spec_from_file_location("sync_install_cell", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sync_install_cell = _load_sync_script()


def find_notebooks(root: Path) -> list[Path]:
    """Return the notebooks under `root`, skipping Jupyter's checkpoint copies."""
    return sorted(
        path for path in root.rglob("*.ipynb") if ".ipynb_checkpoints" not in path.parts
    )


def problems_in(path: Path) -> list[str]:
    """Describe what is left in a notebook that `nbstripout` would remove."""
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return [f"cannot be read as a notebook: {error}"]

    cells_with_outputs = []
    cells_with_counts = []
    for index, cell in enumerate(notebook.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            cells_with_outputs.append(index)
        if cell.get("execution_count") is not None:
            cells_with_counts.append(index)

    problems = []
    if not has_install_cell(notebook):
        problems.append(
            "its first code cell is not the install cell"
            f" ({sync_install_cell.CELL_SOURCE.name})"
        )
    if cells_with_outputs:
        problems.append(f"outputs in cells {_short_list(cells_with_outputs)}")
    if cells_with_counts:
        problems.append(f"execution counts in cells {_short_list(cells_with_counts)}")
    return problems


def has_install_cell(notebook: dict) -> bool:
    """True when the first code cell is the install cell, tags included."""
    cells = notebook.get("cells", [])
    index = sync_install_cell.first_code_index(cells)
    if index is None:
        return False
    wanted = sync_install_cell.install_cell()
    cell = cells[index]
    return (
        "".join(cell.get("source", [])) == "".join(wanted["source"])
        and cell.get("metadata", {}).get("tags") == wanted["metadata"]["tags"]
    )


def _short_list(numbers: list[int], limit: int = 8) -> str:
    shown = ", ".join(str(number) for number in numbers[:limit])
    return shown + (f" and {len(numbers) - limit} more" if len(numbers) > limit else "")


def main(argv: list[str]) -> int:
    root = Path(argv[1]) if len(argv) > 1 else Path("book")
    notebooks = find_notebooks(root)
    if not notebooks:
        print(f"check-notebooks: no notebooks found under {root}/")
        return 0

    offending = {path: problems_in(path) for path in notebooks}
    offending = {path: problems for path, problems in offending.items() if problems}
    if not offending:
        print(
            f"check-notebooks: all {len(notebooks)} notebook(s) stripped,"
            " each starting with the install cell"
        )
        return 0

    print(
        f"check-notebooks: {len(offending)} of {len(notebooks)} notebooks carry"
        " outputs or execution counts, or lack the install cell:"
    )
    for path, problems in offending.items():
        print(f"  {path}: {'; '.join(problems)}")
    print(
        "Run `make strip` to remove outputs and execution counts, and"
        " `python .ci/sync_install_cell.py` to write the install cell; then commit."
    )
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
