"""Build the Cython kernels; all metadata lives in pyproject.toml.

Every ``hybridsolve/_kernels/*.pyx`` becomes one extension module.  Flags:

* ``-O3`` always.
* ``-march=native`` only when ``HYBRIDSOLVE_NATIVE=1`` (a wheel built with it dies with
  SIGILL on other CPUs).
* OpenMP (``prange`` in the batched kernels) only when the compiler accepts ``-fopenmp``;
  the kernels are correct without it.
"""
import os
import sys
import tempfile
from glob import glob

import numpy as np
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


def _compiler_accepts(compiler, flag):
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write("#include <omp.h>\nint main(void){return omp_get_max_threads() < 0;}\n")
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=[flag])
            compiler.link_executable(objs, os.path.join(tmp, "probe"), extra_postargs=[flag])
        except Exception:
            return False
    return True


class BuildExt(build_ext):
    def build_extensions(self):
        compile_args = ["-O3"]
        if os.environ.get("HYBRIDSOLVE_NATIVE") == "1":
            compile_args.append("-march=native")
        link_args = []
        if sys.platform != "win32" and _compiler_accepts(self.compiler, "-fopenmp"):
            compile_args.append("-fopenmp")
            link_args.append("-fopenmp")
        for ext in self.extensions:
            ext.extra_compile_args = list(ext.extra_compile_args) + compile_args
            ext.extra_link_args = list(ext.extra_link_args) + link_args
        super().build_extensions()


def extensions():
    from Cython.Build import cythonize

    exts = [
        Extension(
            "hybridsolve._kernels." + os.path.splitext(os.path.basename(path))[0],
            [path],
            include_dirs=[np.get_include()],
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
        for path in sorted(glob(os.path.join("hybridsolve", "_kernels", "*.pyx")))
    ]
    return cythonize(
        exts,
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )


setup(ext_modules=extensions(), cmdclass={"build_ext": BuildExt})
