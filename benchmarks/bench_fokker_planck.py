"""mfjax's Fokker-Planck engine vs the numpy threshold integration a user would write.

Usage::

    python benchmarks/bench_fokker_planck.py        # -> benchmarks/results/fokker_planck.json

Work (the issue's two speed figures): the EIF stationary rate on a 100 x 100 (mu, sigma) grid
and the EIF rate response at 1000 frequencies (1 Hz .. 10 kHz).  The peer is Richardson's
(2007, Phys. Rev. E 76:021919) threshold integration in plain numpy, vectorised over the grid
(the rate) or over the frequencies (the response), on the uniform grid of 0.01 mV his paper
uses (Scharfetter-Gummel step, no extrapolation).  mfjax runs its default (128 steps per
segment, four grids and Romberg); compile time is reported apart.  Accuracy: both against
``scipy.integrate.solve_ivp`` (DOP853, rtol 1e-12) shooting of the same problem at a few points
(tests/neurons/test_threshold.py has the same reference).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from _peers import HERE, ROOT, best_time, machine, write_json

sys.path.insert(0, str(ROOT / "tests" / "neurons"))

TAU, TREF, VTH, VR, DT, VT = 20.0, 2.0, 30.0, 5.0, 2.0, 15.0
DV = 0.01


def eif_drift(v):
    return -v + DT * np.exp((v - VT) / DT)


def numpy_threshold_integration(mu, sigma, a=None):
    """Rate (Hz) and, for ``a = 2 pi i f/1000`` (1/ms), d nu/d mu (Hz/mV): Richardson's scheme
    on a uniform grid, from v_th down to min(v_r, mu) - 8 sigma (one grid for all points)."""
    mu, sigma = np.broadcast_arrays(np.asarray(mu, float), np.asarray(sigma, float))
    v_lb = min(VR, float(np.min(mu))) - 8 * float(np.max(sigma))
    n = int(round((VTH - v_lb) / DV))
    k_reset = int(round((VTH - VR) / DV))
    c = 2 * TAU / sigma**2
    p0 = np.zeros(mu.shape)
    j0 = np.ones(mu.shape)
    m0 = np.zeros(mu.shape)
    modulated = a is not None
    if modulated:
        a = np.broadcast_to(a, mu.shape)
        pa, ja, pb, jb, pm, jm = (np.zeros(mu.shape, complex) for _ in range(6))
        ja[...] = 1.0
        ma, mb, mm = (np.zeros(mu.shape, complex) for _ in range(3))
    for k in range(n):
        v = VTH - k * DV
        g = 2 * (eif_drift(v - DV / 2) + mu) / sigma**2
        x = g * DV
        decay = np.exp(-x)
        e = np.where(np.abs(x) < 1e-8, 1.0, -np.expm1(-x) / np.where(x == 0, 1.0, x))
        m0 += DV * p0
        p_prev = p0
        p0 = decay * p0 + DV * e * c * j0
        if modulated:
            ma += DV * pa; mb += DV * pb; mm += DV * pm  # noqa: E702
            ja = ja + a * DV * pa
            jb = jb + a * DV * pb
            jm = jm + a * DV * pm
            pa = decay * pa + DV * e * c * ja
            pb = decay * pb + DV * e * c * jb
            pm = decay * pm + DV * e * (c * jm - 2 * p_prev / sigma**2)
        if k + 1 == k_reset:
            j0 = j0 - 1.0
            if modulated:
                jb = jb - 1.0
    nu0 = 1.0 / (TREF + m0)
    if not modulated:
        return 1000 * nu0
    return 1000 * nu0, 1000 * (-nu0 * jm / (ja + np.exp(-a * TREF) * jb))


def main():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    import mfjax
    import test_threshold as T

    neuron = mfjax.EIF(TAU, TREF, VTH, VR, DT, VT)
    mu = np.linspace(0.0, 30.0, 100)[:, None] * np.ones((1, 100))
    sigma = np.ones((100, 1)) * np.linspace(1.0, 10.0, 100)[None, :]
    freqs = np.logspace(0, 4, 1000)

    # --- rate grid ---
    t0 = time.perf_counter()
    jax.block_until_ready(mfjax.firing_rate(neuron, jnp.asarray(mu), jnp.asarray(sigma)))
    first = time.perf_counter() - t0
    t_rate, rates = best_time(lambda: mfjax.firing_rate(neuron, jnp.asarray(mu + 1e-9), jnp.asarray(sigma)), repeat=3)
    t0 = time.perf_counter()
    peer_rates = numpy_threshold_integration(mu, sigma)
    t_peer_rate = time.perf_counter() - t0

    # --- transfer function at 1000 frequencies ---
    mu0, s0 = 12.0, 4.0
    t0 = time.perf_counter()
    jax.block_until_ready(mfjax.rate_response(neuron, mu0, s0, jnp.asarray(freqs)))
    first_tf = time.perf_counter() - t0
    t_tf, h = best_time(lambda: mfjax.rate_response(neuron, mu0 + 1e-9, s0, jnp.asarray(freqs)), repeat=3)
    t0 = time.perf_counter()
    _, peer_h = numpy_threshold_integration(np.full(freqs.shape, mu0), np.full(freqs.shape, s0),
                                            2j * np.pi * freqs / 1000)
    t_peer_tf = time.perf_counter() - t0

    # --- accuracy against scipy shooting ---
    points = [(5.0, 3.0), (12.0, 4.0), (20.0, 2.0), (28.0, 8.0)]
    rate_err, peer_rate_err = [], []
    for m, s in points:
        ref = T.scipy_rate(neuron, m, s)
        rate_err.append(abs(float(mfjax.firing_rate(neuron, m, s)) / ref - 1))
        peer_rate_err.append(abs(float(numpy_threshold_integration(m, s)) / ref - 1))
    check_f = np.array([1.0, 10.0, 100.0, 1000.0])
    h_ref = np.array([T.scipy_response(neuron, mu0, s0, f) for f in check_f])
    h_at = np.asarray(mfjax.rate_response(neuron, mu0, s0, jnp.asarray(check_f)))
    _, h_peer = numpy_threshold_integration(np.full(4, mu0), np.full(4, s0), 2j * np.pi * check_f / 1000)

    result = {
        "machine": machine(),
        "work": {"neuron": "EIF(20, 2, 30, 5, 2, 15)", "rate_grid": "mu 0..30 x sigma 1..10 (100 x 100)",
                 "transfer": "mu 12, sigma 4, 1000 frequencies 1 Hz..10 kHz",
                 "peer": "numpy threshold integration (Richardson 2007), uniform 0.01 mV grid"},
        "rate_grid": {"mfjax_s": t_rate, "mfjax_first_call_s": first, "peer_numpy_s": t_peer_rate,
                      "speedup": t_peer_rate / t_rate,
                      "max_rel_diff_peer_vs_mfjax": float(np.max(np.abs(peer_rates / np.asarray(rates) - 1)[np.asarray(rates) > 1e-3]))},
        "transfer_1000_freqs": {"mfjax_s": t_tf, "mfjax_first_call_s": first_tf, "peer_numpy_s": t_peer_tf,
                                "speedup": t_peer_tf / t_tf,
                                "max_rel_diff_peer_vs_mfjax": float(np.max(np.abs(peer_h / np.asarray(h) - 1)))},
        "accuracy_vs_scipy_solve_ivp": {
            "rate_points_mu_sigma": points, "mfjax_rate_rel_err": rate_err, "peer_rate_rel_err": peer_rate_err,
            "response_freqs_hz": check_f.tolist(),
            "mfjax_response_rel_err": np.abs(h_at / h_ref - 1).tolist(),
            "peer_response_rel_err": np.abs(h_peer / h_ref - 1).tolist(),
        },
    }
    write_json(HERE / "results" / "fokker_planck.json", result)
    print(result)


if __name__ == "__main__":
    main()
