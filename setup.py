"""Build the Cython kernels; all metadata lives in pyproject.toml.

Every ``hybridsolve/_kernels/*.pyx`` becomes one extension module.  A kernel whose
Python faces switch on the dtype is written as ``*.pyx.in``: `generate_sources` expands
it with Cython's Tempita into the ``.pyx`` beside it (git-ignored; rewritten only when
its text changes, so cythonize's own staleness check still holds), the per-dtype ladder
coming from the one template function `dispatch`.  Flags:

* ``-O3`` always.
* ``-fcx-fortran-rules`` where the compiler takes it (GCC): complex products without
  C99's NaN-recovery check and library call (Annex G), division still range-reduced --
  the rules LAPACK itself is compiled with (gfortran).  The check kept every complex
  loop scalar: the small kernel's complex LU at n = 48 took 124 us with it, 53 us
  without (OPENBLAS_NUM_THREADS=1, small_solve, min of 7).  NaN and inf still
  propagate to the result; only which non-finite value a product of infinities gives
  may differ.
* ``-march=native`` only when ``HYBRIDSOLVE_NATIVE=1`` (a wheel built with it dies with
  SIGILL on other CPUs).
* A second build of a kernel for a wider instruction set (`VARIANTS`): on x86-64 with a
  compiler that takes ``-mavx2 -mfma``, ``small.pyx.in`` is also expanded into
  ``small_avx2.pyx`` (Tempita's ``variant``) and compiled with those flags; the baseline
  module checks the CPU at import and hands its faces to that build where it runs.
  Without it (another CPU family, or MSVC) the baseline build alone serves.
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


_OPENMP_PROBE = "#include <omp.h>\nint main(void){return omp_get_max_threads() < 0;}\n"


def _compiler_accepts(compiler, flag, program=_OPENMP_PROBE):
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(program)
        try:
            objs = compiler.compile([src], output_dir=tmp, extra_postargs=[flag])
            compiler.link_executable(objs, os.path.join(tmp, "probe"), extra_postargs=[flag])
        except Exception:
            return False
    return True


class BuildExt(build_ext):
    def build_extensions(self):
        compile_args = ["-O3"]
        if _compiler_accepts(self.compiler, "-fcx-fortran-rules",
                             "int main(void){return 0;}\n"):
            compile_args.append("-fcx-fortran-rules")
        if os.environ.get("HYBRIDSOLVE_NATIVE") == "1":
            compile_args.append("-march=native")
        link_args = []
        if sys.platform != "win32" and _compiler_accepts(self.compiler, "-fopenmp"):
            compile_args.append("-fopenmp")
            link_args.append("-fopenmp")
        kept = []
        for ext in self.extensions:
            flags = _VARIANT_FLAGS.get(ext.name.rsplit("_", 1)[-1])   # "small_avx2"
            if flags is not None:
                if not all(_compiler_accepts(self.compiler, f, "int main(void){return 0;}\n")
                           for f in flags):
                    continue                # the baseline build serves alone
                ext.extra_compile_args = list(ext.extra_compile_args) + list(flags)
            ext.extra_compile_args = list(ext.extra_compile_args) + compile_args
            ext.extra_link_args = list(ext.extra_link_args) + link_args
            kept.append(ext)
        self.extensions = kept
        super().build_extensions()


#: Wider-instruction-set builds: template stem -> variant names, and each variant's
#: compiler flags (x86-64 only; see the module docstring).
VARIANTS = {"small": ("avx2",)}
_VARIANT_FLAGS = {"avx2": ("-mavx2", "-mfma")}


def _x86_64():
    import platform
    return platform.machine().lower() in ("x86_64", "amd64") and sys.platform != "win32"


#: The types the fused kernels are instantiated for, in the order ``dispatch`` tests
#: them: (NumPy type number, C type).
LAPACK_TYPES = (("NPY_DOUBLE", "double"), ("NPY_FLOAT", "float"),
                ("NPY_CDOUBLE", "double complex"), ("NPY_CFLOAT", "float complex"))


def dispatch(indent, typenum, body, otherwise=None, nogil=True):
    """The Tempita function of the ``*.pyx.in`` kernels: the ``if``/``elif`` ladder over
    `LAPACK_TYPES` that runs ``body`` (Cython statements; ``{T}`` stands for the C type)
    for the type whose NumPy type number the Cython expression ``typenum`` holds, each
    branch inside ``with nogil:`` when ``nogil``; ``otherwise``: the statements for any
    other type (none: nothing runs).  ``indent``: the column the call stands at (its
    first line takes the template's own indentation)."""
    lines = []
    for i, (npy, ctype) in enumerate(LAPACK_TYPES):
        lines.append(f"{'elif' if i else 'if'} {typenum} == cnp.{npy}:")
        inner = "    "
        if nogil:
            lines.append("    with nogil:")
            inner = "        "
        lines += [inner + line for line in body.replace("{T}", ctype).splitlines()]
    if otherwise:
        lines.append("else:")
        lines += ["    " + line for line in otherwise.splitlines()]
    return ("\n" + " " * indent).join(lines)


def generate_sources(directory=os.path.join("hybridsolve", "_kernels")):
    """Expand every ``*.pyx.in`` in ``directory`` into the ``.pyx`` beside it (Tempita
    variable ``variant`` empty), and, on x86-64, into one ``<stem>_<variant>.pyx`` per
    `VARIANTS` entry."""
    from Cython import Tempita

    for template in sorted(glob(os.path.join(directory, "*.pyx.in"))):
        with open(template) as f:
            source = Tempita.Template(f.read(), name=template)
        stem = template[:-len(".pyx.in")]
        variants = VARIANTS.get(os.path.basename(stem), ()) if _x86_64() else ()
        for variant in ("",) + tuple(variants):
            text = source.substitute(dispatch=dispatch, variant=variant)
            target = f"{stem}_{variant}.pyx" if variant else stem + ".pyx"
            text = (f"# Generated from {os.path.basename(template)} by setup.py: edit that "
                    "file, not this one.\n" + text)
            if os.path.exists(target):
                with open(target) as f:
                    if f.read() == text:
                        continue
            with open(target, "w") as f:
                f.write(text)


def extensions():
    from Cython.Build import cythonize

    generate_sources()

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
