"""Measures aelib's speed, accuracy and the book's cost in one run.

Run from the repository root::

    .venv/bin/python benchmarks/run_benchmarks.py            # the full run
    .venv/bin/python benchmarks/run_benchmarks.py --quick    # a smoke run
    .venv/bin/python benchmarks/run_benchmarks.py --help     # the options

The measurements live in the package ``benchmarks/aebench/``, one module each,
listed in ``aebench.__main__.MEASUREMENTS``; this file only puts
``benchmarks/`` on the import path and runs it (as ``python -m aebench`` from
``benchmarks/`` would). See ``benchmarks/README.md``.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from aebench.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
