"""Population dynamics: the Arnold-tongue map of the Wilson-Cowan oscillator, mfjax vs scipy.

Usage::

    python benchmarks/bench_dynamics.py          # -> benchmarks/results/dynamics.json

Work (issue "Dynamics of population models", speed figure): the rotation number of the forced
Wilson-Cowan oscillator (default :class:`mfjax.dynamics.WilsonCowan`, P_e = 1.5, P_i = 0; an
11-ms-time-constant cycle of 19.2 Hz) on a 200 x 200 grid of forcing frequency (0.5..2.2 f0)
and amplitude (0..1.5), 100 transient and 100 counted forcing periods of 64 RK4 steps each
(float64, and float32 for its accuracy).  The peer is what a user would write: a loop of
``scipy.integrate.solve_ivp`` (RK45, rtol 1e-8) over the same window, timed on a random sample
of grid points and extrapolated to the grid; its rotation numbers are compared with mfjax's on
that sample.  Also timed: 10^6 avalanches of the critical Poisson branching process with
their size and duration exponents (maximum likelihood, 100 bootstrap sets each), against a
numpy loop (timed on 2,000 avalanches and extrapolated); the exact 1:1 tongue edges at one amplitude (continuation of the
stroboscopic map and two fold solves) and the continuation of the equilibria in P_e with fold
and Hopf location.
"""

from __future__ import annotations

import math
import os
import time

import numpy as np
from _peers import HERE, machine, write_json

P_E, GRID, PERIODS, TRANSIENT, STEPS = 1.5, 200, 100, 100, 64


