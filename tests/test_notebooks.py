"""The demo notebooks: stored with their outputs (figures included, so they show where the
notebooks are browsed), and every one runs top to bottom in a real Jupyter kernel (nbclient,
``notebooks/execute.py``); the documentation (user guide, tutorials, API reference from the
docstrings) builds with Sphinx with warnings as errors."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

FOLDER = Path(__file__).parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
#: notebooks that take 25-120 s in a kernel on 2 cores (notebooks/execute.py prints the times):
#: CI's slow step runs them first, while its time budget lasts; the two shortest (21-23 s) run in
#: the main step, so a kernel runs notebooks in every CI run
SLOW = {"beyond_lif.ipynb", "linear_response.ipynb", "lif_mean_field.ipynb", "ising_mean_field.ipynb",
        "dmft.ipynb", "population_dynamics.ipynb"}


def _executor():
    spec = importlib.util.spec_from_file_location("execute_notebooks", FOLDER / "execute.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_is_stored_with_its_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    code = [c for c in cells if c["cell_type"] == "code"]
    assert code and all(c.get("execution_count") for c in code), "run notebooks/execute.py to store the outputs"
    counts = [c["execution_count"] for c in code]
    assert counts == sorted(counts), "cells were run out of order"
    outputs = [o for c in code for o in c["outputs"]]
    assert not [o for o in outputs if o["output_type"] == "error"]
    figures = [c for c in code if "plt." in "".join(c["source"]) or "subplots(" in "".join(c["source"])]
    for cell in figures:  # every cell that draws shows its figure
        assert any("image/png" in o.get("data", {}) for o in cell["outputs"]), "".join(cell["source"])[:80]


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=pytest.mark.slow) if p.name in SLOW else p for p in NOTEBOOKS],
    ids=[p.name for p in NOTEBOOKS],
)
def test_notebook_runs_in_a_kernel(path):
    _executor().execute(path, write=False)


def test_documentation_builds_without_warnings(tmp_path):
    pytest.importorskip("myst_nb")
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(FOLDER),
                           str(tmp_path / "html")], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    api = (tmp_path / "html" / "api.html").read_text()
    for name in ("solve_rates", "grid_sweep", "lif_rate", "SweepResult", "run_sweep"):
        assert name in api
    assert "<img" in (tmp_path / "html" / "dmft.html").read_text()  # tutorials show their figures
