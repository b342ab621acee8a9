"""aelib's benchmark, one module per measurement.

Run from the repository root::

    .venv/bin/python benchmarks/run_benchmarks.py            # the full run
    .venv/bin/python benchmarks/run_benchmarks.py --quick    # a smoke run

The measurements are listed, in the order they run, in
:data:`aebench.__main__.MEASUREMENTS`. Each module defines one
:class:`aebench.core.Measurement` (its key in ``results.json``, its settings
for a quick and a full run, the function that measures, and its section of
``results.md``); adding a measurement is one new module and one entry in that
list. :mod:`aebench.report` judges the targets and writes the markdown;
:mod:`aebench.machine` describes the machine and accounts for the CPU time
other processes used. See ``benchmarks/README.md``. Not part of ``make test``.
"""

import os

# The same environment as the Makefile's recipes; notebook kernels and the
# per-backend workers inherit it (a worker sets its own KERAS_BACKEND first).
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("PYTHONHASHSEED", "0")
os.environ.setdefault("MPLBACKEND", "Agg")
