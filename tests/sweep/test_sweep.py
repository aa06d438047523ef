"""Chunked, resumable sweeps: values against the Brunel (2000) reference rates, resume after a crash."""

import numpy as np
import pytest

from mfjax.sweep import SweepResult, brunel_rate_sweep, grid_sweep

G = np.array([5.0, 8.0])
ETA = np.array([1.0, 2.0, 3.0])


@pytest.fixture(scope="module")
def sweep():
    return brunel_rate_sweep(G, ETA, chunk_size=4)  # 6 points: one full chunk, one padded


def test_sweep_values_match_brunel_reference(sweep):
    assert sweep["rate"].shape == (2, 3) and sweep["converged"].all()
    # Brunel (2000) model A mean-field rates (Hz), see tests/populations/test_rates.py
    assert abs(sweep["rate"][0, 1] - 37.9497) < 5e-5
    assert abs(sweep["rate"][1, 1] - 12.9875) < 5e-5
    assert abs(sweep["rate"][0, 0] - 7.8266) < 5e-5


def test_masked_marks_nonconverged():
    r = SweepResult({"x": np.arange(3.0)}, {"v": np.array([1.0, 2.0, 3.0]), "converged": np.array([True, False, True])})
    m = r.masked("v")
    assert m.mask.tolist() == [False, True, False] and m.sum() == 4.0


def test_resume_after_interruption(tmp_path):
    calls = []

    def fn(x, y):
        calls.append(1)  # traced once per compile, not per point
        return {"s": x + y, "p": x * y}

    axes = {"x": np.arange(5.0), "y": np.arange(3.0)}
    full = grid_sweep(fn, axes, chunk_size=4)
    # simulate a crash after the first two chunks: delete the others, re-run, compare
    grid_sweep(fn, axes, chunk_size=4, checkpoint=tmp_path)
    for f in sorted(tmp_path.glob("chunk_*.npz"))[2:]:
        f.unlink()
    resumed = grid_sweep(fn, axes, chunk_size=4, checkpoint=tmp_path)
    np.testing.assert_array_equal(resumed["s"], full["s"])
    np.testing.assert_array_equal(resumed["p"], np.outer(np.arange(5.0), np.arange(3.0)))
    with pytest.raises(ValueError, match="another job: field .axes"):
        grid_sweep(fn, {"x": np.arange(4.0), "y": np.arange(3.0)}, chunk_size=4, checkpoint=tmp_path)


def test_save_load_roundtrip(tmp_path, sweep):
    sweep.save(tmp_path / "s.npz")
    back = SweepResult.load(tmp_path / "s.npz")
    np.testing.assert_array_equal(back["rate"], sweep["rate"])
    np.testing.assert_array_equal(back.axes["eta"], ETA)


def test_bad_axes():
    with pytest.raises(ValueError, match="axis 'x'"):
        grid_sweep(lambda x: {"v": x}, {"x": np.array([1.0, np.nan])})
