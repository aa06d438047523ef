"""Attractors and the balanced state: mfjax against scipy bracketing and direct simulation.

Usage::

    python benchmarks/bench_attractors.py        # -> benchmarks/results/attractors.json

Work (issue "Dynamics of population models", items 1, 5 and 6):

* ``solve_rates`` from its default start on Brunel's model A over (g, eta) in [0, 10]^2
  (101 x 101 points, one vmapped call): converged fraction and time; the peer is a scipy
  bracketing of nu = phi(nu) (Siegert by ``scipy.integrate.quad``, 120-point log grid and
  ``brentq``), timed on a sample of points and extrapolated; the roots are compared.
* a balanced E-I network (J = j / sqrt(K), :class:`mfjax.dynamics.BalancedNetwork`) for K from
  10^3 to 10^6: steps from the default start, the distance to the balanced limit and the
  predicted 1/sqrt(K) coefficient.
* the onset of persistent activity in a one-population LIF network (the folds of the rate
  branch in the coupling scale) against a scipy bracketing of the extrema of J(nu).
* the ring attractor's bump diffusion (theory vs 1,000 simulated trials, n = 64 and 128) and the
  rank-one line attractor (linear: free diffusion; tanh: the amplitude-equation density).
"""

from __future__ import annotations

import time

import numpy as np
from _peers import HERE, machine, write_json


def _siegert(mu, sigma, tau_m=20.0, tau_ref=2.0, v_th=20.0, v_r=10.0):
    from scipy.integrate import quad
    from scipy.special import erfcx

    integral = quad(lambda u: erfcx(-u), (v_r - mu) / sigma, (v_th - mu) / sigma, epsabs=0, epsrel=1e-13)[0]
    return 1e3 / (tau_ref + tau_m * np.sqrt(np.pi) * integral)


def _brunel_roots(g, eta):
    from scipy.optimize import brentq

    def excess(nu):
        mu = 0.02 * ((1000 - 250 * g) * 0.1 * nu + 1000 * eta)
        sigma = np.sqrt(0.02 * ((1000 + 250 * g * g) * 0.01 * nu + 100 * eta))
        return _siegert(mu, sigma) - nu

    grid = np.concatenate([[0.0], np.logspace(-10, np.log10(499.9), 120)])
    vals = [excess(x) for x in grid]
    return [brentq(excess, a, b, xtol=1e-13, rtol=1e-15)
            for a, b, va, vb in zip(grid[:-1], grid[1:], vals[:-1], vals[1:]) if va * vb < 0]


