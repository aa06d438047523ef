"""Block-structured DMFT: random rate networks of several cell types (populations).

Network (Aljadeff, Stern & Sharpee 2015, PRL 114:088101; Kadmon & Sompolinsky 2015, PRX 5:
041030): unit i of population a (a fraction alpha_a of the N units) obeys

    dx_i = (-x_i + sum_j J_ij phi_b(x_j) + I_a) dt + sigma_a dW_i,
    J_ij ~ N(J0_ab / N, g_ab^2 / N)  for i in a, j in b,

time in units of the unit time constant.  For N -> inf each x_i of population a is a Gaussian
process with mean ``m_a`` and autocovariance ``Delta_a(tau)`` of ``x - m_a``::

    m_a = sum_b J0_ab alpha_b <phi_b> + I_a,
    (1 - d^2/dtau^2) Delta_a(tau) = sum_b M_ab C_b(tau) + sigma_a^2 delta(tau),   M_ab = alpha_b g_ab^2,

with ``C_b(tau) = <phi_b(x(t)) phi_b(x(t + tau))>`` over the Gaussian pair of variance
``Delta_b(0)`` and covariance ``Delta_b(tau)``.  For P = 1 this is the particle equation of
:mod:`mfjax.dmft._stationary`; for P > 1 it has no energy integral in general (M need not be
symmetric), so the profiles are solved as a boundary-value problem on ``0 <= tau <= T``:
``Delta_a'(0+) = -sigma_a^2 / 2`` (the noise kink) and, at T, the decaying linear tail
``Delta'(T) = -sqrt(K) (Delta(T) - Delta_inf)``, ``K = 1 - M diag(C_b'(Delta_inf))``, where
``Delta_inf,a = sum_b M_ab C_b(Delta_inf)`` and ``C_b' = <phi_b' phi_b'>`` (Price's theorem:
``dC/dDelta``).  Discretisation: Chebyshev collocation in ``s`` with ``tau = l (e^{s L} - 1)``
(nodes dense near tau = 0 where the profile bends, sparse in the exponential tail); Newton's
method with the Jacobian assembled from 4P Jacobian-vector products (the nonlinearity is local
in tau); gradients by the implicit function theorem.

Largest Lyapunov exponent (two replicas linearised, as for P = 1; Sompolinsky et al. 1988):
``lambda = -1 + sqrt(E0)`` with ``E0`` the largest eigenvalue of the operator
``d^2/dtau^2 delta_ab + M_ab C_b'(tau)`` on even functions (Neumann ends).  Its matrix is
Metzler, so ``E0`` is real (Perron-Frobenius).  For a static state it is
``rho(M diag <phi_b'^2>)`` and the transition to chaos without noise is where that spectral
radius reaches 1 (Aljadeff et al. 2015: with phi'(0) = 1 and zero means, ``rho(M) = 1``).
"""

from __future__ import annotations

from functools import lru_cache, partial

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import Conditions, as_checked_array, as_int, is_concrete
from ..solvers import solve_fixed_point
from ._chaos import bracketed_root
from ._nonlinearity import gaussian_nodes, phi_key, resolve_phi
from ._stationary import _pair, _sqrt, _stationary

__all__ = ["BlockNetwork", "block_network", "BlockStatic", "block_static", "BlockStationary",
           "block_stationary", "block_chaos_onset"]

_SCALE = 1.0  # l: the length (time constants) below which the collocation map is uniform
# the pair integrals at every node: trapezoid h = 0.125, |z| <= 8.5 (137 nodes, 2.2x fewer
# pairs than the one-population default); error ~exp(-2 pi d / h) with d = pi / (2 sqrt(Delta0))
# for tanh: < 1e-13 up to Delta0 = 4, 1e-11 at Delta0 = 9
_PAIR_RULE = (0.125, 8.5)


