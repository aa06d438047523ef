"""Onset of persistent activity in a one-population LIF network: the two folds of the rate branch
as the recurrent coupling J grows, against a scipy bracketing (the extrema of J(nu) along the
self-consistency curve, with the Siegert rate by scipy quadrature); fold gradients against
finite differences; the branch's stability against the slope of the rate map."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.optimize import brentq, minimize_scalar
from scipy_lif import siegert as siegert_hz

from mfjax import LIF
from mfjax.dynamics import persistent_activity, rate_branch
from mfjax.populations import Network

TAU_M, TAU_REF, V_TH, V_R = 20.0, 2.0, 20.0, 10.0
K, K_EXT, J_EXT = 1000.0, 1000.0, 0.1
J0 = 0.01  # the scale p multiplies J0


def network(nu_ext=8.4):
    return Network(LIF(TAU_M, TAU_REF, V_TH, V_R), [[K]], [[J0]], K_ext=[K_EXT], J_ext=[J_EXT], nu_ext=[nu_ext])


def siegert(mu, sigma):
    return siegert_hz(TAU_M, TAU_REF, V_TH, V_R, mu, sigma)


def coupling_on_curve(nu, nu_ext=8.4):
    """The J at which ``nu`` (Hz) is self-consistent: phi(mu(nu, J), sigma(nu, J)) = nu."""
    def excess(J):
        mu = 1e-3 * TAU_M * (K * J * nu + K_EXT * J_EXT * nu_ext)
        sigma = np.sqrt(1e-3 * TAU_M * (K * J * J * nu + K_EXT * J_EXT**2 * nu_ext))
        return siegert(mu, sigma) - nu
    return brentq(excess, 1e-6, 0.2, xtol=1e-16, rtol=1e-15)


@pytest.fixture(scope="module")
def folds():
    return persistent_activity(network(), "J", (0.5, 5.0))


def test_folds_equal_scipy_bracketing(folds):
    assert bool(folds.folds.valid[0]) and bool(folds.folds.valid[1]) and not bool(jnp.any(folds.folds.valid[2:]))
    assert not bool(folds.branch.branch.failed)
    # onset of the high state: local minimum of J(nu) on the upper part of the curve; the low
    # state vanishes at the local maximum on the lower part
    onset = minimize_scalar(lambda y: coupling_on_curve(np.exp(y)), bounds=(np.log(5.0), np.log(100.0)),
                            method="bounded", options={"xatol": 1e-7})
    offset = minimize_scalar(lambda y: -coupling_on_curve(np.exp(y)), bounds=(np.log(0.2), np.log(1.0)),
                             method="bounded", options={"xatol": 1e-7})
    assert float(folds.scale[0]) * J0 == pytest.approx(onset.fun, rel=1e-10)
    assert float(folds.scale[1]) * J0 == pytest.approx(-offset.fun, rel=1e-10)
    assert float(folds.rates[0, 0]) == pytest.approx(np.exp(onset.x), rel=1e-5)
    assert float(folds.rates[1, 0]) == pytest.approx(np.exp(offset.x), rel=1e-5)
    np.testing.assert_allclose(folds.bistable, folds.scale[:2], rtol=0)


def test_branch_points_are_self_consistent_with_the_right_stability(folds):
    rb = folds.branch
    valid = np.asarray(rb.branch.valid)
    scale, rates, stable = np.asarray(rb.scale)[valid], np.asarray(rb.rates)[valid, 0], np.asarray(rb.stable)[valid]
    for k in range(0, valid.sum(), 15):
        assert coupling_on_curve(rates[k]) == pytest.approx(scale[k] * J0, rel=1e-8)
        # 1-d rate dynamics: stable where the map's slope dphi/dnu < 1, i.e. where J(nu) increases
        h = 1e-5 * rates[k]
        slope_up = coupling_on_curve(rates[k] + h) > coupling_on_curve(rates[k] - h)
        assert bool(stable[k]) == slope_up


def test_fold_gradient_equals_finite_differences():
    def onset(nu_ext):
        return persistent_activity(network().replace(nu_ext=jnp.reshape(nu_ext, (1,))), "J", (0.5, 5.0)).scale[0]

    g = jax.grad(onset)(8.4)
    h = 1e-4
    fd = (onset(8.4 + h) - onset(8.4 - h)) / (2 * h)
    assert float(g) == pytest.approx(float(fd), rel=1e-6)
    assert float(g) < 0  # more drive: persistent activity at a weaker coupling


def test_branch_refusals():
    with pytest.raises(ValueError, match="field must be one of"):
        rate_branch(network(), "tau_m", (0.5, 1.0))
    with pytest.raises(ValueError, match="mask must be a boolean"):
        rate_branch(network(), "J", (0.5, 1.0), mask=np.ones(2, bool))
    silent = Network(LIF(TAU_M, TAU_REF, V_TH, V_R), [[K]], [[J0]], K_ext=[K_EXT], J_ext=[J_EXT], nu_ext=[0.0])
    with pytest.raises(ValueError, match="must all be > 0"):
        rate_branch(silent, "J", (0.5, 1.0))
