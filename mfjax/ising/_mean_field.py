"""Forward mean-field theories of the Ising model: naive (Weiss-Curie), TAP, Bethe (belief
propagation), their free energies, and the homogeneous-lattice versions with critical points.

Model ``H = -1/2 s.J.s - h.s`` (see :mod:`mfjax.ising._models`); temperatures T = 1/beta in
units of the coupling.  Equations (seed 002, "The Many Faces of Mean Field Theory"):

* naive, eq. 3:     m_i = tanh(beta (h_i + sum_j J_ij m_j))
* TAP, eq. 14:      m_i = tanh(beta (h_i + sum_j J_ij m_j - beta m_i sum_j J_ij^2 (1 - m_j^2)))
* Bethe / BP (Mezard & Montanari 2009, ch. 14): cavity messages
  u_{k->i} = beta^-1 atanh(tanh(beta J_ki) tanh(beta H_{k\\i})),  H_{k\\i} = h_k + sum_{l != i} u_{l->k},
  m_i = tanh(beta (h_i + sum_k u_{k->i})); exact on trees.

All are solved by :func:`mfjax.solvers.solve_fixed_point` (implicit-function-theorem gradients).
"""

from __future__ import annotations

import math
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import as_checked_array, as_int
from ..solvers import solve_fixed_point
from ._models import check_model, model_conditions

__all__ = [
    "METHODS",
    "MagnetizationSolution",
    "magnetization",
    "gibbs_free_energy",
    "variational_free_energy",
    "bethe_free_energy",
    "critical_temperature",
    "lattice_magnetization",
    "onsager_magnetization",
]

METHODS = ("naive", "tap", "bethe")


class MagnetizationSolution(eqx.Module):
    """Mean-field magnetisations and the solver status.

    Attributes:
        m: magnetisations, shape (N,).
        free_energy: the method's free energy at m (naive/TAP: Gibbs G[m] incl. -h.m; Bethe:
            the Bethe free energy), in units of the coupling.
        converged, residual, num_steps: solver status (see ``FixedPointSolution``).
    """

    m: jax.Array
    free_energy: jax.Array
    converged: jax.Array
    residual: jax.Array
    num_steps: jax.Array


def _entropy_terms(m):
    """sum_i [(1+m)/2 ln((1+m)/2) + (1-m)/2 ln((1-m)/2)] (minus the entropy), safe at |m| = 1."""
    p, q = 0.5 * (1.0 + m), 0.5 * (1.0 - m)
    return jnp.sum(jax.scipy.special.xlogy(p, p) + jax.scipy.special.xlogy(q, q))


def gibbs_free_energy(m, J, h, beta, method: str = "naive"):
    """Mean-field Gibbs free energy at fixed field (seed 002 eq. 12, with the -h.m term)::

        G[m] = T sum_i [(1+m_i)/2 ln((1+m_i)/2) + (1-m_i)/2 ln((1-m_i)/2)] - 1/2 m.J.m - h.m
               - (beta/4) sum_ij J_ij^2 (1 - m_i^2)(1 - m_j^2)      (TAP only: Plefka 1982)

    Its stationary points are the naive (TAP) equations; at a solution it is the mean-field
    free energy F_MF(h); among several solutions the lowest is the thermodynamic one.
    """
    t = 1.0 / beta
    g = t * _entropy_terms(m) - 0.5 * m @ (J @ m) - h @ m
    if method == "tap":
        a = 1.0 - m * m
        g = g - 0.25 * beta * a @ ((J * J) @ a)
    return g


def variational_free_energy(g, J, h, beta):
    """Variational (Bogoliubov) free energy of the trial field g (seed 002 eq. 8)::

        F[g] = -T sum_i ln(2 cosh(beta g_i)) - 1/2 m.J.m - h.m + g.m,    m = tanh(beta g),

    an upper bound on the exact free energy -T ln Z, minimal at g = h + J m (eq. 9).
    """
    m = jnp.tanh(beta * g)
    log2cosh = jnp.logaddexp(beta * g, -beta * g)
    return -jnp.sum(log2cosh) / beta - 0.5 * m @ (J @ m) - h @ m + g @ m


def _naive_map(m, p):
    J, h, beta = p
    return jnp.tanh(beta * (h + J @ m))


def _tap_map(m, p):
    J, h, beta = p
    reaction = beta * m * ((J * J) @ (1.0 - m * m))
    return jnp.tanh(beta * (h + J @ m - reaction))


def _bp_fields(U, h):
    """Total local fields h_k + sum_l u_{l->k} from the message matrix U[l, k] = u_{l->k}."""
    return h + jnp.sum(U, axis=0)


def _bp_map(u, p):
    J, h, beta = p
    n = h.shape[0]
    U = u.reshape(n, n)
    cavity = _bp_fields(U, h)[:, None] - U.T  # cavity[k, i] = H_{k\i}
    new = jnp.arctanh(jnp.tanh(beta * J) * jnp.tanh(beta * cavity)) / beta
    return new.reshape(-1)