class BlockNetwork(eqx.Module):
    """Parameters of a P-population random rate network (module docstring); build it with
    :func:`block_network`, which validates them.

    Attributes:
        alpha: fractions of the units in each population, (P,), summing to 1.
        g: coupling gains, (P, P): ``Var J_ij = g_ab^2 / N``.
        J0: mean couplings, (P, P): ``E J_ij = J0_ab / N``.
        I: constant inputs, (P,); sigma: white-noise amplitudes, (P,).
        phi: transfer-function key of each population (static).
        valid: the conditions on traced parameters (True for concrete ones, checked when built).
    """

    alpha: jax.Array
    g: jax.Array
    J0: jax.Array
    I: jax.Array
    sigma: jax.Array
    valid: jax.Array
    phi: tuple = eqx.field(static=True)

    @property
    def variance_matrix(self):
        """``M_ab = alpha_b g_ab^2``: the input variance of a from b per unit of C_b."""
        return self.alpha[None, :] * self.g**2

    @property
    def mean_matrix(self):
        """``J0_ab alpha_b``: the mean input of a per unit of <phi_b>."""
        return self.J0 * self.alpha[None, :]

    def scaled(self, s):
        """The same network with every gain g_ab multiplied by ``s``."""
        return eqx.tree_at(lambda n: n.g, self, self.g * s)


def _as_shape(name, x, shape, dtype):
    a = jnp.asarray(x, dtype)
    if a.ndim == 0:
        return jnp.broadcast_to(a, shape)
    if a.shape != shape:
        raise ValueError(f"{name} must be a scalar or have shape {shape} (P = {shape[0]} populations), got {a.shape}")
    return a


def block_network(alpha, g, J0=0.0, I=0.0, sigma=0.0, phi="tanh") -> BlockNetwork:
    """A validated :class:`BlockNetwork`.

    Args:
        alpha: population fractions (P,), each >= 0, summing to 1.
        g: gains (P, P), >= 0 (a scalar: the same for every pair).
        J0: mean couplings (P, P) or a scalar; I: inputs (P,) or a scalar; sigma: noise
            amplitudes (P,) or a scalar, >= 0.
        phi: a name (``"tanh"``, ``"erf"``, ``"relu"``), a ``(phi, Phi)`` pair, or a sequence of
            P of them (one per population).

    Raises ``ValueError`` naming the parameter for concrete invalid values; traced ones are
    carried in ``valid`` and the solvers report them as not converged.
    """
    for name, v in (("alpha", alpha), ("g", g), ("J0", J0), ("I", I), ("sigma", sigma)):
        as_checked_array(name, v, finite=False)  # numeric (the finiteness is a condition below)
    if not isinstance(phi, (str, tuple, list)):
        raise ValueError(f"phi must be a name, a (phi, Phi) pair or a sequence of them, got {phi!r}")
    # Python numbers are weakly typed: float32 arrays with a plain 0.0 stay float32
    dtype = jnp.result_type(*(jnp.asarray(v).dtype for v in (alpha, g, J0, I, sigma)
                              if not isinstance(v, (int, float))), jnp.float32)
    alpha_arr = jnp.asarray(alpha, dtype)
    if alpha_arr.ndim != 1 or alpha_arr.shape[0] < 1:
        raise ValueError(f"alpha must be a 1-d array of population fractions, got shape {alpha_arr.shape}")
    P = alpha_arr.shape[0]
    arrays = {
        "g": _as_shape("g", g, (P, P), dtype), "J0": _as_shape("J0", J0, (P, P), dtype),
        "I": _as_shape("I", I, (P,), dtype), "sigma": _as_shape("sigma", sigma, (P,), dtype),
    }
    conds = Conditions()
    conds.require("alpha", alpha, nonnegative=True)
    conds.where("alpha (the population fractions) must sum to 1",
                jnp.abs(jnp.sum(alpha_arr) - 1.0) > 1e-6 if not is_concrete(alpha)
                else np.abs(np.sum(np.asarray(alpha, float)) - 1.0) > (1e-9 if dtype == jnp.float64 else 1e-6))
    conds.require("g", g, nonnegative=True).require("sigma", sigma, nonnegative=True)
    conds.require("J0", J0).require("I", I)
    if isinstance(phi, str) or (isinstance(phi, tuple) and len(phi) == 2 and callable(phi[0])):
        phi = (phi,) * P
    phi = tuple(phi)
    if len(phi) != P:
        raise ValueError(f"phi must be one transfer function or a sequence of P = {P} of them, got {len(phi)}")
    keys = tuple(phi_key(f) for f in phi)
    valid = jnp.asarray(conds.valid())
    return BlockNetwork(alpha=alpha_arr, valid=valid, phi=keys, **arrays)


def _check_network(net):
    if not isinstance(net, BlockNetwork):
        raise ValueError(f"net must be a BlockNetwork (see mfjax.dmft.block_network), got {type(net).__name__}")


