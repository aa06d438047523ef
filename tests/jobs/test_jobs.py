"""The `mfjax` command and its jobs (issue 24): configs validated before anything compiles,
the default job, sweeps of every registered model, sharding over (fake) devices, two processes
on JAX's distributed runtime, array-job shares and their merge, kill -9 and resume, labelled
results (xarray / netCDF, provenance), fit, simulate, bench and progress.

References: Brunel (2000) model A rates (37.9497 Hz at (5, 2), 12.9875 Hz at (8, 2), as in
tests/populations), the scipy Siegert self-consistency (tests/scipy_lif.py) for the fitted
network, the recorded spike counts for the simulated rates, and the single-device,
single-process sweep for every sharded and distributed run (bit for bit)."""

import io
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from mfjax.cli import EXAMPLES, main
from mfjax.jobs import ConfigError, check_sweep, parse_toml, run_bench
from mfjax.sweep import Progress
from mfjax.jobs._fit import check_fit
from mfjax.jobs._simulate import check_simulate
from mfjax.jobs._sweep import DEFAULT_SWEEP
from mfjax.sweep import SweepResult, brunel_rate_sweep, grid_sweep
from scipy_lif import siegert

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMALL = ["--set", "sweep.axes.g={start=5.0, stop=8.0, num=3}", "--set", "sweep.axes.eta={start=1.0, stop=2.0, num=2}"]


