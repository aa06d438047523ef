"""Sphinx configuration of mfjax's documentation: the user guide (README), the tutorials (the
notebooks of this folder, rendered with their stored outputs by myst-nb, not re-executed) and
the API reference built from the docstrings (autodoc + napoleon).

    pip install -e ".[docs]" && sphinx-build -W -b html notebooks notebooks/_build/html
"""

import re

project = "mfjax"
author = "the mfjax developers"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax", "myst_nb"]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
nb_execution_mode = "off"  # the notebooks are stored with their outputs (notebooks/execute.py)
autodoc_member_order = "bysource"
autodoc_typehints = "description"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True  # "Attributes:" as fields, not as a second description of each attribute
# several subpackages export fields of the same name (J, rates, ...): an unqualified
# cross-reference is ambiguous, which is no error in the text
suppress_warnings = ["ref.python", "myst.header"]
html_theme = "alabaster"

_LITERAL = re.compile(r"(``.*?``)")


def _plain_bars(app, what, name, obj, options, lines):
    """Docstrings write absolute values and norms as |x| (plain text for ``help()``); reST
    would read them as substitutions, so the bars outside literals are escaped."""
    for i, line in enumerate(lines):
        parts = _LITERAL.split(line)
        lines[i] = "".join(p if p.startswith("``") else p.replace("|", r"\|") for p in parts)


_documented: set = set()


def _once(app, what, name, obj, skip, options):
    """A class or function exported by several subpackages (``LIF`` by ``mfjax.neurons`` and
    ``mfjax.populations``, ...) is described once, where it comes first."""
    if skip or what != "module" or not isinstance(obj, type) and not callable(obj):
        return None
    key = id(obj)
    if key in _documented:
        return True
    _documented.add(key)
    return None


def setup(app):
    app.connect("autodoc-process-docstring", _plain_bars)
    app.connect("autodoc-skip-member", _once)