def _per_population(fn, keys, *columns):
    """``stack([fn(phi_b, Phi_b, phi_b', column_b...) for each population b])``."""
    out = []
    for b, key in enumerate(keys):
        phi, prim, dphi, _ = resolve_phi(key)
        out.append(fn(phi, prim, dphi, *(c[b] for c in columns)))
    return jnp.stack(out)


def _gauss(f, m, var):
    z, w = gaussian_nodes(jnp.result_type(m))
    return jnp.sum(w * f(m + _sqrt(var) * z))


@jax.custom_jvp
def _leading_eigenvalue(A):
    """The eigenvalue of largest real part of a real square matrix whose leading eigenvalue is
    real and simple (a Metzler matrix: Perron-Frobenius), as a real number."""
    return jnp.max(jnp.real(jnp.linalg.eigvals(A)))


@_leading_eigenvalue.defjvp
def _leading_eigenvalue_jvp(primals, tangents):
    (A,), (dA,) = primals, tangents
    # first-order perturbation theory: dE = u^T dA v / (u^T v), u and v the left and right
    # eigenvectors of the leading eigenvalue
    vals, right = jnp.linalg.eig(A)
    lvals, left = jnp.linalg.eig(A.T)
    v = jnp.real(right[:, jnp.argmax(jnp.real(vals))])
    u = jnp.real(left[:, jnp.argmax(jnp.real(lvals))])
    return jnp.max(jnp.real(vals)), (u @ dA @ v) / (u @ v)


def _spectral_radius(A):
    """The Perron root of a small nonnegative square matrix (differentiable)."""
    if A.shape[-1] == 1:
        return A[..., 0, 0]
    return _leading_eigenvalue(A)


# ---------------------------------------------------------------- static (fixed-point) states


class BlockStatic(eqx.Module):
    """Fixed-point solution of the noise-free block network (see :func:`block_static`).

    Attributes:
        delta: variance of x in each population, (P,); mean: m_a, (P,).
        radius: ``rho(M diag <phi_b'^2>)``, the squared radius of the bulk of the Jacobian's
            spectrum (spectral radius of the input-variance map; > 1: unstable, chaos).
        lyapunov: ``-1 + sqrt(radius)``, the largest Lyapunov exponent while it is stable.
        converged, residual, num_steps: solver status.
    """

    delta: jax.Array
    mean: jax.Array
    radius: jax.Array
    lyapunov: jax.Array
    converged: jax.Array
    residual: jax.Array
    num_steps: jax.Array


def _static_map(x, p, keys):
    M, Jm, I = p
    P = M.shape[0]
    d, m = jnp.maximum(x[:P], 0.0), x[P:]
    phi2 = _per_population(lambda f, F, df, mb, db: _gauss(lambda u: f(u) ** 2, mb, db), keys, m, d)
    phi1 = _per_population(lambda f, F, df, mb, db: _gauss(f, mb, db), keys, m, d)
    return jnp.concatenate([M @ phi2, Jm @ phi1 + I])


def _radius(M, keys, m, d):
    c = _per_population(lambda f, F, df, mb, db: _gauss(lambda u: df(u) ** 2, mb, db), keys, m, d)
    return _spectral_radius(M * c[None, :])


@partial(jax.jit, static_argnames=("keys", "max_steps"))
def _solve_static(M, Jm, I, x0, keys, max_steps):
    P = M.shape[0]
    f64 = x0.dtype == jnp.float64
    sol = solve_fixed_point(lambda x, p: _static_map(x, p, keys), x0, (M, Jm, I),
                            rtol=1e-13 if f64 else 1e-6, atol=1e-15 if f64 else 1e-7, max_steps=max_steps)
    d, m = jnp.maximum(sol.value[:P], 0.0), sol.value[P:]
    rho = _radius(M, keys, m, d)
    ok = sol.converged & jnp.all(sol.value[:P] >= -1e-9)
    return BlockStatic(delta=d, mean=m, radius=rho, lyapunov=-1.0 + jnp.sqrt(jnp.maximum(rho, 0.0)),
                       converged=ok, residual=sol.residual, num_steps=sol.num_steps)


