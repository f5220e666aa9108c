# Sphinx configuration: numpydoc docstrings, autosummary API reference, intersphinx to
# numpy and scipy.  Build: pip install sphinx numpydoc && sphinx-build docs docs/_build
project = "hybridsolve"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
]
autosummary_generate = True
numpydoc_show_class_members = False
intersphinx_mapping = {
    "numpy": ("https://numpy.org/doc/stable/", None),
    "scipy": ("https://docs.scipy.org/doc/scipy/", None),
}
html_theme = "alabaster"