def main():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from scipy.integrate import solve_ivp
    from scipy.special import expit

    from mfjax import dynamics, solvers

    model = dynamics.WilsonCowan()
    forced = lambda x, u, m: dynamics.wilson_cowan_field(m, x, P_E + u, 0.0)  # noqa: E731
    free = lambda x, m: forced(x, 0.0, m)  # noqa: E731
    x0, T = dynamics.cycle_guess(free, jnp.array([0.1, 0.1]), model, dt=0.05, transient=20000, window=10000)
    orbit = dynamics.periodic_orbit(free, x0, T, model)
    f0 = 1000.0 / float(orbit.period)
    level = float(dynamics.wilson_cowan_fixed_points(model, P_E, 0.0).state[0, 0])
    freqs = np.linspace(0.5, 2.2, GRID) * f0
    amps = np.linspace(0.0, 1.5, GRID)
    F, A = np.meshgrid(freqs, amps, indexing="ij")

    def tongue_map(dtype):
        args = (jnp.asarray(orbit.state, dtype), jnp.asarray(F, dtype), jnp.asarray(A, dtype))
        run = jax.jit(lambda x, f, a: dynamics.rotation_numbers(forced, x, f, a, model, level=level, periods=PERIODS,
                                                               transient_periods=TRANSIENT, steps_per_period=STEPS))
        t0 = time.perf_counter()
        out = jax.block_until_ready(run(*args))
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        out = jax.block_until_ready(run(*args))
        return time.perf_counter() - t0, first, np.asarray(out[0]), np.asarray(out[1])

    t64, first64, rot64, locked64 = tongue_map(jnp.float64)
    t32, first32, rot32, locked32 = tongue_map(jnp.float32)

    # --- the peer: scipy solve_ivp per point, on a random sample ---
    rng = np.random.default_rng(0)
    sample = rng.choice(F.size, size=24, replace=False)

    def rhs(t, z, a, f):
        u = P_E + a * math.sin(2 * math.pi * f * t / 1000)
        E, I = z  # noqa: E741
        return [(-E + expit(1.3 * (16 * E - 12 * I + u - 4.0))) / 10.0, (-I + expit(2.0 * (15 * E - 3 * I - 3.7))) / 10.0]

    def crossing(t, z, a, f):
        return z[0] - level

    crossing.direction = 1
    peer_rot = []
    t0 = time.perf_counter()
    for k in sample:
        f, a = F.flat[k], A.flat[k]
        Tf = 1000 / f
        s = solve_ivp(rhs, (0, (TRANSIENT + PERIODS) * Tf), np.asarray(orbit.state), args=(a, f), rtol=1e-8, atol=1e-10,
                      events=crossing)
        t = s.t_events[0]
        peer_rot.append(np.sum(t > TRANSIENT * Tf) / PERIODS)
    t_peer = (time.perf_counter() - t0) / len(sample) * F.size
    peer_rot = np.array(peer_rot)
    agree = np.abs(peer_rot - rot64.flat[sample]) <= 1.0 / PERIODS + 1e-12

    # --- exact tongue edges and a continuation with bifurcation location ---
    t0 = time.perf_counter()
    edges = jax.block_until_ready(dynamics.tongue_edges(forced, orbit, 0.05, model))
    t_edges = time.perf_counter() - t0
    adler = dynamics.adler_tongue(forced, orbit, model)
    Fp = lambda x, p, m: dynamics.wilson_cowan_field(m, x, p, 0.0)  # noqa: E731
    start = dynamics.wilson_cowan_fixed_points(model, 0.0, 0.0).state[0]
    t0 = time.perf_counter()
    br = solvers.continuation(Fp, start, 0.0, model, p_bounds=(-1.0, 3.0), steps=300, ds=0.005, ds_max=0.01)
    folds, hopfs = jax.block_until_ready(solvers.branch_bifurcations(Fp, br, model))
    t_cont = time.perf_counter() - t0

    # --- avalanches: 10^6 of the critical branching process, exponents by maximum likelihood ---
    t0 = time.perf_counter()
    av = dynamics.branching_avalanches(jax.random.key(0), 1.0, 1_000_000, max_generations=10_000)
    t_av = time.perf_counter() - t0
    done = ~av.censored
    t0 = time.perf_counter()
    fit_s = dynamics.fit_power_law(av.size[done], n_boot=100, key=jax.random.key(1))
    fit_d = dynamics.fit_power_law(av.duration[done], n_boot=100, key=jax.random.key(2))
    t_fit = time.perf_counter() - t0
    # the peer: a numpy loop over avalanches, generation by generation (timed on 2,000)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    for _ in range(2000):
        z, size = 1, 1
        for _g in range(10_000):
            z = rng.poisson(z)
            size += z
            if z == 0:
                break
    t_av_peer = (time.perf_counter() - t0) / 2000 * 1_000_000

    result = {
        "machine": machine(),
        "work": {"model": "WilsonCowan() defaults, P_e 1.5, P_i 0", "f0_hz": f0,
                 "tongue_map": f"{GRID} x {GRID} (f 0.5..2.2 f0, A 0..1.5), {TRANSIENT}+{PERIODS} forcing periods of {STEPS} RK4 steps",
                 "peer": "scipy solve_ivp RK45 rtol 1e-8 per point, 24 sampled points extrapolated"},
        "tongue_map": {"mfjax_float64_s": t64, "mfjax_float64_first_call_s": first64,
                       "mfjax_float32_s": t32, "mfjax_float32_first_call_s": first32,
                       "peer_scipy_extrapolated_s": t_peer, "speedup_float64": t_peer / t64,
                       "locked_1to1_fraction": float(np.mean(locked64 & (np.abs(rot64 - 1) < 1e-12))),
                       "float32_rotation_equal_fraction": float(np.mean(np.abs(rot32 - rot64) < 1e-6)),
                       "float32_rotation_within_one_count_fraction": float(np.mean(np.abs(rot32 - rot64) <= 1.0 / PERIODS + 1e-6)),
                       "peer_rotation_within_one_count_fraction": float(np.mean(agree))},
        "tongue_edges_A_0.05": {"first_call_s": t_edges, "low_hz": float(edges.low), "high_hz": float(edges.high),
                                "adler_low_hz": float(adler.f0 - 0.05 * adler.slope),
                                "adler_high_hz": float(adler.f0 + 0.05 * adler.slope)},
        "avalanches_critical_1e6": {"mfjax_s_with_compiles": t_av, "peer_numpy_loop_extrapolated_s": t_av_peer,
                                    "speedup": t_av_peer / t_av, "censored": int(np.sum(av.censored)),
                                    "fit_s_with_100_bootstraps_each": t_fit,
                                    "size_alpha": fit_s.alpha, "size_stderr": fit_s.stderr, "size_x_min": fit_s.x_min,
                                    "size_p_value": fit_s.p_value,
                                    "duration_alpha": fit_d.alpha, "duration_stderr": fit_d.stderr,
                                    "duration_x_min": fit_d.x_min, "duration_p_value": fit_d.p_value},
        "continuation_P_e": {"first_call_s": t_cont, "points": int(np.sum(np.asarray(br.valid))),
                             "folds_P_e": np.asarray(folds.p)[np.asarray(folds.valid)].tolist(),
                             "hopfs_P_e": np.asarray(hopfs.p)[np.asarray(hopfs.valid)].tolist()},
    }
    write_json(HERE / "results" / "dynamics.json", result)
    target = HERE / "results" / "dynamics_tongue_map.npz"
    with open(target.with_suffix(".tmp"), "wb") as fh:  # atomic: write aside, then rename
        np.savez_compressed(fh, frequency=F, amplitude=A, rotation=rot64, locked=locked64)
    os.replace(target.with_suffix(".tmp"), target)
    print(result)


if __name__ == "__main__":
    main()
