"""Montbrio-Pazo-Roxin (2015) QIF mean field: fixed points, stability, folds and cusp against
independent references: numpy's companion-matrix roots polished by scipy.optimize.brentq on the
same quartic, finite-difference Jacobians of the vector field (eq. 12 of the paper), and the
change of the number of fixed points across the fold found by brute-force scanning of r."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq

from mfjax import mpr_fixed_points
from scipy.integrate import solve_ivp

from mfjax.populations import mpr_cusp, mpr_fold, mpr_trajectory

PI2 = np.pi**2


def field(r, v, eta, J, delta, I=0.0):  # noqa: E741
    return np.array([delta / np.pi + 2 * r * v, v * v + eta + J * r + I - PI2 * r * r])


def scipy_fixed_points(eta, J, delta):
    """Positive roots of the quartic by a fine sign-change scan and brentq (independent of the
    companion matrix)."""
    p = lambda r: -PI2 * r**4 + J * r**3 + eta * r * r + delta**2 / (4 * PI2)  # noqa: E731
    grid = np.geomspace(1e-6, 10 * (abs(J) + np.sqrt(abs(eta)) + delta + 1), 200001)
    vals = p(grid)
    idx = np.nonzero(np.sign(vals[:-1]) != np.sign(vals[1:]))[0]
    return np.array([brentq(p, grid[i], grid[i + 1], xtol=1e-15, rtol=1e-15) for i in idx])


CASES = [(-5.0, 15.0, 1.0), (-5.0, 5.0, 1.0), (2.0, 5.0, 1.0), (-10.0, 21.0, 2.0), (-1.0, -4.0, 0.5)]


@pytest.mark.parametrize("eta, J, delta", CASES)
def test_fixed_points_equal_scipy_roots_and_numeric_jacobians(eta, J, delta):
    fp = mpr_fixed_points(eta, J, delta)
    ref = scipy_fixed_points(eta, J, delta)
    assert int(fp.count) == len(ref)
    r = np.asarray(fp.r)[: len(ref)]
    np.testing.assert_allclose(r, ref, rtol=1e-12)
    assert float(fp.residual) < 1e-13
    for k, rk in enumerate(ref):
        vk = -delta / (2 * np.pi * rk)
        np.testing.assert_allclose(field(rk, vk, eta, J, delta), 0.0, atol=1e-11)
        eps = 1e-6
        jac = np.column_stack([(field(rk + eps, vk, eta, J, delta) - field(rk - eps, vk, eta, J, delta)) / (2 * eps),
                               (field(rk, vk + eps, eta, J, delta) - field(rk, vk - eps, eta, J, delta)) / (2 * eps)])
        ev = np.sort_complex(np.linalg.eigvals(jac))
        np.testing.assert_allclose(np.sort_complex(np.asarray(fp.eigenvalues[k])), ev, rtol=1e-7, atol=1e-8)
        assert bool(fp.stable[k]) == bool(np.all(ev.real < 0))


def test_bistable_point_has_two_stable_nodes_and_a_saddle():
    """MPR 2015 Fig. 1: for delta = 1, J = 15, eta = -5 a low-activity node and a high-activity
    focus are stable, the middle point a saddle."""
    fp = mpr_fixed_points(-5.0, 15.0, 1.0)
    assert int(fp.count) == 3
    assert list(np.asarray(fp.stable)) == [True, False, True]
    assert np.all(np.asarray(fp.eigenvalues[0]).imag == 0) and np.any(np.asarray(fp.eigenvalues[2]).imag != 0)


def test_fold_changes_the_number_of_fixed_points_and_cusp_is_a_triple_root():
    delta = 1.0
    for r_fold in (0.05, 0.1, 0.5, 1.0):
        eta, J = (float(x) for x in mpr_fold(r_fold, delta))
        p = lambda r: -PI2 * r**4 + J * r**3 + eta * r * r + delta**2 / (4 * PI2)  # noqa: E731
        dp = lambda r: -4 * PI2 * r**3 + 3 * J * r * r + 2 * eta * r  # noqa: E731
        assert abs(p(r_fold)) < 1e-12 * max(1.0, J * r_fold**3) and abs(dp(r_fold)) < 1e-11 * max(1.0, J)
        counts = {len(scipy_fixed_points(eta + s, J, delta)) for s in (-1e-4, 1e-4)}
        assert counts == {1, 3}
    eta_c, J_c, r_c = (float(x) for x in mpr_cusp(delta))
    d2p = -12 * PI2 * r_c**2 + 6 * J_c * r_c + 2 * eta_c
    assert abs(d2p) < 1e-10 * J_c
    assert eta_c == pytest.approx(-np.sqrt(3.0)) and float(mpr_fold(r_c, delta)[1]) == pytest.approx(J_c, rel=1e-14)


def test_implicit_gradients_equal_finite_differences():
    def low_rate(eta):
        return mpr_fixed_points(eta, 15.0, 1.0).r[0]

    g = float(jax.grad(low_rate)(-5.0))
    fd = (float(low_rate(-5.0 + 1e-6)) - float(low_rate(-5.0 - 1e-6))) / 2e-6
    assert g == pytest.approx(fd, rel=1e-6)


def test_batched_and_jitted():
    eta = jnp.linspace(-8.0, 0.0, 5)
    fp = jax.jit(lambda e: mpr_fixed_points(e, 15.0, 1.0))(eta)
    assert fp.r.shape == (5, 3) and fp.count.shape == (5,)
    for k, e in enumerate(np.asarray(eta)):
        np.testing.assert_allclose(np.asarray(fp.r[k])[: int(fp.count[k])], scipy_fixed_points(e, 15.0, 1.0), rtol=1e-12)


def test_bad_input_is_refused_by_name():
    with pytest.raises(ValueError, match="delta"):
        mpr_fixed_points(-5.0, 15.0, 0.0)
    with pytest.raises(ValueError, match="eta_bar"):
        mpr_fixed_points(float("nan"), 15.0, 1.0)
    with pytest.raises(ValueError, match="J"):
        mpr_fixed_points(-5.0, float("inf"), 1.0)
    with pytest.raises(Exception, match="delta"):
        jax.block_until_ready(jax.jit(lambda d: mpr_fixed_points(-5.0, 15.0, d).r)(-1.0))


def test_trajectory_equals_scipy_and_relaxes_to_the_fixed_points():
    """The MPR 2015 Fig. 2 protocol: the bistable network (eta = -5, J = 15, delta = 1) starts in
    its low state, gets I = 3 for 30 tau (eta + I = -2 has one fixed point, a focus) and is left
    alone for 30 tau.  RK4 (dt = 1e-3) vs solve_ivp (DOP853, rtol 1e-12) along the way; the
    trajectory ends on the fixed points mpr_fixed_points gives."""
    dt, steps = 1e-3, 60000
    t = np.arange(steps) * dt
    I = np.where(t < 30.0, 3.0, 0.0)  # noqa: E741
    low = mpr_fixed_points(-5.0, 15.0, 1.0)
    r0, v0 = float(low.r[0]), float(low.v[0])
    r, v = mpr_trajectory(-5.0, 15.0, 1.0, jnp.asarray(I), dt, r0, v0)
    y = np.array([r0, v0])
    checkpoints = []
    for a, b, i_ext in [(0.0, 30.0, 3.0), (30.0, 60.0, 0.0)]:
        sol = solve_ivp(lambda _, s: field(s[0], s[1], -5.0, 15.0, 1.0, i_ext), (a, b), y, method="DOP853",
                        rtol=1e-12, atol=1e-13, dense_output=True)
        y = sol.y[:, -1]
        checkpoints += [(tk, sol.sol(tk)) for tk in (a + 1.0, a + 5.0, b)]
    for tk, ref in checkpoints:
        k = int(round(tk / dt))
        np.testing.assert_allclose([float(r[k]), float(v[k])], ref, rtol=1e-7, atol=1e-9, err_msg=f"t = {tk}")
    driven = mpr_fixed_points(-5.0 + 3.0, 15.0, 1.0)
    # a weakly damped focus: 1.4e-3 from it after 30 tau
    assert int(driven.count) == 1 and float(r[30000]) == pytest.approx(float(driven.r[0]), rel=5e-3)
    stable_r = np.asarray(low.r)[np.asarray(low.stable)]
    assert np.min(np.abs(float(r[-1]) - stable_r) / stable_r) < 1e-3


@pytest.mark.slow  # 25 s (two continuations compiled); fold_curve is also checked on the cubic
def test_continuation_finds_the_mpr_folds_and_follows_the_fold_curve_through_the_cusp():
    # the MPR equations written out here (Montbrio, Pazo & Roxin 2015 eq. 12, tau = 1, Delta = 1)
    from mfjax.solvers import branch_bifurcations, continuation, fold_curve

    def field(x, eta, J, _):
        r, v = x[0], x[1]
        return jnp.stack([1.0 / np.pi + 2 * r * v, v * v + eta + J * r - np.pi**2 * r * r])

    F = lambda x, eta, pr: field(x, eta, 15.0, pr)  # noqa: E731
    low = mpr_fixed_points(-8.0, 15.0, 1.0)
    start = jnp.array([float(low.r[0]), float(low.v[0])])
    br = continuation(F, start, -8.0, None, p_bounds=(-9.0, 0.0), steps=400, ds=0.01, ds_max=0.05)
    folds, _ = branch_bifurcations(F, br)
    eta_folds = np.sort(np.asarray(folds.p)[np.asarray(folds.valid)])
    # closed form: J(r) = 2 pi^2 r + 1/(2 pi^2 r^3) = 15 has two roots, each fold's eta(r)
    J_of_r = lambda r: 2 * np.pi**2 * r + 1 / (2 * np.pi**2 * r**3) - 15.0  # noqa: E731
    r_min = (3 / (4 * np.pi**4)) ** 0.25  # the minimum of J(r)
    roots = [brentq(J_of_r, 1e-3, r_min, xtol=1e-15), brentq(J_of_r, r_min, 10.0, xtol=1e-15)]
    eta_closed = np.sort([-np.pi**2 * r * r - 3 / (4 * np.pi**2 * r * r) for r in roots])
    np.testing.assert_allclose(eta_folds, eta_closed, rtol=1e-10)
    # the fold curve in J: every point on the closed-form fold through its rate, past the cusp
    first = jax.tree_util.tree_map(lambda a: a[0], folds)
    curve = fold_curve(field, first, 15.0, None, p_bounds=(1.0, 30.0), steps=300, ds=0.01, ds_max=0.1, direction=-1.0)
    v = np.asarray(curve.valid)
    r = np.asarray(curve.x)[v, 0]
    eta_r, J_r = mpr_fold(jnp.asarray(r), 1.0)
    np.testing.assert_allclose(np.asarray(curve.p)[v], np.asarray(eta_r), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.asarray(curve.q)[v], np.asarray(J_r), rtol=1e-9)
    # it went round the cusp: both sides of its rate r_c appear
    _, J_c, r_c = mpr_cusp(1.0)
    assert r.min() < float(r_c) < r.max() and np.asarray(curve.q)[v].min() == pytest.approx(float(J_c), rel=1e-3)
