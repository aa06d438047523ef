"""Fixed-point solver: closed-form fixed points and their implicit derivatives."""

import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import brentq

from mfjax.solvers import solve_fixed_point


def cosine_map(x, a):
    return a * jnp.cos(x)


def test_dottie_number():
    # x = cos x: the Dottie number 0.7390851332151607 (OEIS A003957)
    sol = solve_fixed_point(cosine_map, jnp.array([0.0]), 1.0, rtol=1e-15, atol=1e-15)
    assert bool(sol.converged)
    assert abs(float(sol.value[0]) - 0.7390851332151607) < 1e-14


def test_implicit_gradient_matches_closed_form():
    # x = a cos x  =>  dx/da = cos x / (1 + a sin x)
    a = 0.8
    x = brentq(lambda t: t - a * math.cos(t), 0.0, 2.0, xtol=1e-15)
    expected = math.cos(x) / (1 + a * math.sin(x))
    g = jax.grad(lambda p: solve_fixed_point(cosine_map, jnp.array([0.5]), p).value[0])(a)
    gf = jax.jacfwd(lambda p: solve_fixed_point(cosine_map, jnp.array([0.5]), p).value[0])(a)
    assert abs(float(g) - expected) < 1e-12 and abs(float(gf) - expected) < 1e-12


def test_vmap_and_jit():
    f = jax.jit(jax.vmap(lambda p: solve_fixed_point(cosine_map, jnp.array([0.5]), p).value[0]))
    a = jnp.array([0.2, 0.5, 0.9])
    for ai, xi in zip(np.asarray(a), np.asarray(f(a))):
        assert abs(xi - ai * math.cos(xi)) < 1e-13


def test_nonconvergence_is_reported_not_raised():
    # x = 2 - x^2 + x ... a map without a reachable fixed point in 3 steps
    sol = solve_fixed_point(lambda x, p: x + p, jnp.array([0.0]), 1.0, max_steps=3)
    assert not bool(sol.converged) and int(sol.num_steps) == 3


def test_follows_relaxation_to_stable_branch():
    # x = 2 tanh(3 x) + 0.1 has an unstable fixed point near 0 and stable ones near +-2;
    # from x0 = 0.05 (above the unstable point) the relaxation dynamics goes to the upper one
    f = lambda x, p: 2.0 * jnp.tanh(3.0 * x) + p  # noqa: E731
    sol = solve_fixed_point(f, jnp.array([0.05]), 0.1)
    upper = brentq(lambda t: t - 2 * math.tanh(3 * t) - 0.1, 1.0, 3.0, xtol=1e-15)
    assert bool(sol.converged) and abs(float(sol.value[0]) - upper) < 1e-12
