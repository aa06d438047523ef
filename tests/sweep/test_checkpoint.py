"""Verified resumption: no point lost, duplicated or reused from another run.

Checkpoint folders of sweeps, the CLI and ``spiking.run_chunks`` are attacked as an unlucky or
careless user would: a process killed with SIGKILL mid-run, a truncated chunk, two chunks
swapped, a chunk copied from another run, a folder reused by another job (another function,
grid, dtype, key or network).  Every damaged chunk must be named, moved aside and recomputed;
every foreign folder refused with the field that differs; resumed results must equal an
uninterrupted run bit for bit.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
import warnings

import jax
import numpy as np
import pytest

import mfjax
from mfjax import spiking
from mfjax.sweep import CheckpointWarning, brunel_rate_sweep, grid_sweep


def _fn(x, y):
    return {"s": x + 2.0 * y, "p": x * y}


AXES = {"x": np.arange(5.0), "y": np.arange(3.0)}  # 15 points, chunks of 4: 4 chunks


def _chunks(folder):
    return sorted(folder.glob("chunk_*.npz"))


@pytest.fixture()
def swept(tmp_path):
    ref = grid_sweep(_fn, AXES, chunk_size=4)
    grid_sweep(_fn, AXES, chunk_size=4, checkpoint=tmp_path)
    return ref, tmp_path


def _resume_equals(ref, folder, n_rejected):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        again = grid_sweep(_fn, AXES, chunk_size=4, checkpoint=folder)
    rejected = [w for w in caught if issubclass(w.category, CheckpointWarning)]
    assert len(rejected) == n_rejected, [str(w.message) for w in caught]
    for w in rejected:
        assert "chunk_" in str(w.message)  # the file is named
    for k in ("s", "p"):
        np.testing.assert_array_equal(again[k], ref[k])
    return rejected


def test_truncated_chunk_is_named_moved_aside_and_recomputed(swept):
    ref, folder = swept
    path = _chunks(folder)[1]
    path.write_bytes(path.read_bytes()[:50])
    (msg,) = [str(w.message) for w in _resume_equals(ref, folder, 1)]
    assert path.name in msg and "digest" in msg
    assert (folder / (path.name + ".rejected-0")).exists()
    _resume_equals(ref, folder, 0)  # now clean


def test_swapped_chunks_are_recomputed(swept):
    ref, folder = swept
    a, b = _chunks(folder)[0], _chunks(folder)[2]
    tmp = a.with_suffix(".swap")
    os.replace(a, tmp)
    os.replace(b, a)
    os.replace(tmp, b)
    _resume_equals(ref, folder, 2)


def test_chunk_copied_from_another_run_is_rejected(swept, tmp_path_factory):
    ref, folder = swept
    other = tmp_path_factory.mktemp("other")
    grid_sweep(_fn, {"x": np.arange(5.0) + 100.0, "y": np.arange(3.0)}, chunk_size=4, checkpoint=other)
    shutil.copy(other / "chunk_00001.npz", folder / "chunk_00001.npz")
    _resume_equals(ref, folder, 1)


def test_chunk_without_a_manifest_entry_is_recomputed(swept):
    # a SIGKILL between writing a chunk and recording it: the file is complete but unrecorded
    ref, folder = swept
    import json

    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["chunks"]["chunk_00003.npz"]
    (folder / "manifest.json").write_text(json.dumps(manifest))
    _resume_equals(ref, folder, 1)


@pytest.mark.parametrize(
    "change, field",
    [
        (dict(fn=lambda x, y: {"s": x - y, "p": x}), "function"),
        (dict(axes={"x": np.arange(5.0), "y": np.arange(3.0) + 1}), "axes"),
        (dict(chunk_size=3), "chunk_size"),
        (dict(tag="other"), "tag"),
    ],
)
def test_a_folder_of_another_job_is_refused_naming_the_field(swept, change, field):
    _, folder = swept
    args = dict(fn=_fn, axes=AXES, chunk_size=4)
    args.update(change)
    fn, axes = args.pop("fn"), args.pop("axes")
    with pytest.raises(ValueError, match=f"field '{field}"):
        grid_sweep(fn, axes, checkpoint=folder, **args)


def test_closed_over_values_are_part_of_the_function(tmp_path):
    # issue 17: grid_sweep with a different function on the same folder returned the old values
    def make(a):
        return lambda x: {"v": a * x}

    grid_sweep(make(1.0), {"x": np.arange(3.0)}, checkpoint=tmp_path)
    with pytest.raises(ValueError, match="function_digest"):
        grid_sweep(make(2.0), {"x": np.arange(3.0)}, checkpoint=tmp_path)


def test_brunel_sweep_with_a_swapped_chunk_reports_the_true_rates(tmp_path):
    # issue 17: a chunk replaced by another valid chunk gave rates off by 450 Hz, all "converged"
    g, eta = np.array([3.0, 5.0, 8.0]), np.array([1.0, 2.0])
    ref = brunel_rate_sweep(g, eta, chunk_size=2)
    brunel_rate_sweep(g, eta, chunk_size=2, checkpoint=tmp_path)
    shutil.copy(tmp_path / "chunk_00000.npz", tmp_path / "chunk_00002.npz")
    with pytest.warns(CheckpointWarning, match="chunk_00002.npz"):
        again = brunel_rate_sweep(g, eta, chunk_size=2, checkpoint=tmp_path)
    np.testing.assert_array_equal(again["rate"], ref["rate"])


def _cli(args, **kw):
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    return subprocess.Popen([sys.executable, "-m", "mfjax.cli", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def test_cli_survives_kill_9_and_refuses_a_float32_resume_of_float64_chunks(tmp_path):
    out = tmp_path / "out"
    args = ["--out", str(out), "--quiet", "--set", "sweep.axes.g={start=3.0, stop=8.0, num=12}",
            "--set", "sweep.axes.eta={start=0.5, stop=3.0, num=10}", "--set", "sweep.chunk_size=4"]
    proc = _cli(args)
    deadline = time.time() + 120
    while time.time() < deadline and len(_chunks(out / "checkpoint-brunel_sweep")) < 3 and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = len(_chunks(out / "checkpoint-brunel_sweep"))
    assert 3 <= done_before  # killed mid-run (or it finished: the resume is then a pure re-read)
    # float32 must not reuse the float64 chunks (issue 17), and says which field differs
    refused = _cli(args + ["--set", 'sweep.dtype="float32"'])
    _, err = refused.communicate(timeout=120)
    assert refused.returncode != 0 and "dtype" in err and "--restart" in err
    finished = _cli(args)
    finished.communicate(timeout=300)
    assert finished.returncode == 0
    got = mfjax.sweep.SweepResult.load(out / "brunel_sweep.npz")
    ref = brunel_rate_sweep(np.linspace(3, 8, 12), np.linspace(0.5, 3, 10), chunk_size=4)
    np.testing.assert_array_equal(got["rate"], ref["rate"])  # nothing lost, nothing duplicated
    np.testing.assert_array_equal(got["converged"], ref["converged"])


# ---- spiking.run_chunks --------------------------------------------------------------------


@pytest.fixture(scope="module")
def chunked(tmp_path_factory):
    net = mfjax.brunel_a(N_E=400)
    key = jax.random.key(3)
    folder = tmp_path_factory.mktemp("run")
    whole = spiking.simulate(net, 40.0, key=key, sample_size=50)
    out = spiking.run_chunks(net, 40.0, key=key, chunk=10.0, path=folder, sample_size=50)
    return net, key, folder, whole, out


def test_run_chunks_equals_one_run(chunked):
    _, _, _, whole, out = chunked
    np.testing.assert_allclose(out["rates"], np.asarray(whole.rates), rtol=1e-12)


def test_run_chunks_recomputes_damaged_and_swapped_chunks(chunked, tmp_path):
    net, key, folder, _, out = chunked
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    (copy / "chunk_00001.npz").write_bytes(b"garbage")
    a, b = copy / "chunk_00002.npz", copy / "chunk_00003.npz"
    tmp = a.with_suffix(".swap")
    os.replace(a, tmp)
    os.replace(b, a)
    os.replace(tmp, b)
    with pytest.warns(CheckpointWarning):
        again = spiking.run_chunks(net, 40.0, key=key, chunk=10.0, path=copy, sample_size=50)
    assert again["chunks_computed"] == 3
    np.testing.assert_array_equal(again["population_rate"], out["population_rate"])


@pytest.mark.parametrize("change, field", [("key", "key"), ("network", "network"), ("sample_size", "options")])
def test_run_chunks_refuses_a_folder_of_another_run(chunked, change, field):
    # issue 17: run_chunks had no fingerprint (another key or network silently mixed two runs)
    net, key, folder, _, _ = chunked
    args = dict(key=key, chunk=10.0, path=folder, sample_size=50)
    if change == "key":
        args["key"] = jax.random.key(4)
    elif change == "network":
        net = mfjax.brunel_a(N_E=400, g=6.0)
    else:
        args["sample_size"] = 20
    with pytest.raises(ValueError, match=f"field '{field}'"):
        spiking.run_chunks(net, 40.0, **args)


def test_a_large_prebuilt_connectivity_has_a_digest():
    """Tables of more than 65,536 entries are fingerprinted from a strided sample (regression:
    the strided view of int tables could not be read as bytes, so simulate() with a prebuilt
    connectivity of a 12,500-neuron network failed)."""
    K = np.array([[400.0, 100.0], [400.0, 100.0]])
    a = spiking.build_connectivity(jax.random.key(0), (4000, 1000), K)
    b = spiking.build_connectivity(jax.random.key(1), (4000, 1000), K)
    assert max(np.asarray(t).size for t in a.tables) > 65536
    assert a.digest() == spiking.build_connectivity(jax.random.key(0), (4000, 1000), K).digest()
    assert a.digest() != b.digest()
