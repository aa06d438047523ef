"""Continuation, fold and Hopf points against closed forms (normal forms, where every number is
known) and their implicit gradients against finite differences."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mfjax.solvers import branch_bifurcations, continuation, locate_fold, locate_hopf, solve_root


def cubic(x, p, params):
    # dx/dt = p + x - x^3/3: folds at (x, p) = (-1, 2/3) and (1, -2/3) (closed form: F = F_x = 0)
    return p + x - x**3 / 3


def hopf_normal_form(z, p, w):
    # dx = p x - w y - x r^2 + 0.3 y^2, dy = (w + 0.1) x + p y - y r^2: the origin is an
    # equilibrium for every p; J(0) = [[p, -w], [w + 0.1, p]] has p +- i sqrt(w (w + 0.1))
    x, y = z
    r2 = x * x + y * y
    return jnp.stack([p * x - w * y - x * r2 + 0.3 * y * y, (w + 0.1) * x + p * y - y * r2])


@pytest.fixture(scope="module")
def cubic_branch():
    return continuation(cubic, jnp.array([-2.0]), 0.0, p_bounds=(-2.0, 2.0), steps=400)


def test_cubic_folds_equal_the_closed_form(cubic_branch):
    br = cubic_branch
    folds, hopfs = branch_bifurcations(cubic, br)
    ok = np.asarray(folds.valid)
    assert ok.sum() == 2 and not np.any(np.asarray(hopfs.valid))
    p = np.sort(np.asarray(folds.p)[ok])
    x = np.sort(np.asarray(folds.x)[ok, 0])
    np.testing.assert_allclose(p, [-2 / 3, 2 / 3], atol=1e-13)
    np.testing.assert_allclose(x, [-1.0, 1.0], atol=1e-12)
    # every valid point is an equilibrium; the middle branch |x| < 1 is unstable (F_x = 1 - x^2)
    v = np.asarray(br.valid)
    assert np.max(np.asarray(br.residual)[v]) < 1e-10 and not bool(br.failed)
    xs = np.asarray(br.x)[v, 0]
    np.testing.assert_array_equal(np.asarray(br.stable)[v], np.abs(xs) > 1)
    # the branch went round both folds and left through p = 2
    assert np.asarray(br.p)[v][-1] >= 2.0 and np.asarray(br.p)[v].min() < -0.66


def test_fold_gradient_matches_finite_differences():
    # dx/dt = p + a x - x^3/3: fold at x = sqrt(a), p = -(2/3) a^{3/2}; dp/da = -sqrt(a)
    F = lambda x, p, a: p + a * x - x**3 / 3  # noqa: E731
    fold_p = lambda a: locate_fold(F, jnp.array([1.1]), -0.6, a).p  # noqa: E731
    a = 1.3
    assert abs(float(fold_p(a)) + 2 / 3 * a**1.5) < 1e-13
    g = float(jax.grad(fold_p)(a))
    h = 1e-5
    fd = (float(fold_p(a + h)) - float(fold_p(a - h))) / (2 * h)
    assert abs(g + math.sqrt(a)) < 1e-12 and abs(g - fd) < 1e-8


def test_hopf_point_frequency_and_gradient():
    br = continuation(hopf_normal_form, jnp.array([0.0, 0.0]), -1.0, 2.0, p_bounds=(-1.0, 1.0), steps=80, ds=0.05)
    folds, hopfs = branch_bifurcations(hopf_normal_form, br, 2.0)
    assert not np.any(np.asarray(folds.valid))
    ok = np.asarray(hopfs.valid)
    assert ok.sum() == 1
    i = int(np.argmax(ok))
    assert abs(float(hopfs.p[i])) < 1e-13 and float(hopfs.residual[i]) < 1e-13
    assert abs(float(hopfs.omega[i]) - math.sqrt(2.0 * 2.1)) < 1e-12
    # stability flips at the Hopf point
    p, st = np.asarray(br.p), np.asarray(br.stable)
    assert np.all(st[p < -1e-9]) and not np.any(st[p > 1e-9])
    # domega/dw = (2w + 0.1) / (2 sqrt(w (w + 0.1)))
    omega = lambda w: locate_hopf(hopf_normal_form, jnp.array([0.0, 0.0]), 0.05, w).omega  # noqa: E731
    g = float(jax.grad(omega)(2.0))
    assert abs(g - 4.1 / (2 * math.sqrt(4.2))) < 1e-12


def test_neutral_saddle_is_not_a_hopf_point():
    # dx = p x + y, dy = x + p y: eigenvalues p +- 1 (real); the sum of the pair is 2p, which
    # changes sign at p = 0 without any oscillation
    F = lambda z, p, _: jnp.stack([p * z[0] + z[1], z[0] + p * z[1]])  # noqa: E731
    br = continuation(F, jnp.array([0.0, 0.0]), -0.5, p_bounds=(-0.5, 0.5), steps=40, ds=0.05)
    _, hopfs = branch_bifurcations(F, br)
    assert not np.any(np.asarray(hopfs.valid))
    assert np.all(np.isnan(np.asarray(hopfs.p)))


def test_stops_with_a_status_where_the_branch_cannot_continue():
    # F = x^2 + p^2 has the isolated solution (0, 0) only: the start converges nowhere else
    F = lambda x, p, _: x**2 + p**2 + 1.0  # noqa: E731  (no real equilibrium at all)
    br = continuation(F, jnp.array([0.3]), 0.0, steps=5)
    assert bool(br.failed) and not np.any(np.asarray(br.valid))


def test_root_solver_reports_failure():
    sol = solve_root(lambda z, _: z**2 + 1.0, jnp.array([0.5]), None, max_steps=20)
    assert not bool(sol.converged)


def test_fold_curve_in_a_second_parameter_equals_the_closed_form():
    from mfjax.solvers import fold_curve

    # dx/dt = p + q x - x^3/3: the fold curve x = sqrt(q), p = -(2/3) q^{3/2}
    F2 = lambda x, p, q, _: p + q * x - x**3 / 3  # noqa: E731
    fold = locate_fold(lambda x, p, pr: F2(x, p, 1.0, pr), jnp.array([1.1]), -0.6)
    curve = fold_curve(F2, fold, 1.0, None, p_bounds=(0.2, 3.0), steps=100, ds=0.02, ds_max=0.1)
    v = np.asarray(curve.valid)
    x, p, q = np.asarray(curve.x)[v, 0], np.asarray(curve.p)[v], np.asarray(curve.q)[v]
    assert not bool(curve.failed) and q.max() >= 3.0
    np.testing.assert_allclose(x, np.sqrt(q), atol=1e-12)
    np.testing.assert_allclose(p, -2 / 3 * q**1.5, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(curve.omega)[v], 0.0)
    assert np.all(np.isnan(np.asarray(curve.p)[~v]))
