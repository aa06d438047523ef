"""Fitting the microcircuit's pathway scalings to target rates; result checked by scipy's root finder."""

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import root

from mfjax import microcircuit
from mfjax.fit import fit_rates, scale_pathways
from mfjax.populations import transfer

# illustrative target (Hz) for L2/3E, L2/3I, L4E, L4I, L5E, L5I, L6E, L6I
TARGET = np.array([1.0, 3.0, 4.0, 6.0, 6.0, 8.0, 1.5, 7.0])


def test_fit_microcircuit_to_target_rates():
    base = microcircuit("pd14", "shift")
    res = fit_rates(lambda s: scale_pathways(base, s), jnp.zeros((8, 8)), TARGET)
    assert res.success and res.max_rel_error <= 0.01
    assert res.loss_history[-1] < res.loss_history[0]
    # independent check: scipy's hybrid Powell root of phi(nu) - nu for the fitted network
    phi = jax.jit(lambda nu: transfer(res.network, nu))
    sol = root(lambda nu: np.asarray(phi(jnp.asarray(nu))) - nu, TARGET, method="hybr", tol=1e-13)
    assert sol.success
    np.testing.assert_allclose(sol.x, np.asarray(res.rates), rtol=1e-9)
    assert np.max(np.abs(sol.x / TARGET - 1)) <= 0.01
