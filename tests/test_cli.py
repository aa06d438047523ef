"""The `mfjax` command writes data, summary and figure for the default job (small grid here)."""

import json

import numpy as np

from mfjax.cli import main
from mfjax.sweep import SweepResult


def test_cli_default_job_small_grid(tmp_path):
    out = tmp_path / "out"
    assert main(["--out", str(out), "--n-g", "3", "--n-eta", "2", "--g-range", "5", "8", "--eta-range", "1", "2"]) == 0
    summary = json.loads((out / "brunel_sweep.json").read_text())
    assert summary["points"] == 6 and summary["converged_points"] == 6
    res = SweepResult.load(out / "brunel_sweep.npz")
    # (g, eta) = (5, 2) and (8, 2): Brunel model A 37.9497 Hz and 12.9875 Hz
    assert abs(res["rate"][0, 1] - 37.9497) < 5e-5 and abs(res["rate"][2, 1] - 12.9875) < 5e-5
    assert (out / "brunel_sweep.png").stat().st_size > 1000
    assert np.all(np.isfinite(res["rate"]))