def _pair_beliefs(J, cavity, beta):
    """<s_i s_j> and the entropy of the BP pair beliefs b_ij ~ exp(beta(J s s' + a s + b s'))."""
    a, b = beta * cavity, beta * cavity.T
    k = beta * J
    states = jnp.stack([k + a + b, -k + a - b, -k - a + b, k - a - b])  # (++, +-, -+, --)
    log_z = jax.scipy.special.logsumexp(states, axis=0, keepdims=True)
    p = jnp.exp(states - log_z)
    corr = p[0] - p[1] - p[2] + p[3]
    entropy = -jnp.sum(jax.scipy.special.xlogy(p, p), axis=0)
    return corr, entropy


def bethe_free_energy(U, J, h, beta):
    """Bethe free energy ``F = U_b - T S_Bethe`` of the BP beliefs of the messages ``U``
    (Yedidia, Freeman & Weiss 2005): ``S_Bethe = sum_edges S_ij + sum_i (1 - d_i) S_i`` with
    pair and single beliefs from the messages; exact on trees.  Edges are the pairs J_ij != 0.
    """
    fields = _bp_fields(U, h)
    m = jnp.tanh(beta * fields)
    cavity = fields[:, None] - U.T
    corr, s_pair = _pair_beliefs(J, cavity, beta)
    edge = J != 0
    p, q = 0.5 * (1.0 + m), 0.5 * (1.0 - m)
    s_single = -(jax.scipy.special.xlogy(p, p) + jax.scipy.special.xlogy(q, q))
    degree = jnp.sum(edge, axis=1)
    energy = -0.5 * jnp.sum(jnp.where(edge, J * corr, 0.0)) - h @ m
    entropy = 0.5 * jnp.sum(jnp.where(edge, s_pair, 0.0)) + jnp.sum((1 - degree) * s_single)
    return energy - entropy / beta


@partial(jax.jit, static_argnames=("method", "max_steps"))
def _solve(J, h, beta, m0, method, max_steps):
    n = h.shape[0]
    params = (J, h, beta)
    if method == "bethe":
        # messages start from the naive-mean-field-like guess u_{k->i} = J_ki m0_k
        u0 = (J * m0[:, None]).reshape(-1)
        sol = solve_fixed_point(_bp_map, u0, params, method="damped", damping=0.5, max_steps=max_steps)
        U = sol.value.reshape(n, n)
        m = jnp.tanh(beta * _bp_fields(U, h))
        f = bethe_free_energy(U, J, h, beta)
    else:
        fmap = _naive_map if method == "naive" else _tap_map
        sol = solve_fixed_point(fmap, m0, params, max_steps=max_steps)
        m = sol.value
        f = gibbs_free_energy(m, J, h, beta, method)
    ok = sol.converged & jnp.all(jnp.isfinite(m))
    return MagnetizationSolution(m=m, free_energy=f, converged=ok, residual=sol.residual, num_steps=sol.num_steps)


