"""The all-to-all QIF network (Montbrio, Pazo & Roxin 2015) simulated by mfjax.spiking against
the exact mean field of the same paper (``mpr_fixed_points``, ``mpr_fold``, ``mpr_trajectory``;
their tests check those against brentq roots and solve_ivp).  At N = 10^4 the finite-size error
is a few percent; for uncoupled neurons it is the Lorentzian tail that N quantiles leave out,
``~ 2 delta/(pi^2 sqrt(delta N/pi))``, so it halves when N grows four-fold.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from mfjax import mpr_fixed_points
from mfjax.populations import mpr_fold, mpr_trajectory
from mfjax.spiking import lorentzian_quantiles, simulate_qif_network

DT = 1e-3
STEPS = 20000  # 20 membrane time constants


def _stationary(eta, J, r0, v0, N=10000, steps=STEPS):
    def one(eta, J, r0, v0):
        res = simulate_qif_network(eta, J, 1.0, jnp.zeros(steps), DT, N=N, r0=r0, v0=v0, v_every=50)
        return res.r[steps // 2:].mean(), res.v[res.v.shape[0] // 2:].mean()

    return jax.vmap(one)(jnp.asarray(eta), jnp.asarray(J), jnp.asarray(r0), jnp.asarray(v0))


def test_quantiles_are_lorentzian():
    q = np.asarray(lorentzian_quantiles(-5.0, 2.0, 999))
    assert np.median(q) == pytest.approx(-5.0, abs=1e-12)
    assert np.percentile(q, 75) - np.median(q) == pytest.approx(2.0, rel=1e-2)


def test_fixed_points_within_finite_size_error():
    """Monostable (eta -2, J 15), both branches of the bistable region (eta -5, J 15: low and
    high start), inhibitory coupling (eta -1, J -5) and uncoupled (eta 1, J 0)."""
    cases = [(-2.0, 15.0, 0.1, 0.0, 0), (-5.0, 15.0, 0.05, -2.0, 0), (-5.0, 15.0, 1.0, -0.15, 2),
             (-1.0, -5.0, 0.5, 0.0, 0), (1.0, 0.0, 0.5, 0.0, 0)]
    eta, J, r0, v0, branch = (np.array(c) for c in zip(*cases))
    r, v = _stationary(eta, J, r0, v0)
    fp = mpr_fixed_points(jnp.asarray(eta), jnp.asarray(J), 1.0)
    r_mf = np.asarray(fp.r)[np.arange(len(cases)), branch]
    v_mf = np.asarray(fp.v)[np.arange(len(cases)), branch]
    assert np.all(np.asarray(fp.stable)[np.arange(len(cases)), branch])
    np.testing.assert_allclose(np.asarray(r), r_mf, rtol=0.05)
    assert np.all(np.abs(np.asarray(v) - v_mf) < 0.01 + 0.04 * np.abs(v_mf)), (np.asarray(v), v_mf)


def test_finite_size_error_shrinks_like_one_over_sqrt_n():
    r_mf = float(mpr_fixed_points(1.0, 0.0, 1.0).r[0])
    errors = [abs(float(_stationary([1.0], [0.0], [0.5], [0.0], N=n, steps=10000)[0][0]) / r_mf - 1)
              for n in (2500, 10000)]
    assert errors[1] < 0.012
    assert errors[0] / errors[1] == pytest.approx(2.0, rel=0.3)


def test_step_input_switches_branch_as_the_mean_field():
    """MPR Fig. 2: a step of input I = 3 from t = 10 to 25 moves the bistable network (eta -5,
    J 15) from the low to the high state, where it stays after the step (hysteresis)."""
    steps = 40000
    t = np.arange(steps) * DT
    I = jnp.asarray(np.where((t >= 10) & (t < 25), 3.0, 0.0))  # noqa: E741
    sim = simulate_qif_network(-5.0, 15.0, 1.0, I, DT, r0=0.08, v0=-1.96, v_every=100)
    r_mf, _ = mpr_trajectory(-5.0, 15.0, 1.0, I, DT, r0=0.0811, v0=-1.962)
    binned = np.asarray(sim.r).reshape(-1, 100).mean(axis=1)
    mf = np.asarray(r_mf[1:]).reshape(-1, 100).mean(axis=1)
    assert np.linalg.norm(binned - mf) / np.linalg.norm(mf) < 0.15
    fp = mpr_fixed_points(-5.0, 15.0, 1.0)
    assert binned[-50:].mean() == pytest.approx(float(fp.r[2]), rel=0.05)  # the high branch
    assert binned[:90].mean() == pytest.approx(float(fp.r[0]), rel=0.08)  # the low branch before


@pytest.mark.slow
def test_bistable_region_matches_the_folds():
    """From a low and a high start the network ends in two states exactly where the mean field
    has two stable fixed points (J = 15: eta between the folds -5.73 and -3.15), up to the grid."""
    etas = np.arange(-7.0, -2.0, 0.5)
    J = np.full_like(etas, 15.0)
    # start on the mean field's upper branch where it exists (else at r = 1.5, v = -0.1)
    fp = mpr_fixed_points(jnp.asarray(etas), jnp.asarray(J), 1.0)
    r_top, v_top = np.asarray(fp.r)[:, -1], np.asarray(fp.v)[:, -1]
    r_top, v_top = np.where(np.isfinite(r_top), r_top, 1.5), np.where(np.isfinite(v_top), v_top, -0.1)
    low = _stationary(etas, J, np.full_like(etas, 0.05), np.full_like(etas, -2.0))[0]
    high = _stationary(etas, J, r_top, v_top)[0]
    two = np.asarray(high) > 1.5 * np.asarray(low)
    r_fold = jnp.linspace(0.02, 3.0, 3000)
    eta_fold, J_fold = (np.asarray(x) for x in mpr_fold(r_fold, 1.0))
    edges = np.sort(eta_fold[np.where(np.diff(np.sign(J_fold - 15.0)))[0]])
    inside = (etas > edges[0]) & (etas < edges[1])
    np.testing.assert_array_equal(two, inside)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"delta": 0.0}, "delta"), ({"dt": 3e-3}, "even"), ({"I": jnp.zeros((2, 3))}, "I"), ({"N": 1}, "N"),
     ({"r0": -1.0}, "r0"), ({"eta_bar": float("nan")}, "eta_bar")],
)
def test_bad_input(kwargs, message):
    args = dict(eta_bar=-5.0, J=15.0, delta=1.0, I=jnp.zeros(10), dt=DT) | kwargs
    with pytest.raises(ValueError, match=message):
        simulate_qif_network(**args)