def block_static(net: BlockNetwork, *, init=None, max_steps: int = 200) -> BlockStatic:
    """The fixed point of the noise-free block network: ``Delta_a = sum_b M_ab <phi_b^2>``,
    ``m_a = sum_b J0_ab alpha_b <phi_b> + I_a`` over ``x ~ N(m_b, Delta_b)``, and its stability
    (``radius < 1``).  Fast and vmappable (2P unknowns): the tool for phase diagrams of the
    transition to chaos.  Noise amplitudes are ignored (with noise there is no static state;
    use :func:`block_stationary`).

    Args:
        net: :class:`BlockNetwork`.
        init: starting point (Delta (P,), m (P,)) concatenated, default Delta = 0, m = I (the
            branch that continues the quiescent state).

    Returns:
        :class:`BlockStatic`; differentiable (implicit function theorem).
    """
    _check_network(net)
    max_steps = as_int("max_steps", max_steps, minimum=1)
    P = net.alpha.shape[0]
    dtype = net.alpha.dtype
    x0 = jnp.concatenate([jnp.zeros(P, dtype), net.I]) if init is None else jnp.asarray(as_checked_array("init", init), dtype)
    if x0.shape != (2 * P,):
        raise ValueError(f"init must be (Delta_1..Delta_P, m_1..m_P), shape ({2 * P},), got {x0.shape}")
    st = _solve_static(net.variance_matrix, net.mean_matrix, net.I, x0, net.phi, max_steps)
    return eqx.tree_at(lambda s: s.converged, st, st.converged & net.valid)


# ------------------------------------------------------------ collocation of the profiles


