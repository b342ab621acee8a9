"""The aelib install cell that opens every notebook (for Colab and Binder).

A chapter opened from its launch button runs in a kernel that has Keras but
not aelib, so the first code cell of every notebook installs aelib from the
repository when it is missing, and says so; where aelib is importable it does
nothing. The cell's one source is ``book/_setup/install_aelib.py``. These tests
check that every notebook starts with it, and run its logic both ways without
calling pip: ``subprocess.run`` is replaced by a recorder.
"""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CELL_FILE = REPO / "book" / "_setup" / "install_aelib.py"
NOTEBOOKS = sorted((REPO / "book").glob("*.ipynb"))


def _load_sync_script():
    spec = importlib.util.spec_from_file_location(
        "sync_install_cell", REPO / ".ci" / "sync_install_cell.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sync = _load_sync_script()


def _first_code_cell(path: Path) -> dict:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    index = sync.first_code_index(cells)
    assert index is not None, f"{path.name} has no code cell"
    return cells[index]


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 10, NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_first_code_cell_is_the_install_cell(path):
    cell = _first_code_cell(path)
    source = "".join(cell["source"])
    assert source == CELL_FILE.read_text(encoding="utf-8").rstrip("\n"), (
        f"{path.name}: the first code cell differs from {CELL_FILE.name}; "
        "run `python .ci/sync_install_cell.py`"
    )
    assert cell["metadata"].get("tags") == ["remove-cell"], (
        f"{path.name}: the install cell must be tagged remove-cell (hidden)"
    )


def test_sync_script_check_passes():
    """`.ci/sync_install_cell.py --check` agrees: nothing to write."""
    assert sync.main(["--check", str(REPO / "book")]) == 0


def test_sync_script_check_fails_without_the_cell(tmp_path, capsys):
    notebook = json.loads(NOTEBOOKS[0].read_text(encoding="utf-8"))
    index = sync.first_code_index(notebook["cells"])
    del notebook["cells"][index]
    (tmp_path / "chapter.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    assert sync.main(["--check", str(tmp_path)]) == 1
    assert "lacks the install cell" in capsys.readouterr().out


class _Recorder:
    """Stands in for subprocess.run: records the calls, runs nothing."""

    def __init__(self):
        self.calls = []

    def __call__(self, args, **kwargs):
        self.calls.append((list(args), kwargs))
        return subprocess.CompletedProcess(args, 0)


def _run_cell():
    source = CELL_FILE.read_text(encoding="utf-8")
    namespace = {"__name__": "__main__"}
    exec(compile(source, str(CELL_FILE), "exec"), namespace)
    return namespace


def test_cell_does_nothing_where_aelib_is_installed(monkeypatch, capsys):
    assert importlib.util.find_spec("aelib") is not None
    recorder = _Recorder()
    monkeypatch.setattr(subprocess, "run", recorder)
    _run_cell()
    assert recorder.calls == []
    assert capsys.readouterr().out == ""


def test_cell_installs_aelib_from_the_repository_where_it_is_missing(
    monkeypatch, capsys
):
    recorder = _Recorder()
    monkeypatch.setattr(subprocess, "run", recorder)
    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        if name == "aelib":
            return None  # as on Colab or Binder before the install
        return real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    namespace = _run_cell()

    repository = namespace["AELIB_REPOSITORY"]
    assert repository.startswith("git+https://github.com/")
    assert len(recorder.calls) == 1
    args, kwargs = recorder.calls[0]
    assert args[:4] == [sys.executable, "-m", "pip", "install"]
    assert args[-1] == repository
    assert kwargs.get("check") is True  # a failed install stops the notebook
    out = capsys.readouterr().out
    assert "aelib is not installed here" in out
    assert repository in out


def test_repository_url_matches_the_book_config():
    """The cell installs from the repository the launch buttons point to."""
    import yaml

    config = yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))
    url = config["repository"]["url"].rstrip("/")
    source = CELL_FILE.read_text(encoding="utf-8")
    assert f'"git+{url}"' in source
