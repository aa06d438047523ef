"""Entrainment of the Wilson-Cowan oscillator: the exact 1:1 tongue edges (folds of the
stroboscopic map) against the phase-reduction (Adler) boundary at small amplitude and against a
scipy DOP853 check of the fold conditions; rotation numbers against a scipy simulation."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.special import expit

from mfjax.dynamics import WilsonCowan, adler_tongue, cycle_guess, periodic_orbit, rotation_numbers, tongue_edges, wilson_cowan_field, wilson_cowan_fixed_points

MODEL = WilsonCowan()
P_E = 1.5


def forced(x, u, m):
    return wilson_cowan_field(m, x, P_E + u, 0.0)


def forced_np(t, z, A, f):
    u = P_E + A * math.sin(2 * math.pi * f * t / 1000)
    E, I = z  # noqa: E741
    return [(-E + expit(1.3 * (16 * E - 12 * I + u - 4.0))) / 10.0, (-I + expit(2.0 * (15 * E - 3 * I - 3.7))) / 10.0]


@pytest.fixture(scope="module")
def orbit():
    F = lambda x, m: forced(x, 0.0, m)  # noqa: E731
    x0, T = cycle_guess(F, jnp.array([0.1, 0.1]), MODEL, dt=0.05, transient=20000, window=10000)
    return periodic_orbit(F, x0, T, MODEL)


def strobe_np(x, A, f):
    s = solve_ivp(forced_np, (0, 1000 / f), x, args=(A, f), method="DOP853", rtol=1e-13, atol=1e-15)
    return s.y[:, -1]


@pytest.mark.slow  # 48 s; the exact tongue edge vs scipy's stroboscopic map stays in the main run
def test_small_amplitude_tongue_edges_equal_the_phase_reduction(orbit):
    adler = adler_tongue(forced, orbit, MODEL)
    f0, slope = float(adler.f0), float(adler.slope)
    errors = []
    for A in (0.0025, 0.005):
        e = tongue_edges(forced, orbit, A, MODEL)
        assert bool(e.converged) and float(e.residual) < 1e-10
        lo, hi = float(e.low), float(e.high)
        # each edge's detuning within 1% of Adler's f0 A |c_1|
        assert abs((hi - f0) / (A * slope) - 1) < 0.01 and abs((f0 - lo) / (A * slope) - 1) < 0.01
        errors.append(abs((hi - lo) / (2 * A * slope) - 1))
    # the width's error is second order: halving A quarters it
    assert errors[1] < 1e-3 and 2.5 < errors[1] / errors[0] < 6


def test_exact_edge_is_a_fold_of_the_scipy_stroboscopic_map(orbit):
    A = 0.02
    e = tongue_edges(forced, orbit, A, MODEL)
    for f, x in ((float(e.high), np.asarray(e.state_high)), (float(e.low), np.asarray(e.state_low))):
        assert np.max(np.abs(strobe_np(x, A, f) - x)) < 3e-8  # a locked orbit (the map by RK4, 400 steps: 6e-9)
        h = 1e-6
        M = np.stack([(strobe_np(x + h * d, A, f) - strobe_np(x - h * d, A, f)) / (2 * h) for d in np.eye(2)], axis=1)
        mult = np.linalg.eigvals(M)
        assert np.min(np.abs(mult - 1.0)) < 1e-5, mult  # saddle-node: a multiplier 1


def test_rotation_numbers_lock_inside_and_slip_outside(orbit):
    adler = adler_tongue(forced, orbit, MODEL)
    f0, half = float(adler.f0), 0.05 * float(adler.slope)
    level = float(wilson_cowan_fixed_points(MODEL, P_E, 0.0).state[0, 0])
    f = jnp.array([f0, f0 + 0.5 * half, f0 - 3 * half, f0 + 3 * half])
    rot, locked = rotation_numbers(forced, orbit.state, f, 0.05, MODEL, level=level, periods=60, transient_periods=60)
    rot, locked = np.asarray(rot), np.asarray(locked)
    np.testing.assert_array_equal(locked, [True, True, False, False])
    np.testing.assert_allclose(rot[:2], 1.0)
    assert rot[2] > 1.02 and rot[3] < 0.98
    # the slipping rotation number equals a scipy count of cycles over the same window
    for k in (2, 3):
        fk = float(f[k])
        T = 1000 / fk
        ev = lambda t, z, *a: z[0] - level  # noqa: E731
        ev.direction = 1
        s = solve_ivp(forced_np, (0, 120 * T), np.asarray(orbit.state), args=(0.05, fk), method="DOP853",
                      rtol=1e-11, atol=1e-13, events=ev)
        t = s.t_events[0]
        count = np.sum((t > 60 * T) & (t <= 120 * T))
        assert abs(rot[k] - count / 60) <= 1 / 60 + 1e-12


def test_locking_ratios_find_the_1_to_2_tongue_like_scipy(orbit):
    from mfjax.dynamics import locking_ratios

    f0 = 1000.0 / float(orbit.period)
    level = float(wilson_cowan_fixed_points(MODEL, P_E, 0.0).state[0, 0])
    f = jnp.array([1.0, 2.0, 2.0]) * f0
    A = jnp.array([0.3, 0.6, 0.0])
    p, q = locking_ratios(forced, orbit.state, f, A, MODEL, level=level, max_period=4, periods=40, transient_periods=100)
    # 1:1 at f0, 1:2 at 2 f0 (one cycle per two forcing periods), unforced at 2 f0: no lock
    np.testing.assert_array_equal(np.asarray(q), [1, 2, 0])
    np.testing.assert_array_equal(np.asarray(p), [1, 1, 0])
    # scipy: after a transient, the stroboscopic map at (2 f0, 0.6) has period 2, not 1
    x = np.asarray(orbit.state)
    for _ in range(100):
        x = strobe_np(x, 0.6, 2.0 * f0)
    one = strobe_np(x, 0.6, 2.0 * f0)
    two = strobe_np(one, 0.6, 2.0 * f0)
    assert np.max(np.abs(two - x)) < 1e-6 < np.max(np.abs(one - x))
