"""Check that every notebook under book/ is committed without outputs.

Notebooks are stored stripped (no outputs, no execution counts) so that diffs
stay readable and the book is always built from a fresh execution. This script
lists every offending notebook, tracked by git or not, and exits with status 1
if there is any. Fix them with `make strip`.

Usage: python .ci/check_notebooks.py [DIRECTORY]   (default: book)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


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
    if cells_with_outputs:
        problems.append(f"outputs in cells {_short_list(cells_with_outputs)}")
    if cells_with_counts:
        problems.append(f"execution counts in cells {_short_list(cells_with_counts)}")
    return problems


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
        print(f"check-notebooks: all {len(notebooks)} notebook(s) stripped")
        return 0

    print(
        f"check-notebooks: {len(offending)} of {len(notebooks)} notebooks still carry"
        " outputs or execution counts (commit notebooks stripped):"
    )
    for path, problems in offending.items():
        print(f"  {path}: {'; '.join(problems)}")
    print("Run `make strip` to remove outputs and execution counts, then commit.")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
