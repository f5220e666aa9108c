# Sphinx configuration.  Build (from the repository root, with the package installed):
#
#   pip install '.[docs]'
#   sphinx-build -W -b html docs docs/_build/html        # warnings are errors
#   sphinx-build -W -b doctest docs docs/_build/doctest  # every >>> example, docstrings too
#
# autodoc imports the *installed* hybridsolve (the source tree has no compiled kernels).
import os
import zlib

import hybridsolve

project = "hybridsolve"
copyright = "the hybridsolve authors"
release = version = hybridsolve.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
]
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/_inventories"]

# --- API reference: one page per name in each documented module's __all__ -------------
# The modules whose public names are documented: hybridsolve itself, and the plugin
# authors' helpers once they exist.  Each page lists its module's __all__ (autosummary
# reads __all__), so a name added to __all__ gets its page with no edit here.
API_MODULES = ["hybridsolve"]
try:
    import hybridsolve.plugin  # noqa: F401
    API_MODULES.append("hybridsolve.plugin")
except ImportError:
    pass
autosummary_generate = True
autosummary_ignore_module_all = False
autosummary_imported_members = True
autosummary_context = {"api_modules": API_MODULES}
autodoc_default_options = {"members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# --- doctest: the same namespace every example page starts from ------------------------
doctest_global_setup = "import numpy as np\nimport hybridsolve"

# --- theme ------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "hybridsolve"
html_static_path = ["_static"]
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}

# --- intersphinx, with an offline fallback ----------------------------------------------
# Each project is tried online first; with no network (CI here), a small inventory of the
# names these pages link to, written below, keeps the links right and the build quiet.
_OFFLINE = {
    "numpy": ("https://numpy.org/doc/stable/", [
        ("numpy.ndarray", "class", "reference/generated/numpy.ndarray.html"),
        ("numpy.load", "function", "reference/generated/numpy.load.html"),
        ("numpy.memmap", "class", "reference/generated/numpy.memmap.html"),
        ("numpy.linalg.solve", "function", "reference/generated/numpy.linalg.solve.html"),
        ("numpy.linalg.LinAlgError", "exception",
         "reference/generated/numpy.linalg.LinAlgError.html"),
    ]),
    "scipy": ("https://docs.scipy.org/doc/scipy/", [
        (f"scipy.linalg.{f}", "function", f"reference/generated/scipy.linalg.{f}.html")
        for f in ("solve", "lu_factor", "lu_solve", "cho_factor", "cho_solve",
                  "solve_banded", "solve_triangular")
    ] + [
        ("scipy.linalg.LinAlgWarning", "exception",
         "reference/generated/scipy.linalg.LinAlgWarning.html"),
        ("scipy.linalg.cython_blas", "module", "reference/linalg.cython_blas.html"),
        ("scipy.linalg.cython_lapack", "module", "reference/linalg.cython_lapack.html"),
        ("scipy.sparse.linalg.spsolve", "function",
         "reference/generated/scipy.sparse.linalg.spsolve.html"),
        ("scipy.sparse.linalg.splu", "function",
         "reference/generated/scipy.sparse.linalg.splu.html"),
        ("scipy.sparse.save_npz", "function",
         "reference/generated/scipy.sparse.save_npz.html"),
        ("scipy.io.mmread", "function", "reference/generated/scipy.io.mmread.html"),
        ("scipy.io.mmwrite", "function", "reference/generated/scipy.io.mmwrite.html"),
    ]),
    "dask": ("https://docs.dask.org/en/stable/", [
        ("dask.array.Array", "class", "generated/dask.array.Array.html"),
        ("dask.array.linalg.solve", "function", "generated/dask.array.linalg.solve.html"),
    ]),
}


def _offline_inventory(name, entries):
    """Write a Sphinx v2 inventory of ``entries`` and return its path (docs-relative)."""
    rel = os.path.join("generated", "_inventories", f"{name}.inv")
    path = os.path.join(os.path.dirname(__file__), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    body = "".join(f"{obj} py:{role} 1 {uri} -\n" for obj, role, uri in entries)
    with open(path, "wb") as f:
        f.write(f"# Sphinx inventory version 2\n# Project: {name}\n# Version: \n"
                "# The remainder of this file is compressed using zlib.\n".encode())
        f.write(zlib.compress(body.encode()))
    return rel


intersphinx_mapping = {name: (url, (None, _offline_inventory(name, entries)))
                       for name, (url, entries) in _OFFLINE.items()}
intersphinx_timeout = 5


# --- every public name has a page: checked at the end of the build ----------------------
def _check_api_pages(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    import importlib

    missing = []
    for modname in API_MODULES:
        mod = importlib.import_module(modname)
        for name in getattr(mod, "__all__", ()):
            page = os.path.join(app.outdir, "generated", f"{modname}.{name}.html")
            if not os.path.exists(page):
                missing.append(f"{modname}.{name}")
    if missing:
        from sphinx.errors import ExtensionError
        raise ExtensionError("public names without an API page: " + ", ".join(missing))


def setup(app):
    app.connect("build-finished", _check_api_pages)