def main():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from scipy.optimize import brentq, minimize_scalar

    from mfjax import LIF, dynamics
    from mfjax.populations import Network, brunel_a, solve_rates

    result = {"machine": machine()}

    # ---- Brunel grid from the default start -------------------------------------------------
    g, eta = np.meshgrid(np.linspace(0, 10, 101), np.linspace(0, 10, 101), indexing="ij")
    sweep = jax.jit(jax.vmap(lambda a, b: solve_rates(brunel_a(a, b), on_failure="return")))
    t0 = time.perf_counter()
    sol = jax.block_until_ready(sweep(jnp.asarray(g.ravel()), jnp.asarray(eta.ravel())))
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    sol = jax.block_until_ready(sweep(jnp.asarray(g.ravel()), jnp.asarray(eta.ravel())))
    warm = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    sample = rng.choice(np.where(eta.ravel() > 0)[0], 40, replace=False)
    t0 = time.perf_counter()
    deviations, bistable = [], 0
    for k in sample:
        roots = _brunel_roots(g.ravel()[k], eta.ravel()[k])
        rate = float(sol.rates[k, 0])
        bistable += len(roots) > 1
        deviations.append(min(abs(rate / r - 1) if r > 0 else abs(rate) for r in roots) if roots else (0.0 if rate < 1e-10 else 1.0))
    peer = (time.perf_counter() - t0) / len(sample) * g.size
    result["brunel_grid_default_start"] = {
        "points": int(g.size), "converged": int(jnp.sum(sol.converged)), "max_steps_used": int(jnp.max(sol.num_steps)),
        "mfjax_s": warm, "mfjax_first_call_s": first, "peer_scipy_bracketing_extrapolated_s": peer,
        "speedup": peer / warm, "sample_max_rel_deviation_from_bracketed_root": float(max(deviations)),
        "sample_points_with_several_roots": int(bistable),
        "before_this_change": "359 of 10,201 points failed from the default start (Newton 2-cycles)",
    }

    # ---- balanced state ----------------------------------------------------------------------
    spec = dynamics.BalancedNetwork([[2.0, -10.0], [3.0, -10.0]], [2.0, 1.6], 20.0, fractions=[[1.0, 0.25], [1.0, 0.25]])
    lim = dynamics.balanced_limit(spec)
    rows = []
    for K in (1e3, 1e4, 1e5, 1e6):
        s = solve_rates(spec.network(K))
        rates = np.asarray(s.rates)
        rows.append({"K": K, "rates_hz": rates.tolist(), "steps": int(s.num_steps),
                     "rel_distance_to_limit": (np.abs(rates / np.asarray(lim.rates) - 1)).tolist(),
                     "sqrtK_times_distance": ((rates - np.asarray(lim.rates)) * np.sqrt(K)).tolist()})
    result["balanced_lif"] = {"limit_rates_hz": np.asarray(lim.rates).tolist(),
                              "predicted_sqrtK_coefficient": np.asarray(lim.correction).tolist(), "K": rows}

    # ---- onset of persistent activity --------------------------------------------------------
    net = Network(LIF(20.0, 2.0, 20.0, 10.0), [[1000.0]], [[0.01]], K_ext=[1000.0], J_ext=[0.1], nu_ext=[8.4])
    t0 = time.perf_counter()
    pa = dynamics.persistent_activity(net, "J", (0.5, 5.0))
    jax.block_until_ready(pa.scale)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    pa = dynamics.persistent_activity(net, "J", (0.5, 5.0))
    jax.block_until_ready(pa.scale)
    warm = time.perf_counter() - t0

    def coupling(nu):
        def excess(J):
            mu = 0.02 * (1000 * J * nu + 1000 * 0.1 * 8.4)
            sigma = np.sqrt(0.02 * (1000 * J * J * nu + 1000 * 0.01 * 8.4))
            return _siegert(mu, sigma) - nu
        return brentq(excess, 1e-6, 0.2, xtol=1e-16, rtol=1e-15)

    t0 = time.perf_counter()
    onset = minimize_scalar(lambda y: coupling(np.exp(y)), bounds=(np.log(5.0), np.log(100.0)), method="bounded",
                            options={"xatol": 1e-7})
    offset = minimize_scalar(lambda y: -coupling(np.exp(y)), bounds=(np.log(0.2), np.log(1.0)), method="bounded",
                             options={"xatol": 1e-7})
    peer = time.perf_counter() - t0
    result["persistent_activity_fold"] = {
        "J_onset_mV": 0.01 * float(pa.scale[0]), "J_offset_mV": 0.01 * float(pa.scale[1]),
        "scipy_J_onset_mV": float(onset.fun), "scipy_J_offset_mV": float(-offset.fun),
        "rel_difference": [abs(0.01 * float(pa.scale[0]) / onset.fun - 1), abs(0.01 * float(pa.scale[1]) / -offset.fun - 1)],
        "mfjax_s": warm, "mfjax_first_call_s": first, "peer_scipy_bracketing_s": peer,
        "note": "mfjax locates both folds and their gradients in one branch; scipy needs the fold's bracket",
    }

    # ---- ring and line attractors --------------------------------------------------------------
    ring = dynamics.RingNetwork(J0=2.0, J2=6.0, I0=1.0)
    diffusion = {}
    for n in (64, 128):
        D = float(dynamics.bump_diffusion(ring, n, 0.3))
        t0 = time.perf_counter()
        times, rates = dynamics.simulate_ring(jax.random.PRNGKey(1), ring, n, 1000.0, dt=0.5, noise=0.3, trials=1000, keep=100)
        shift = np.unwrap(2 * np.asarray(dynamics.bump_position(rates)), axis=1) / 2
        final = shift[:, -1] ** 2 / (2 * float(times[-1]))
        diffusion[str(n)] = {"theory_rad2_per_ms": D, "simulated": float(final.mean()),
                             "simulated_stderr": float(final.std() / np.sqrt(1000)), "sim_s": time.perf_counter() - t0}
    result["ring_bump_diffusion_noise_0.3"] = diffusion

    rng = np.random.default_rng(0)
    m = rng.normal(size=200)
    n_raw = m + 0.5 * rng.normal(size=200)
    n_vec = n_raw * 200 / np.dot(n_raw, m)
    line = dynamics.rank_one_line(m, n_vec, noise=0.5)
    times, kappa = dynamics.simulate_rank_one(jax.random.PRNGKey(0), line, 500.0, dt=0.5, trials=1000, kappa0=0.3, keep=50)
    sq = (np.asarray(kappa)[:, -1] - 0.3) ** 2 / (2 * float(times[-1]))
    tanh = dynamics.rank_one_line(m, 1.3 * n_vec, noise=0.6, phi="tanh")
    grid = np.linspace(-2, 2, 801)
    p = np.asarray(dynamics.amplitude_density(tanh, grid))
    _, k2 = dynamics.simulate_rank_one(jax.random.PRNGKey(1), tanh, 20000.0, dt=0.5, trials=50, kappa0=0.5, keep=20)
    k2 = np.asarray(k2)[:, 100:]
    result["rank_one_line"] = {
        "linear_D_theory": float(line.diffusion), "linear_D_simulated": float(sq.mean()),
        "linear_D_stderr": float(sq.std() / np.sqrt(1000)),
        "tanh_mean_abs_kappa": {"theory": float(np.trapezoid(np.abs(grid) * p, grid)), "simulated": float(np.abs(k2).mean())},
        "tanh_mean_sq_kappa": {"theory": float(np.trapezoid(grid**2 * p, grid)), "simulated": float((k2**2).mean())},
    }
    write_json(HERE / "results" / "attractors.json", result)
    print(result)


if __name__ == "__main__":
    main()
