"""Cython kernels: typed-memoryview algorithms over float32/float64/complex64/complex128.

Importing this package checks that every kernel whose source (``*.pyx``, or the
``*.pyx.in`` template setup.py expands into one) sits beside it has been compiled, so a
source tree without built kernels fails with one clear message instead of an
``ImportError`` naming some submodule.  (Installed wheels carry no sources: nothing to
check.)  A wider-instruction-set build (``small_avx2``, see setup.py) is optional: the
baseline module serves where it was not built.
"""
import os as _os
from importlib.machinery import EXTENSION_SUFFIXES as _SUFFIXES


def _unbuilt(directory):
    sources = {f.split(".")[0] for f in _os.listdir(directory)
               if f.endswith((".pyx", ".pyx.in"))}
    sources = {name for name in sources if not name.endswith("_avx2")}   # optional
    return sorted(name for name in sources
                  if not any(_os.path.exists(_os.path.join(directory, name + suffix))
                             for suffix in _SUFFIXES))


_missing = _unbuilt(_os.path.dirname(__file__))
if _missing:
    raise ImportError(
        f"hybridsolve's compiled kernels are not built in {_os.path.dirname(__file__)} "
        f"(missing: {', '.join(_missing)}). Install the package (pip install .), or, in a "
        "checkout, build them in place: pip install -e . (or python setup.py build_ext "
        "--inplace)")
