"""Every notebook in notebooks/ runs top to bottom (code cells executed in order, Agg backend)."""

import json
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
#: notebooks that compile several large programs and simulate (all of them, 30-75 s each): CI's
#: slow step runs them first, while its time budget lasts
SLOW = {"beyond_lif.ipynb", "linear_response.ipynb", "lif_mean_field.ipynb", "ising_mean_field.ipynb", "memory_networks.ipynb",
        "spiking_networks.ipynb", "dmft.ipynb", "population_dynamics.ipynb"}


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=pytest.mark.slow) if p.name in SLOW else p for p in NOTEBOOKS],
    ids=[p.name for p in NOTEBOOKS],
)
def test_notebook_runs(path):
    import matplotlib.pyplot as plt

    cells = json.loads(path.read_text())["cells"]
    namespace = {"__name__": "__notebook__"}
    for i, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            exec(compile(source, f"{path.name}[cell {i}]", "exec"), namespace)  # noqa: S102
    plt.close("all")