def _env(**extra):
    env = dict(os.environ, JAX_PLATFORMS="cpu", PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.update(extra)
    return env


def _mfjax(*args, **kw):
    return subprocess.Popen([sys.executable, "-m", "mfjax.cli", *args], env=kw.pop("env", _env()), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


# ---- the default job -------------------------------------------------------------------------


def test_default_job_small_grid(tmp_path):
    out = tmp_path / "out"
    assert main(["--out", str(out), "--quiet", *SMALL, "--set", 'output.formats=["npz", "netcdf"]']) == 0
    summary = json.loads((out / "brunel_sweep.json").read_text())
    assert summary["points"] == 6 and summary["valid_points"] == 6
    res = SweepResult.load(out / "brunel_sweep.npz")
    # (g, eta) = (5, 2) and (8, 2): Brunel model A 37.9497 Hz and 12.9875 Hz
    assert abs(res["rate"][0, 1] - 37.9497) < 5e-5 and abs(res["rate"][2, 1] - 12.9875) < 5e-5
    assert (out / "brunel_sweep.png").stat().st_size > 1000
    # the config is copied in, and the provenance travels with the result
    assert parse_toml((out / "config.toml").read_text()) == parse_toml(DEFAULT_SWEEP)
    assert json.loads((out / "config.resolved.json").read_text())["sweep"]["axes"]["g"]["num"] == 3
    prov = res.provenance
    assert prov["dtype"] == "float64" and prov["config"]["sweep"]["model"] == "brunel" and prov["wall_seconds"] > 0
    assert {"mfjax_version", "jax_version", "devices", "process", "utc"} <= set(prov)
    assert res.units["rate"] == "Hz" and res.units["mu"] == "mV"
    # labelled: the netCDF file holds the same numbers with named dimensions and units
    xr = pytest.importorskip("xarray")
    ds = xr.open_dataset(out / "brunel_sweep.nc")
    assert ds["rate"].dims == ("g", "eta") and ds["rate"].attrs["units"] == "Hz"
    np.testing.assert_array_equal(ds["rate"].values, res["rate"])
    np.testing.assert_array_equal(ds["g"].values, [5.0, 6.5, 8.0])
    assert json.loads(ds.attrs["provenance"])["mfjax_version"] == prov["mfjax_version"]
    ds.close()


def test_config_show_prints_valid_configs(tmp_path, capsys):
    for name in EXAMPLES:
        assert main(["config", "show", name]) == 0
        text = capsys.readouterr().out
        path = tmp_path / f"{name}.toml"
        path.write_text(text)
        assert main(["config", "check", str(path)]) == 0
        assert "valid" in capsys.readouterr().out
    main(["config", "show"])
    assert capsys.readouterr().out == DEFAULT_SWEEP


@pytest.mark.parametrize("command", ["sweep", "fit", "simulate", "bench", "config"])
def test_help_of_every_subcommand_is_complete(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    expected = {"sweep": ["sweep.model", "sweep.axes", "chunk_size", "brunel_phases", "microcircuit", "--share",
                          "--distributed", "output.formats"],
                "fit": ["fit.target", "fit.optimizer", "learning_rate", "networks:"],
                "simulate": ["simulate.duration", "simulate.chunk", "simulate.record", "networks:"],
                "bench": ["--device", "--peers", "nnmt"], "config": ["show", "check"]}[command]
    for word in expected:
        assert word in text, word


# ---- validation: every error names its key, before anything compiles -------------------------


def _sweep(**sweep):
    base = {"model": "brunel", "axes": {"g": {"start": 0.0, "stop": 1.0, "num": 2}}}
    return {"sweep": {**base, **sweep}}


@pytest.mark.parametrize("raw, key", [
    ({"sweep": {"model": "brunel", "axes": {"g": {"start": 0.0, "stop": 1.0, "num": 2}}}, "typo": 1}, "typo"),
    (_sweep(chunk_size="a"), "sweep.chunk_size"),
    (_sweep(chunk_size=0), "sweep.chunk_size"),
    (_sweep(dtype="float16"), "sweep.dtype"),
    (_sweep(model="hopfield"), "sweep.model"),
    (_sweep(devices=0), "sweep.devices"),
    (_sweep(axes={}), "sweep.axes"),
    (_sweep(axes={"gg": {"start": 0.0, "stop": 1.0, "num": 2}}), "sweep.axes.gg"),
    (_sweep(axes={"g": {"start": 0.0, "stop": 1.0}}), "sweep.axes.g.num"),
    (_sweep(axes={"g": {"start": 0.0, "stop": 1.0, "num": 2, "step": 1}}), "sweep.axes.g.step"),
    (_sweep(axes={"g": {"values": [1.0, "x"]}}), "sweep.axes.g.values[1]"),
    (_sweep(axes={"g": {"start": -1.0, "stop": 1.0, "num": 2}}), "sweep.axes.g"),
    (_sweep(axes={"g": {"start": 0.0, "stop": 1.0, "num": 2, "scale": "log"}}), "sweep.axes.g"),
    (_sweep(axes={"N_E": {"values": [100.0]}}), "sweep.axes.N_E"),
    (_sweep(parameters={"J": "big"}), "sweep.parameters.J"),
    (_sweep(parameters={"tau": 1.0}), "sweep.parameters.tau"),
    (_sweep(parameters={"g": 1.0}), "sweep.parameters.g"),
    (_sweep(outputs=["rates"]), "sweep.outputs"),
    ({"sweep": {"model": "brunel", "axes": {"g": {"values": [1.0]}}}, "output": {"formats": ["hdf5"]}}, "output.formats"),
    ({"sweep": {"model": "brunel", "axes": {"g": {"values": [1.0]}}}, "output": {"figure": "yes"}}, "output.figure"),
])
def test_bad_sweep_configs_name_the_key(raw, key):
    with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
        check_sweep(raw)


@pytest.mark.parametrize("check, raw, key", [
    (check_fit, {"fit": {"network": "brunel"}}, "fit.target"),
    (check_fit, {"fit": {"target": [1.0, -2.0]}}, r"fit.target\[1\]"),
    (check_fit, {"fit": {"target": [1.0], "optimizer": "newton"}}, "fit.optimizer"),
    (check_fit, {"fit": {"target": [1.0], "max_steps": 1.5}}, "fit.max_steps"),
    (check_fit, {}, r"\[fit\]"),
    (check_simulate, {"simulate": {"duration": 1000.0, "chunk": 300.0}}, "simulate.chunk"),
    (check_simulate, {"simulate": {"transient": 300.0}}, "simulate.transient"),
    (check_simulate, {"simulate": {"record": ["voltage"]}}, "simulate.record"),
    (check_simulate, {"simulate": {"network": "hh"}}, "simulate.network"),
    (check_simulate, {"simulate": {"trials": True}}, "simulate.trials"),
])
def test_bad_fit_and_simulate_configs_name_the_key(check, raw, key):
    with pytest.raises(ConfigError, match=key):
        check(raw)


def test_command_line_errors_name_the_key_and_write_nothing(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('[sweep]\nmodel = "brunel"\n[sweep.axes]\ng = { start = 0.0, stop = 1.0, num = 2 }\n'
                      '[sweep.parameters]\nv_reset = "ten"\n')
    out = tmp_path / "out"
    with pytest.raises(SystemExit, match="sweep.parameters.v_reset"):
        main(["sweep", str(config), "--out", str(out)])
    assert not out.exists()
    with pytest.raises(SystemExit, match="not valid TOML"):
        config.write_text("[sweep\n")
        main(["sweep", str(config)])
    with pytest.raises(SystemExit, match=r"needs a \[fit\] table"):
        config.write_text('[sweep]\nmodel = "ising"\n')
        main(["fit", str(config)])
    with pytest.raises(SystemExit, match="fit.network_parameters.gg"):
        config.write_text('[fit]\ntarget = [1.0, 2.0]\n[fit.network_parameters]\ngg = 1.0\n')
        main(["fit", str(config), "--out", str(out)])
    with pytest.raises(SystemExit, match="simulate.network_parameters.J: missing"):
        config.write_text('[simulate]\nnetwork = "custom"\n[simulate.network_parameters]\nN = [10]\nK = [[1]]\n'
                          'K_ext = [1]\nJ_ext = [0.1]\nnu_ext = [1.0]\n')
        main(["simulate", str(config), "--out", str(out)])
    with pytest.raises(SystemExit, match="simulate.network_parameters"):
        config.write_text('[simulate]\nnetwork = "custom"\n[simulate.network_parameters]\nN = [10]\nK = [[1]]\n'
                          'J = [[0.1, 0.2]]\nK_ext = [1]\nJ_ext = [0.1]\nnu_ext = [1.0]\n')
        main(["simulate", str(config), "--out", str(out)])
    assert not out.exists()
    with pytest.raises(SystemExit, match="cannot read config .*missing.toml"):
        main(["sweep", str(tmp_path / "missing.toml")])


# ---- every registered model ------------------------------------------------------------------


def test_every_model_sweeps_through_the_cli(tmp_path):
    # small grids of every example config; the numbers themselves are tested in each model's
    # own module against its references, here they must equal the direct library calls
    import jax.numpy as jnp

    from mfjax import dmft, ising, memory
    from mfjax.populations import microcircuit, solve_rates

    sets = {"microcircuit": ["sweep.axes.nu_ext={values=[8.0]}", "sweep.axes.g_scale={values=[1.0, 1.1]}"],
            "ising": ["sweep.axes.T={values=[1.5, 3.0]}", "sweep.axes.h={values=[0.01]}"],
            "dmft": ["sweep.axes.g={values=[0.8, 2.0]}", "sweep.axes.sigma={values=[0.0, 0.3]}"],
            "memory": ["sweep.axes.alpha={values=[0.05, 0.2]}"]}
    results = {}
    for name, overrides in sets.items():
        config = tmp_path / f"{name}.toml"
        from mfjax.cli import _example

        config.write_text(_example(name))
        args = ["sweep", str(config), "--out", str(tmp_path / name), "--quiet"]
        for o in overrides:
            args += ["--set", o]
        assert main(args) == 0
        results[name] = SweepResult.load(tmp_path / name / f"{name}_sweep.npz")
    mc = results["microcircuit"]
    np.testing.assert_allclose(mc["rates"][0, 0], solve_rates(microcircuit()).rates, rtol=1e-10)
    assert mc.dims["rates"] == ("population",) and list(mc.coords["population"])[0] == "L2/3E"
    m, _ = ising.lattice_magnetization(jnp.asarray(1.5), method="bethe", z=4, h=0.01)
    assert results["ising"]["magnetization"][0, 0] == pytest.approx(float(m), rel=1e-12)
    o = dmft.order_parameters(2.0, 0.3)
    assert results["dmft"]["delta0"][1, 1] == pytest.approx(float(o.delta0), rel=1e-10)
    # AGS at T = 0: retrieval below alpha_c = 0.138, none above (Amit, Gutfreund & Sompolinsky 1987)
    ov = results["memory"]["overlap"]
    assert ov[0] > 0.99 and abs(ov[1]) < 1e-6
    assert float(memory.ags_overlap(0.05, 0.0).m) == pytest.approx(ov[0], rel=1e-12)


def test_spectrum_sweep_reaches_the_poisson_limit(tmp_path):
    # far above every network time scale the rate spectrum of N_E neurons is that of N_E
    # independent Poisson trains, nu / N_E (Bos et al. 2016; NNMT's power_spectra); the
    # frequency axis is labelled
    config = tmp_path / "s.toml"
    config.write_text('[sweep]\nmodel = "brunel_spectrum"\n[sweep.axes]\ng = { values = [5.0] }\n'
                      'eta = { values = [2.0] }\n[sweep.parameters]\nf_min = 10.0\nf_max = 1e7\nn_frequencies = 8\n'
                      'variance_response = false\nN_E = 4000\n[output]\nfigure = false\n')
    assert main(["sweep", str(config), "--out", str(tmp_path), "--quiet"]) == 0
    r = SweepResult.load(tmp_path / "brunel_spectrum_sweep.npz")
    assert r.dims["spectrum"] == ("frequency",) and r.coords["frequency"][-1] == pytest.approx(1e7)
    assert r["converged"][0, 0]
    assert r["spectrum"][0, 0, -1] == pytest.approx(r["rate"][0, 0] / 4000, rel=0.03)


# ---- scale: devices, processes, shares, kill -9 -----------------------------------------------


_SHARDED = r"""
import json, sys
import numpy as np
from mfjax.cli import main
from mfjax.sweep import SweepResult
import jax
assert len(jax.local_devices()) == 8, jax.local_devices()
out = sys.argv[1]
common = ["--quiet", "--set", "sweep.axes.g={start=3.0, stop=8.0, num=9}", "--set", "sweep.axes.eta={start=0.5, stop=4.0, num=7}",
          "--set", "sweep.chunk_size=20"]
main(["--out", out + "/one", "--devices", "1", *common])
main(["--out", out + "/eight", "--devices", "all", *common])
a, b = SweepResult.load(out + "/one/brunel_sweep.npz"), SweepResult.load(out + "/eight/brunel_sweep.npz")
print(json.dumps({"devices": b.provenance["devices"], "same": all(np.array_equal(a[k], b[k]) for k in a.values),
                  "keys": sorted(a.values)}))
"""


def test_sharded_sweep_on_eight_cpu_devices_is_bit_identical(tmp_path):
    proc = subprocess.run([sys.executable, "-c", _SHARDED, str(tmp_path)], capture_output=True, text=True, timeout=300,
                          env=_env(XLA_FLAGS="--xla_force_host_platform_device_count=8"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(report["devices"]) == 8 and report["same"] and "rate" in report["keys"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _distributed(config, out, n=2):
    port = _port()
    return [_mfjax("sweep", str(config), "--out", str(out), "--quiet", "--distributed", "--coordinator",
                   f"localhost:{port}", "--num-processes", str(n), "--process-id", str(k)) for k in range(n)]


GRID = (np.linspace(3.0, 8.0, 8), np.linspace(0.5, 4.0, 6))


@pytest.fixture(scope="module")
def reference():
    return brunel_rate_sweep(*GRID, chunk_size=4)


def _config(tmp_path):
    config = tmp_path / "sweep.toml"
    config.write_text('[sweep]\nmodel = "brunel"\nchunk_size = 4\n[sweep.axes]\ng = { start = 3.0, stop = 8.0, num = 8 }\n'
                      'eta = { start = 0.5, stop = 4.0, num = 6 }\n[output]\nname = "b"\nfigure = false\n')
    return config


def _manifest_chunks(folder):
    record = {}
    for path in folder.glob("manifest*.json"):
        for name in json.loads(path.read_text())["chunks"]:
            record.setdefault(name, []).append(path.name)
    return record


def test_two_processes_equal_one_and_survive_kill_9(tmp_path, reference):
    config = _config(tmp_path)
    # 1. two processes on JAX's distributed runtime = one process, bit for bit
    procs = _distributed(config, tmp_path / "a")
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
    got = SweepResult.load(tmp_path / "a" / "b.npz")
    for k in reference.values:
        np.testing.assert_array_equal(got[k], reference[k])
    assert got.provenance["process"] == {"index": 0, "count": 2}
    chunks = _manifest_chunks(tmp_path / "a" / "checkpoint-b")
    assert len(chunks) == 12 and all(len(v) == 1 for v in chunks.values())  # each chunk by one process
    assert {w for v in chunks.values() for w in v} == {"manifest-0.json", "manifest-1.json"}
    # 2. kill -9 of one process at a random moment, then resume: 0 points lost or duplicated
    rng = np.random.default_rng()
    out = tmp_path / "k"
    procs = _distributed(config, out)
    ckpt = out / "checkpoint-b"
    target = int(rng.integers(1, 6))
    deadline = time.time() + 120
    while time.time() < deadline and len(list(ckpt.glob("chunk_*.npz"))) < target and procs[1].poll() is None:
        time.sleep(0.02)
    victim = int(rng.integers(0, 2))
    procs[victim].send_signal(signal.SIGKILL)
    procs[victim].communicate()
    # the survivor waits for its lost peer (JAX's coordination service stops it after its
    # heartbeat timeout); a job scheduler cancels it at once, as here
    try:
        procs[1 - victim].communicate(timeout=2)
    except subprocess.TimeoutExpired:
        procs[1 - victim].kill()
        procs[1 - victim].communicate()
    procs = _distributed(config, out)
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-3000:]
    got = SweepResult.load(out / "b.npz")
    for k in reference.values:
        np.testing.assert_array_equal(got[k], reference[k])
    assert len(_manifest_chunks(ckpt)) == 12


def test_array_job_shares_then_one_merge(tmp_path, reference, capsys):
    config = _config(tmp_path)
    out = tmp_path / "s"
    for k in range(3):  # three array tasks, one after another here (they share nothing but the folder)
        assert main(["sweep", str(config), "--out", str(out), "--quiet", "--share", f"{k}/3"]) == 0
    assert not (out / "b.npz").exists()
    assert sorted(p.name for p in (out / "checkpoint-b").glob("manifest*.json")) == [
        "manifest-0.json", "manifest-1.json", "manifest-2.json"]
    # the merge reads every chunk and computes none (its log line per chunk says "points 0")
    capsys.readouterr()
    assert main(["sweep", str(config), "--out", str(out), "--quiet"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("mfjax sweep brunel: chunk")]
    assert len(lines) == 12 and all(line.endswith("points 0)") for line in lines)
    got = SweepResult.load(out / "b.npz")
    for k in reference.values:
        np.testing.assert_array_equal(got[k], reference[k])
    with pytest.raises(SystemExit, match="--share"):
        main(["sweep", str(config), "--share", "3/3"])


def test_grid_sweep_checks_its_scale_arguments():
    fn = __import__("mfjax.sweep._brunel", fromlist=["brunel_point"]).brunel_point
    axes = {"g": GRID[0], "eta": GRID[1]}
    with pytest.raises(ValueError, match="checkpoint"):
        grid_sweep(fn, axes, share=(0, 2))
    with pytest.raises(ValueError, match="share index"):
        grid_sweep(fn, axes, share=(2, 2), checkpoint="x")
    with pytest.raises(ValueError, match="devices"):
        grid_sweep(fn, axes, devices="gpu")
    with pytest.raises(ValueError, match="devices"):
        grid_sweep(fn, axes, devices=99)


# ---- fit, simulate, bench, progress ------------------------------------------------------------


def _siegert_rates(net, rates):
    """scipy Siegert of every population at the input that ``rates`` give (Brunel 2000 eqs. 3-4)."""
    K, J = np.asarray(net.K), np.asarray(net.J)
    tau, nu = float(net.neuron.tau_m), np.asarray(rates)
    drive = np.asarray(net.K_ext) * np.asarray(net.J_ext) * np.asarray(net.nu_ext)
    mu = tau * 1e-3 * (K * J @ nu + drive)
    var = tau * 1e-3 * (K * J**2 @ nu + np.asarray(net.K_ext) * np.asarray(net.J_ext) ** 2 * np.asarray(net.nu_ext))
    n = net.neuron
    return np.array([siegert(tau, float(n.tau_ref), float(n.v_th), float(n.v_reset), m, np.sqrt(v)) for m, v in zip(mu, var)])


def test_fit_through_the_cli_hits_the_target(tmp_path):
    from mfjax.cli import _example
    from mfjax.fit import scale_pathways
    from mfjax.populations import brunel_a

    config = tmp_path / "fit.toml"
    config.write_text(_example("fit"))
    assert main(["fit", str(config), "--out", str(tmp_path / "f"), "--quiet"]) == 0
    summary = json.loads((tmp_path / "f" / "brunel_fit.json").read_text())
    assert summary["success"] and summary["max_rel_error"] <= 0.005
    data = np.load(tmp_path / "f" / "brunel_fit.npz")
    assert data["loss"].size == summary["steps"] and data["loss"][-1] < data["loss"][0]
    # independent check: the fitted network's rates solve the scipy Siegert self-consistency
    net = scale_pathways(brunel_a(5.0, 2.0), data["log_scale"])
    np.testing.assert_allclose(_siegert_rates(net, data["rates"]), data["rates"], rtol=1e-8)
    np.testing.assert_allclose(data["rates"], [12.0, 30.0], rtol=0.005)
    assert (tmp_path / "f" / "brunel_fit.png").stat().st_size > 1000


def test_simulate_through_the_cli_records_and_resumes(tmp_path):
    config = tmp_path / "sim.toml"
    config.write_text('[simulate]\nnetwork = "brunel"\nduration = 300.0\nchunk = 150.0\ntransient = 50.0\n'
                      'sample_size = 50\n[simulate.network_parameters]\nN_E = 800\n[output]\nname = "s"\n'
                      'formats = ["npz", "netcdf"]\n')
    out = tmp_path / "o"
    assert main(["simulate", str(config), "--out", str(out), "--quiet"]) == 0
    first = json.loads((out / "s.json").read_text())
    assert first["trials"][0]["chunks_computed"] == 2
    data = np.load(out / "s.npz")
    rates = data["trial0:rates"]
    # the recorded spikes after the transient count to the reported rates (the 50 recorded
    # neurons per population sample them: within sampling error)
    t, nid = data["trial0:spike_times"], data["trial0:spike_neurons"]
    n_e = 800
    for p, sel in enumerate([nid < n_e, nid >= n_e]):
        counted = np.sum(sel & (t > 50.0)) / 50 / 0.25
        assert abs(counted - rates[p]) < 0.25 * rates[p] + 2.0
    assert data["trial0:population_rate"].shape == (250, 2) and data["trial0:spectrum"].shape[0] == 2
    assert (out / "s.png").stat().st_size > 1000
    xr = pytest.importorskip("xarray")
    with xr.open_dataset(out / "s.nc") as ds:  # the same records, labelled
        assert ds["population_rate"].dims == ("trial", "time", "population") and ds["rates"].attrs["units"] == "Hz"
        np.testing.assert_array_equal(ds["rates"].values[0], rates)
        np.testing.assert_array_equal(ds["spike_times_0"].values, t)
        assert float(ds["time"][0]) == 50.5 and json.loads(ds.attrs["provenance"])["seed"] == 0
    # a rerun resumes from the chunks: nothing recomputed, the same numbers
    assert main(["simulate", str(config), "--out", str(out), "--quiet"]) == 0
    again = json.loads((out / "s.json").read_text())
    assert again["trials"][0]["chunks_computed"] == 0 and again["trials"][0]["rates_hz"] == first["trials"][0]["rates_hz"]


def test_bench_runs_tasks_and_summarises_them(tmp_path, monkeypatch):
    from mfjax.jobs import _bench

    bench = tmp_path / "benchmarks"
    (bench / "results").mkdir(parents=True)
    (bench / "_peers.py").write_text("")
    (bench / "ok.py").write_text("import json, pathlib, os\n"
                                 "pathlib.Path(__file__).parent.joinpath('results', 'ok.json').write_text("
                                 "json.dumps({'speed': {'ratio': 4.0}, 'platform': os.environ['JAX_PLATFORMS']}))\n")
    (bench / "bad.py").write_text("raise SystemExit(3)\n")
    monkeypatch.setattr(_bench, "benchmark_folder", lambda: bench)
    monkeypatch.setattr(_bench, "BENCHMARKS", {
        "ok": _bench.Benchmark("ok.py", "ok.json"), "bad": _bench.Benchmark("bad.py", "bad.json"),
        "peer": _bench.Benchmark("ok.py", "ok.json", peer="nnmt")})
    summary = run_bench([], out=tmp_path / "out", quiet=True)
    assert summary["tasks"]["ok"]["status"] == "ok" and summary["tasks"]["ok"]["ratios"] == {"speed.ratio": 4.0}
    assert summary["tasks"]["bad"]["status"] == "failed (exit 3)"
    assert summary["skipped_need_peers"] == {"peer": "nnmt"}
    assert json.loads((tmp_path / "out" / "ok.json").read_text())["platform"] == "cpu"
    assert (tmp_path / "out" / "bench_summary.png").stat().st_size > 1000
    import jax

    if jax.default_backend() == "cpu":
        with pytest.raises(SystemExit, match="no GPU"):
            run_bench([], out=tmp_path / "gpu", device="gpu", quiet=True)


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_is_a_bar_on_a_terminal_and_a_line_per_chunk_otherwise():
    log = io.StringIO()
    with Progress(3, desc="job", unit="chunk", stream=log) as bar:
        for i in range(1, 4):
            bar.update(i, points=10)
    lines = log.getvalue().strip().splitlines()
    assert len(lines) == 3 and lines[-1].startswith("job: chunk 3/3") and "ETA" in lines[0] and "points 10" in lines[0]
    term = _Terminal()
    with Progress(3, desc="job", unit="chunk", stream=term) as bar:
        bar.update(3)
    assert "3/3" in term.getvalue() and "job: chunk" not in term.getvalue()  # tqdm's bar, not log lines
    quiet = _Terminal()
    with Progress(2, desc="job", unit="chunk", stream=quiet, quiet=True) as bar:
        bar.update(1)
    assert quiet.getvalue().startswith("job: chunk 1/2")