def magnetization(J, h=0.0, beta=1.0, method: str = "naive", *, init=None, max_steps=None):
    """Mean-field magnetisations of the Ising model ``H = -1/2 s.J.s - h.s``.

    Args:
        J: symmetric couplings with zero diagonal, shape (N, N).
        h: fields, scalar or (N,).
        beta: inverse temperature (> 0).
        method: ``"naive"`` (seed 002 eq. 3), ``"tap"`` (eq. 14, Onsager reaction term) or
            ``"bethe"`` (belief propagation, damped; exact on trees).
        init: starting magnetisations, shape (N,).  ``None`` solves from three starts
            (``tanh(beta h)``, all +0.9, all -0.9) and returns the converged solution with the
            lowest free energy (the thermodynamically stable one).
        max_steps: iteration cap (default 300 for naive/TAP, 5000 for damped BP).

    Returns:
        :class:`MagnetizationSolution` (``m``, ``free_energy``, ``converged``, ``residual``,
        ``num_steps``).  Works under jit/vmap/grad (gradients by implicit differentiation).

    Example:
        >>> magnetization(curie_weiss_couplings(100), 0.0, 2.0).m  # ~ +-0.9575 (m = tanh(2m))
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    J, h, beta = check_model(J, h, beta, enforce=False)
    n = h.shape[0]
    steps = (5000 if method == "bethe" else 300) if max_steps is None else as_int("max_steps", max_steps, minimum=1)
    valid = model_conditions(J, h, beta).valid()  # traced parameters: folded into converged
    if init is not None:
        as_checked_array("init", init, shape=(n,))
        sol = _solve(J, h, beta, jnp.asarray(init, J.dtype), method, steps)
    else:
        starts = jnp.stack([jnp.tanh(beta * h), jnp.full(n, 0.9, J.dtype), jnp.full(n, -0.9, J.dtype)])
        sols = jax.vmap(lambda m0: _solve(J, h, beta, m0, method, steps))(starts)
        score = jnp.where(sols.converged, sols.free_energy, jnp.inf)
        best = jnp.argmin(score)
        sol = jax.tree_util.tree_map(lambda x: x[best], sols)
    finite = jnp.all(jnp.isfinite(sol.m)) & jnp.isfinite(sol.free_energy)
    return eqx.tree_at(lambda s: s.converged, sol, sol.converged & valid & finite)


# ----------------------------------------------------------------------------------------------
# homogeneous lattices (every site has z neighbours, uniform field)
# ----------------------------------------------------------------------------------------------


def critical_temperature(method: str = "naive", z: int = 4, J: float = 1.0) -> float:
    """Critical temperature of the ferromagnet with coordination z (units of J, k_B = 1).

    * ``"naive"``: T_c = z J (seed 002 eq. 4: slope of tanh(beta z J m) at 0 equals 1);
    * ``"bethe"``: T_c = J / atanh(1/(z-1)) (Bethe 1935; 2.8854 J on the square lattice);
    * ``"onsager"``: T_c = 2 J / ln(1 + sqrt 2) = 2.2692 J, exact for the square lattice
      (Onsager 1944); requires z = 4.
    """
    if method == "naive":
        return z * J
    if method == "bethe":
        if z < 3:
            raise ValueError("the Bethe lattice has a transition only for z >= 3")
        return J / math.atanh(1.0 / (z - 1))
    if method == "onsager":
        if z != 4:
            raise ValueError("Onsager's solution is for the square lattice (z = 4)")
        return 2.0 * J / math.log(1.0 + math.sqrt(2.0))
    raise ValueError(f"method must be 'naive', 'bethe' or 'onsager', got {method!r}")


def onsager_magnetization(T, J: float = 1.0):
    """Spontaneous magnetisation of the 2D square-lattice Ising model (Onsager 1944, Yang 1952):
    ``m = (1 - sinh(2J/T)^-4)^(1/8)`` below T_c = 2.2692 J, 0 above."""
    T = jnp.asarray(T, float)
    x = jnp.sinh(2.0 * J / T) ** -4
    return jnp.where(x < 1.0, jnp.power(jnp.clip(1.0 - x, 0.0, 1.0), 0.125), 0.0)


def _lattice_naive(x, p):
    T, z, J, h = p
    return jnp.tanh((h + z * J * x) / T)


def _lattice_bethe(x, p):
    T, z, J, h = p  # x: cavity field H = h + (z-1) u(H)
    u = T * jnp.arctanh(jnp.tanh(J / T) * jnp.tanh(x / T))
    return h + (z - 1) * u


@partial(jax.jit, static_argnames="method")
def _lattice_point(T, z, J, h, method):
    p = (T, z, J, h)
    if method == "naive":
        sol = solve_fixed_point(_lattice_naive, jnp.ones(1, T.dtype), p, max_steps=500)
        m = sol.value[0]
    else:
        sol = solve_fixed_point(_lattice_bethe, jnp.full(1, z * J, T.dtype), p, max_steps=500)
        H = sol.value[0]
        u = T * jnp.arctanh(jnp.tanh(J / T) * jnp.tanh(H / T))
        m = jnp.tanh((h + z * u) / T)
    return m, sol.converged


def lattice_magnetization(T, method: str = "naive", z: int = 4, J: float = 1.0, h: float = 0.0):
    """Magnetisation of the homogeneous ferromagnet (coordination z, uniform field h >= 0) at
    temperatures T (array): ``"naive"`` m = tanh((h + z J m)/T); ``"bethe"`` the cavity field
    H = h + (z-1) T atanh(tanh(J/T) tanh(H/T)), m = tanh((h + z u)/T); ``"onsager"`` the exact
    2D result (h = 0, z = 4).  The ordered (m >= 0) branch is returned.

    Returns:
        (m, converged) arrays of the shape of T.
    """
    as_checked_array("T", T, positive=True)
    if method == "onsager":
        if h != 0.0 or z != 4:
            raise ValueError("Onsager's magnetisation is for h = 0 on the square lattice (z = 4)")
        m = onsager_magnetization(T, J)
        return m, jnp.ones(m.shape, bool)
    if method not in ("naive", "bethe"):
        raise ValueError(f"method must be 'naive', 'bethe' or 'onsager', got {method!r}")
    T = jnp.asarray(T, jnp.result_type(jnp.asarray(T).dtype, jnp.float32))
    f = jax.vmap(lambda t: _lattice_point(t, jnp.asarray(z, T.dtype), jnp.asarray(J, T.dtype), jnp.asarray(h, T.dtype), method))
    m, ok = f(T.reshape(-1))
    return m.reshape(T.shape), ok.reshape(T.shape)