@lru_cache(maxsize=16)
def _operators(n: int, horizon: float, n_tau: int, tau_max: float):
    """Chebyshev collocation in s in [0, 1], tau = l (exp(s L) - 1), L = log(1 + T / l):
    nodes tau_k (tau_0 = 0, tau_{n-1} = T), first and second tau-derivative matrices, the
    Clenshaw-Curtis weights of int dtau, and barycentric interpolation onto the output grid."""
    j = np.arange(n)
    x = np.cos(np.pi * j / (n - 1))  # 1 .. -1
    c = np.ones(n)
    c[0] = c[-1] = 2.0
    c *= (-1.0) ** j
    X = x[:, None] - x[None, :]
    Dx = np.outer(c, 1.0 / c) / (X + np.eye(n))
    Dx -= np.diag(Dx.sum(axis=1))
    s = 0.5 * (1.0 - x)
    Ds = -2.0 * Dx
    L = np.log1p(horizon / _SCALE)
    tau = _SCALE * np.expm1(s * L)
    dtau_ds = _SCALE * L * np.exp(s * L)
    D1 = Ds / dtau_ds[:, None]
    D2 = D1 @ D1
    # Clenshaw-Curtis weights on x in [-1, 1] (Waldvogel's sum), then dtau = tau'(s) ds, ds = dx / 2
    theta = np.pi * j / (n - 1)
    wx = np.zeros(n)
    for k in range(n):
        total = 0.0
        for m in range(1, (n - 1) // 2 + 1):
            b = 1.0 if 2 * m == n - 1 else 2.0
            total += b * np.cos(2 * m * theta[k]) / (4 * m * m - 1)
        wx[k] = 2.0 * (1.0 - total) / (n - 1)
    wx[0] /= 2.0
    wx[-1] /= 2.0
    w_tau = 0.5 * wx * dtau_ds
    # barycentric interpolation (Chebyshev points of the 2nd kind) in s
    t_out = np.linspace(0.0, tau_max, n_tau)
    s_out = np.log1p(t_out / _SCALE) / L
    x_out = 1.0 - 2.0 * s_out
    bw = (-1.0) ** j
    bw[0] *= 0.5
    bw[-1] *= 0.5
    diff = x_out[:, None] - x[None, :]
    exact = np.isclose(diff, 0.0, atol=1e-15)
    diff = np.where(exact, 1.0, diff)
    B = bw[None, :] / diff
    B = B / B.sum(axis=1, keepdims=True)
    rows = exact.any(axis=1)
    B[rows] = exact[rows].astype(float)
    # Neumann elimination for the Lyapunov operator: boundary values from the interior ones
    inner = np.arange(1, n - 1)
    ends = np.array([0, n - 1])
    G = -np.linalg.solve(D1[np.ix_(ends, ends)], D1[np.ix_(ends, inner)])
    D2N = D2[np.ix_(inner, inner)] + D2[np.ix_(inner, ends)] @ G
    return tau, D1, D2, w_tau, B, t_out, D2N


def _tail_rate(K):
    """``(sqrt(K), ok)``: the principal square root of the small matrix K (Denman-Beavers
    iteration) and whether it exists (every eigenvalue off the closed negative real axis, i.e.
    a decaying tail).  Where it does not, the root is replaced by 0 (a Neumann end) so that
    Newton can continue from a poor iterate; the status of a final solution checks ``ok``."""
    if K.shape[-1] == 1:
        return jnp.sqrt(jnp.maximum(K, 0.0)), K[0, 0] > 0

    def body(_, yz):
        Y, Z = yz
        return 0.5 * (Y + jnp.linalg.inv(Z)), 0.5 * (Z + jnp.linalg.inv(Y))

    Y, _ = jax.lax.fori_loop(0, 40, body, (K, jnp.eye(K.shape[-1], dtype=K.dtype)))
    tol = 1e-8 if K.dtype == jnp.float64 else 1e-4
    ok = jnp.all(jnp.isfinite(Y)) & (jnp.max(jnp.abs(Y @ Y - K)) <= tol * (1.0 + jnp.max(jnp.abs(K))))
    ok = ok & jnp.all(jnp.real(jnp.linalg.eigvals(jax.lax.stop_gradient(K))) > 0)
    return jnp.where(ok, Y, 0.0), ok


class _Config(eqx.Module):
    """Static description of one collocation problem (hashable: a nondiff argument)."""

    keys: tuple = eqx.field(static=True)
    n: int = eqx.field(static=True)
    horizon: float = eqx.field(static=True)

    def ops(self):
        return _operators(self.n, self.horizon, 3, 1.0)


def _unpack(z, P, n):
    return z[: P * n].reshape(P, n), z[P * n: P * n + P], z[P * n + P:]


def _pair_profiles(keys, which, D, d0, m):
    """C_b (``which=0``) or C_b' (``which=1``) at every node of every population, (P, n)."""
    z, w = gaussian_nodes(D.dtype, *_PAIR_RULE)
    return _per_population(lambda f, F, df, Db, d0b, mb: _pair(df if which else f, Db, d0b, mb, z, w), keys, D, d0, m)


def _linear_part(cfg, P, dtype):
    """The constant (linear) part of the residual's Jacobian."""
    _, D1, D2, *_ = cfg.ops()
    n = cfg.n
    A = D2 - np.eye(n)
    A[0], A[-1] = D1[0], D1[-1]
    L = np.zeros((P * n + 2 * P,) * 2)
    for a in range(P):
        L[a * n:(a + 1) * n, a * n:(a + 1) * n] = A
    L[P * n:, P * n:] = np.eye(2 * P)
    return jnp.asarray(L, dtype)


def _nonlinear(z, params, cfg):
    """The residual minus its linear part (:func:`_linear_part`); local in tau (module docstring)."""
    M, Jm, I, sigma = params
    P, n = M.shape[0], cfg.n
    D, dinf, m = _unpack(z, P, n)
    d0 = D[:, 0]
    C = _pair_profiles(cfg.keys, 0, D, d0, m)
    c_inf = _pair_profiles(cfg.keys, 0, dinf[:, None], d0, m)[:, 0]
    cp_inf = _pair_profiles(cfg.keys, 1, dinf[:, None], d0, m)[:, 0]
    Q, _ = _tail_rate(jnp.eye(P, dtype=z.dtype) - M * cp_inf[None, :])
    rows = M @ C
    rows = rows.at[:, 0].set(0.5 * sigma**2)
    rows = rows.at[:, -1].set(Q @ (D[:, -1] - dinf))
    phi1 = _per_population(lambda f, F, df, mb, db: _gauss(f, mb, db), cfg.keys, m, d0)
    return jnp.concatenate([rows.ravel(), -(M @ c_inf), -(Jm @ phi1) - I])


def _residual(z, params, cfg):
    return _linear_part(cfg, params[0].shape[0], z.dtype) @ z + _nonlinear(z, params, cfg)


def _jacobian(z, params, cfg):
    """d residual / dz from 4P Jacobian-vector products: one per population for all nodes
    tau_k > 0 at once (the nonlinear part couples node k of b only to node k of every a), and
    one each for Delta_b(0) (it sets the variance in every C_b), Delta_inf,b and m_b."""
    P, n = params[0].shape[0], cfg.n
    size = z.shape[0]
    eye = jnp.eye(size, dtype=z.dtype)
    colour = jnp.stack([jnp.zeros((P, n), z.dtype).at[b, 1:].set(1.0).ravel() for b in range(P)])
    colour = jnp.concatenate([colour, jnp.zeros((P, 2 * P), z.dtype)], axis=1)
    singles = jnp.concatenate([eye[np.arange(P) * n], eye[P * n:]])
    tangents = jnp.concatenate([colour, singles])
    cols = jax.vmap(lambda t: jax.jvp(lambda y: _nonlinear(y, params, cfg), (z,), (t,))[1])(tangents)
    local = cols[:P, : P * n].reshape(P, P, n)  # [b, a, k] = dN_{a,k} / dDelta_{b,k}, k >= 1
    mask = jnp.asarray(np.diag(np.r_[0.0, np.ones(n - 1)]), z.dtype)
    block = jnp.einsum("bak,kl->akbl", local, mask).reshape(P * n, P * n)
    J = jnp.zeros((size, size), z.dtype).at[: P * n, : P * n].set(block)
    idx = jnp.asarray([b * n for b in range(P)] + list(range(P * n, size)))
    J = J.at[:, idx].add(cols[P:].T)
    return _linear_part(cfg, P, z.dtype) + J


@partial(jax.custom_jvp, nondiff_argnums=(0,))
def _implicit_root(cfg, params, z):
    return z


@_implicit_root.defjvp
def _implicit_root_jvp(cfg, primals, tangents):
    params, z = primals
    d_params, _ = tangents
    _, r_dot = jax.jvp(lambda p: _nonlinear(z, p, cfg), (params,), (d_params,))
    return z, -jnp.linalg.solve(_jacobian(z, params, cfg), r_dot)


def _newton(z0, params, cfg, max_steps):
    """Newton's method with backtracking on |R|^2; status (converged, residual, steps)."""
    f64 = z0.dtype == jnp.float64
    step_tol = 1e-9 if f64 else 1e-3  # relative to max |z|; the step after it is quadratically smaller

    def merit(r):
        return jnp.sum(jnp.where(jnp.isfinite(r), r * r, jnp.inf))

    def step(state):
        z, r, k, _ = state
        dz = -jnp.linalg.solve(_jacobian(z, params, cfg), r)
        dz = jnp.where(jnp.isfinite(dz), dz, 0.0)

        def shorten(s):
            lam = s[0] / 2
            return lam, z + lam * dz, _residual(z + lam * dz, params, cfg)

        def worse(s):
            lam, _, r_new = s
            return (merit(r_new) > (1 - 1e-4 * lam) * merit(r)) & (lam > 2.0**-20)

        small = jnp.max(jnp.abs(dz)) <= step_tol * (1.0 + jnp.max(jnp.abs(z)))
        lam, z_new, r_new = jax.lax.while_loop(worse, shorten, (jnp.asarray(1.0, z.dtype), z + dz,
                                                                 _residual(z + dz, params, cfg)))
        # a full Newton step below the tolerance is the root to that accuracy (the line search
        # cannot lower |R|^2 further once it is at the round-off of the collocation matrices)
        z_new = jnp.where(small, z + dz, z_new)
        return z_new, jnp.where(small, _residual(z + dz, params, cfg), r_new), k + 1, small

    def cond(state):
        return (~state[3]) & (state[2] < max_steps)

    z, r, k, done = jax.lax.while_loop(cond, step, (z0, _residual(z0, params, cfg), jnp.asarray(0),
                                                    jnp.asarray(False)))
    return jax.lax.stop_gradient(z), done & jnp.all(jnp.isfinite(r)), jnp.max(jnp.abs(r)), k


class BlockStationary(eqx.Module):
    """Stationary state of the block DMFT (see :func:`block_stationary`).

    Attributes:
        delta0, delta_inf, mean: per population, (P,).
        tau: output lag grid (n_tau,); delta: Delta_a(tau) on it, (P, n_tau).
        tau_c: correlation time of each population, int (Delta - Delta_inf) / (Delta0 -
            Delta_inf) dtau (0 for a static state), (P,).
        lyapunov: largest Lyapunov exponent (1/time constant).
        static: whether the state is a fixed point (no noise, stable static solution).
        converged, residual, num_steps: solver status.
    """

    delta0: jax.Array
    delta_inf: jax.Array
    mean: jax.Array
    tau: jax.Array
    delta: jax.Array
    tau_c: jax.Array
    lyapunov: jax.Array
    static: jax.Array
    converged: jax.Array
    residual: jax.Array
    num_steps: jax.Array


def _first_guess(M, Jm, I, sigma, keys, tau_nodes, horizon, static):
    """Start of Newton: the one-population DMFT (energy-integral solution of
    :mod:`mfjax.dmft._stationary`) with the Perron gain sqrt(rho(M)), the mean noise and the
    mean coupling (exact for P = 1), its profile given to every population; the means of the
    static solution for P > 1."""
    P = M.shape[0]
    dtype = M.dtype
    g_eff = jnp.sqrt(jnp.maximum(_spectral_radius(M), 0.0))
    s_eff = jnp.sqrt(jnp.mean(sigma**2))
    j_eff, i_eff = jnp.mean(jnp.sum(Jm, axis=1)), jnp.mean(I)
    d0 = 1.0 + 0.5 * s_eff**2 + g_eff**2
    x0 = jnp.stack([d0, 0.0 * d0, i_eff + 0.1])
    one = _stationary(g_eff, s_eff, j_eff, i_eff, x0, keys[0], False, 200, jnp.asarray(horizon, dtype), 2001)
    profile = jnp.interp(jnp.asarray(tau_nodes, dtype), one.tau, one.delta)
    D = jnp.broadcast_to(profile, (P, tau_nodes.shape[0]))
    means = jnp.broadcast_to(one.mean, (P,)) if P == 1 else static.mean
    return jnp.concatenate([D.ravel(), jnp.broadcast_to(one.delta_inf, (P,)), means])


@partial(jax.jit, static_argnames=("keys", "n", "horizon", "n_tau", "tau_max", "max_steps"))
def _block_stationary(M, Jm, I, sigma, keys, n, horizon, n_tau, tau_max, max_steps):
    P = M.shape[0]
    dtype = M.dtype
    cfg = _Config(keys=keys, n=n, horizon=horizon)
    tau_nodes, D1, D2, w_tau, _, _, D2N = cfg.ops()
    _, _, _, _, B, t_out, _ = _operators(n, horizon, n_tau, tau_max)
    params = (M, Jm, I, sigma)
    static = _solve_static(M, Jm, I, jnp.concatenate([jnp.zeros(P, dtype), I]), keys, 200)
    use_static = jnp.all(sigma == 0) & static.converged & (static.radius < 1.0)
    z0 = jax.lax.stop_gradient(_first_guess(M, Jm, I, sigma, keys, tau_nodes, horizon, static))
    # a stable static state needs no profile: skip Newton there (both branches run under vmap)
    z, ok, res, steps = jax.lax.cond(
        use_static, lambda: (z0, jnp.asarray(False), jnp.zeros((), dtype), jnp.asarray(0)),
        lambda: _newton(z0, jax.lax.stop_gradient(params), cfg, max_steps))
    z = _implicit_root(cfg, params, z)
    D, dinf, m = _unpack(z, P, n)
    d0 = D[:, 0]
    span = d0 - dinf
    slack = (1e-8 if dtype == jnp.float64 else 1e-4) * (1.0 + jnp.abs(d0))
    degenerate = jnp.all(span <= slack)
    cp = _pair_profiles(keys, 1, D, d0, m)
    _, decays = _tail_rate(jnp.eye(P, dtype=dtype) - M * _pair_profiles(keys, 1, dinf[:, None], d0, m)[:, 0][None, :])
    genuine = ok & decays & jnp.all(D >= -slack[:, None]) & jnp.all(dinf >= -slack) & jnp.all(span >= -slack) & ~degenerate
    # Lyapunov exponent: largest eigenvalue of d^2/dtau^2 + M diag C'(tau) on even functions
    inner = slice(1, n - 1)
    V = M[:, None, :, None] * jnp.eye(n - 2, dtype=dtype)[None, :, None, :] * cp[None, None, :, inner]
    A = V.reshape(P * (n - 2), P * (n - 2)) + jnp.kron(jnp.eye(P, dtype=dtype), jnp.asarray(D2N, dtype))
    e0 = _leading_eigenvalue(A)
    lam_dyn = -1.0 + jnp.sqrt(jnp.maximum(e0, 0.0))
    tau_c = jnp.sum(jnp.asarray(w_tau, dtype)[None, :] * (D - dinf[:, None]), axis=1) / jnp.where(span > 0, span, 1.0)
    pick = partial(jnp.where, use_static)
    delta_out = jnp.asarray(B, dtype) @ D.T
    return BlockStationary(
        delta0=pick(static.delta, d0), delta_inf=pick(static.delta, dinf), mean=pick(static.mean, m),
        tau=jnp.asarray(t_out, dtype),
        delta=jnp.where(use_static, jnp.broadcast_to(static.delta[:, None], (P, n_tau)), delta_out.T),
        tau_c=pick(0.0, tau_c), lyapunov=pick(static.lyapunov, lam_dyn), static=use_static,
        converged=pick(static.converged, genuine), residual=pick(static.residual, res),
        num_steps=pick(static.num_steps, steps),
    )


def block_stationary(net: BlockNetwork, *, tau_max: float = 30.0, n_tau: int = 601, horizon: float = 120.0,
                     n_nodes: int = 64, max_steps: int = 60) -> BlockStationary:
    """Stationary block DMFT (module docstring): means, autocovariance profiles Delta_a(tau),
    correlation times and the largest Lyapunov exponent, static or chaotic, with or without noise.

    Args:
        net: :class:`BlockNetwork` (any P; any transfer function per population).
        tau_max, n_tau: output grid ``tau = linspace(0, tau_max, n_tau)`` (tau_max <= horizon).
        horizon: T, the end of the collocation interval (time constants); the tail beyond it is
            the linearised decay, so the error is ~exp(-3 kappa T) for the slowest decay rate
            kappa of the profile (small near the transition to chaos: raise T there).
        n_nodes: Chebyshev nodes per population.
        max_steps: Newton step cap.

    Returns:
        :class:`BlockStationary`; differentiable w.r.t. every entry of ``net`` by the implicit
        function theorem (the Lyapunov exponent through the eigenvalue's derivative).

    Accuracy (float64, tanh, measured against the one-population solution): order parameters
    to ~1e-12 away from the transition; see ``tests/dmft/test_blocks.py``.
    """
    _check_network(net)
    n = as_int("n_nodes", n_nodes, minimum=8)
    n_tau = as_int("n_tau", n_tau, minimum=2)
    max_steps = as_int("max_steps", max_steps, minimum=1)
    for name, v in (("tau_max", tau_max), ("horizon", horizon)):
        if not (isinstance(v, (int, float)) and np.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive number, got {v!r}")
    if tau_max > horizon:
        raise ValueError(f"tau_max ({tau_max}) must be <= horizon ({horizon})")
    st = _block_stationary(net.variance_matrix, net.mean_matrix, net.I, net.sigma, net.phi, n, float(horizon),
                           n_tau, float(tau_max), max_steps)
    return eqx.tree_at(lambda s: s.converged, st, st.converged & net.valid)


def block_chaos_onset(net: BlockNetwork, *, s_max: float = 10.0, tol: float = 1e-12, max_iter: int = 100,
                      **stationary_kwargs) -> float:
    """The factor s_c by which every gain g_ab must be scaled for the block network to reach
    the transition to chaos (largest Lyapunov exponent 0).

    Without noise: the static state that continues the quiescent one loses stability,
    ``rho(M diag <phi_b'^2>) = 1`` (Aljadeff, Stern & Sharpee 2015; with phi'(0) = 1, zero
    means and inputs this is ``s_c = 1 / sqrt(rho(alpha_b g_ab^2))`` exactly).  With noise: the
    root of the Lyapunov exponent of :func:`block_stationary` (``stationary_kwargs`` go there).
    Roots by bracketing and Illinois regula falsi (:func:`mfjax.dmft._chaos.bracketed_root`) to a
    bracket of width ``tol``.

    Raises ``ValueError`` for invalid arguments and ``RuntimeError`` if no transition is found
    on [0.01, s_max] or a DMFT solution on the way does not converge.
    """
    _check_network(net)
    if not is_concrete(net):
        raise ValueError("block_chaos_onset needs a concrete network (it searches in Python)")
    for name, value in (("s_max", s_max), ("tol", tol)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    noisy = bool(np.any(np.asarray(net.sigma) > 0))

    def cond(s):
        scaled = net.scaled(s)
        sol = block_stationary(scaled, **stationary_kwargs) if noisy else block_static(scaled)
        if not bool(sol.converged):
            raise RuntimeError(f"the block DMFT did not converge at gain scale s = {s}")
        return float(sol.lyapunov) if noisy else float(sol.radius) - 1.0

    return bracketed_root(cond, 0.01, float(s_max), tol, max_iter, "block network")
