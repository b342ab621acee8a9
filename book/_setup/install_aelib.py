# On Colab or Binder: install aelib, the book's package, if this kernel lacks it.
import importlib
import importlib.util
import subprocess
import sys

AELIB_REPOSITORY = "git+https://github.com/aelib-book/aelib-book"
if importlib.util.find_spec("aelib") is None:
    print(f"aelib is not installed here: installing it from {AELIB_REPOSITORY}")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", AELIB_REPOSITORY],
        check=True,
    )
    importlib.invalidate_caches()
