"""Pseudo-arclength continuation of equilibria of dx/dt = F(x, p) with fold and Hopf points.

Branch (Keller 1977; Kuznetsov, *Elements of Applied Bifurcation Theory*, 3rd ed. 2004, ch. 10;
Allgower & Georg 1990).  With ``y = (x, p)`` and the unit tangent ``t`` of the curve
``F(y) = 0``, one step of length ``ds`` predicts ``y + ds t`` and corrects by Newton's method on

    F(x, p) = 0,        t . (y - y_pred) = 0,

then takes the new tangent from ``[[F_x, F_p], [t_old^T]] t_new = (0, 1)`` (normalised; the
last row keeps the direction).  A step whose corrector fails, or that turns the tangent by
more than ``max_turn`` radians, is halved and retried; ``ds`` grows 1.5x after easy steps, up
to ``ds_max``.  The branch stops at its first point outside ``p_bounds`` (kept), or (status ``failed``) where
``ds`` falls below ``ds_min``: every point carries its own status, the points after a stop
are repeats marked ``valid = False``.

Test functions (Kuznetsov sec. 10.2): a **fold** (limit point) where the tangent's
``p``-component ``t_p`` changes sign; a **Hopf** point where the bialternate-product
determinant ``det(2 F_x (.) I) = prod_{i<j} (lambda_i + lambda_j)`` does (for n = 2 the trace),
with a complex pair at one of the bracketing points (a real pair +-a, a neutral saddle, is
not a Hopf point: its augmented system below has no solution with omega > 0).  Points are then located to machine precision by Newton's method on the
minimally augmented (standard) systems

    fold:  F = 0,  F_x v = 0,              c . v = 1            (unknowns x, p, v)
    Hopf:  F = 0,  F_x a + omega b = 0,  F_x b - omega a = 0,  c . a = 1,  c . b = 0
                                                                (unknowns x, p, a, b, omega)

(``a + i b`` the eigenvector of ``i omega``; Kuznetsov sec. 10.2.1-2, Moore & Spence 1980),
whose solutions are differentiable in every other parameter of ``F`` by the implicit function
theorem (:func:`mfjax.solvers.solve_root`).  Units are those of ``x``, ``p`` and ``F``
(``omega`` in radians per unit of time of ``F``).
"""

from __future__ import annotations

from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp

from .._checks import as_int, as_checked_array
from ._root import solve_root

__all__ = [
    "Branch",
    "Bifurcation",
    "continuation",
    "equilibrium",
    "locate_fold",
    "locate_hopf",
    "branch_bifurcations",
    "BifurcationCurve",
    "fold_curve",
    "hopf_curve",
]


class Branch(eqx.Module):
    """A branch of equilibria from :func:`continuation`; leading axis: the ``steps + 1`` points.

    Attributes:
        x: equilibria, ``(steps + 1, n)``.
        p: the continuation parameter, ``(steps + 1,)``.
        tangent: unit tangents ``(dx, dp)/ds``, ``(steps + 1, n + 1)``.
        eigenvalues: of ``F_x`` at each point, ``(steps + 1, n)`` complex.
        stable: every eigenvalue has a negative real part.
        residual: ``max |F|`` at each point.
        valid: the point is on the branch (False for the repeats after a stop).
        failed: the branch stopped before its end because ``ds`` fell below ``ds_min``
            (a singular point the corrector cannot pass, or a turning point too sharp).
        fold_test, hopf_test: ``t_p`` and the bialternate determinant at each point.
        fold_index, hopf_index: ``i`` where the test changes sign between points ``i`` and
            ``i + 1`` (the first ``max_bifurcations`` of each; -1 fills).
    """

    x: jax.Array
    p: jax.Array
    tangent: jax.Array
    eigenvalues: jax.Array
    stable: jax.Array
    residual: jax.Array
    valid: jax.Array
    failed: jax.Array
    fold_test: jax.Array
    hopf_test: jax.Array
    fold_index: jax.Array
    hopf_index: jax.Array


class Bifurcation(eqx.Module):
    """A fold or Hopf point located by :func:`locate_fold` / :func:`locate_hopf`.

    Attributes:
        x: the equilibrium at the bifurcation, ``(..., n)``.
        p: the parameter value.
        omega: the Hopf frequency (radians per unit time; 0 for a fold).
        vector: the critical eigenvector (fold: ``v``; Hopf: ``a + i b``), complex.
        converged, residual, num_steps: the Newton status (max |G| of the augmented system).
        valid: converged (and, for Hopf, ``omega > 0``); a slot of
            :func:`branch_bifurcations` without a detection is not valid.
    """

    x: jax.Array
    p: jax.Array
    omega: jax.Array
    vector: jax.Array
    converged: jax.Array
    residual: jax.Array
    num_steps: jax.Array
    valid: jax.Array


def _jac_x(F, x, p, params):
    return jax.jacfwd(F, argnums=0)(x, p, params)


def _bialternate_det(A):
    """``det(2 A (.) I) = prod_{i<j} (lambda_i + lambda_j)`` (Kuznetsov sec. 10.2.2, eq. 10.43)
    from the bialternate product of ``A`` with the identity, an ``m x m`` matrix,
    ``m = n (n - 1)/2``.  For n = 2 it is the trace."""
    n = A.shape[-1]
    if n < 2:
        return jnp.ones(A.shape[:-2], A.dtype)
    pairs = [(i, j) for i in range(1, n) for j in range(i)]
    rows = []
    for (p, q) in pairs:
        row = []
        for (r, s) in pairs:
            if r == p and s == q:
                v = A[p, p] + A[q, q]
            elif r == p and s != q:
                v = A[q, s]
            elif r != p and s == q:
                v = A[p, r]
            elif r == q:
                v = -A[p, s]
            elif s == p:
                v = -A[q, r]
            else:
                v = jnp.zeros((), A.dtype)
            row.append(v)
        rows.append(jnp.stack(row))
    return jnp.linalg.det(jnp.stack(rows))


def equilibrium(F: Callable, x0, p, params, **kwargs):
    """The equilibrium ``F(x, p, params) = 0`` near ``x0`` (Newton; implicit gradients in
    ``p`` and ``params``): a :class:`mfjax.solvers.FixedPointSolution`."""
    return solve_root(lambda x, pp: F(x, pp[0], pp[1]), jnp.asarray(x0), (p, params), **kwargs)


def continuation(
    F: Callable,
    x0,
    p0,
    params=None,
    *,
    p_bounds=(-jnp.inf, jnp.inf),
    steps: int = 200,
    ds: float = 0.01,
    ds_min: float = 1e-8,
    ds_max: float = 0.05,
    direction: float = 1.0,
    max_turn: float = 0.3,
    max_newton: int = 12,
    max_bifurcations: int = 4,
    tol: float | None = None,
) -> Branch:
    """Follow the equilibria of ``dx/dt = F(x, p, params)`` in ``p`` by pseudo-arclength steps.

    Args:
        F: pure ``F(x, p, params) -> (n,)`` (a map ``x = f(x)`` is ``F = f(x) - x``).
        x0: a guess of the equilibrium at ``p0``, shape ``(n,)`` (corrected first).
        p0: the starting parameter value (a scalar).
        params: pytree of the other parameters of ``F``.
        p_bounds: ``(p_min, p_max)``; the branch stops on leaving it.
        steps: number of continuation steps (the branch has ``steps + 1`` points).
        ds, ds_min, ds_max: initial, smallest and largest arclength step in ``(x, p)``.
        direction: +1 starts towards increasing ``p``, -1 towards decreasing.
        max_turn: largest angle (radians) between successive tangents.
        max_newton: corrector iterations per step.
        max_bifurcations: detection slots for folds and for Hopf points.
        tol: corrector tolerance ``max |F| <= tol (1 + max |x|)``; default 1e-10 in float64,
            1e-5 in float32.

    Returns:
        :class:`Branch`; never raises inside ``jit`` (the status is in ``valid``/``failed``).
        Locate the detected points with :func:`branch_bifurcations`.

    Example:
        >>> F = lambda x, p, _: p + x - x**3 / 3          # folds at p = -+2/3
        >>> br = continuation(F, jnp.array([-2.0]), 0.0, p_bounds=(-2, 2), steps=300)
        >>> folds, hopfs = branch_bifurcations(F, br)
    """
    steps = as_int("steps", steps, minimum=1)
    max_newton = as_int("max_newton", max_newton, minimum=1)
    max_bifurcations = as_int("max_bifurcations", max_bifurcations, minimum=1)
    for name, v in (("ds", ds), ("ds_min", ds_min), ("ds_max", ds_max), ("max_turn", max_turn)):
        as_checked_array(name, v, positive=True)
    if not ds_min <= ds <= ds_max:
        raise ValueError(f"need ds_min <= ds <= ds_max, got {ds_min}, {ds}, {ds_max}")
    if direction not in (1, -1, 1.0, -1.0):
        raise ValueError(f"direction must be +1 or -1, got {direction!r}")
    p_lo, p_hi = (float(b) for b in p_bounds)
    if not p_lo < p_hi:
        raise ValueError(f"p_bounds must be (p_min, p_max) with p_min < p_max, got {p_bounds}")
    x0 = jnp.asarray(x0, jnp.result_type(float, x0))
    if x0.ndim != 1:
        raise ValueError(f"x0 must have shape (n,), got {x0.shape}")
    as_checked_array("x0", x0)
    as_checked_array("p0", p0)
    dtype = x0.dtype
    n = x0.size
    if tol is None:
        tol = 1e-10 if jnp.finfo(dtype).bits >= 64 else 1e-5
    params = jax.lax.stop_gradient(params)

    def G(y):
        return F(y[:n], y[n], params)

    def full_jac(y):
        return jax.jacfwd(G)(y)

    def tangent(y, t_old):
        A = jnp.concatenate([full_jac(y), t_old[None]], axis=0)
        t = jnp.linalg.solve(A, jnp.zeros(n + 1, dtype).at[n].set(1.0))
        return t / jnp.linalg.norm(t)

    def small(r, y):
        return jnp.max(jnp.abs(r)) <= tol * (1.0 + jnp.max(jnp.abs(y[:n])))

    def correct(y_pred, t):
        def body(state):
            y, k, _ = state
            r = jnp.concatenate([G(y), jnp.zeros(1, dtype)])
            r = r.at[n].set(jnp.dot(t, y - y_pred))
            A = jnp.concatenate([full_jac(y), t[None]], axis=0)
            dy = -jnp.linalg.solve(A, r)
            y_new = y + jnp.where(jnp.isfinite(dy), dy, jnp.nan)
            return y_new, k + 1, small(G(y_new), y_new) & (jnp.max(jnp.abs(dy)) <= 1e3 * tol * (1 + jnp.max(jnp.abs(y_new))))

        def cond(state):
            y, k, done = state
            return (~done) & (k < max_newton) & jnp.all(jnp.isfinite(y))

        y, k, done = jax.lax.while_loop(cond, body, (y_pred, jnp.asarray(0), jnp.asarray(False)))
        return y, k, done & jnp.all(jnp.isfinite(y))

    # the starting point: Newton at fixed p0, then the tangent pointing along `direction`
    p0 = jnp.asarray(p0, dtype)
    start = equilibrium(F, x0, p0, params)
    y0 = jnp.concatenate([start.value, p0[None]])
    t0 = tangent(y0, jnp.zeros(n + 1, dtype).at[n].set(direction))
    ok0 = start.converged

    def one_step(carry, _):
        y, t, h, alive, failed = carry

        def attempt(state):
            h_try, _, _, _, _ = state
            y_new, k, ok = correct(y + h_try * t, t)
            t_new = tangent(y_new, t)
            turn = jnp.arccos(jnp.clip(jnp.dot(t, t_new), -1.0, 1.0))
            ok = ok & (turn <= max_turn) & jnp.all(jnp.isfinite(t_new))
            return h_try, y_new, t_new, k, ok

        def retry(state):
            h_try, *_ , ok = state
            return (~ok) & (h_try >= ds_min)

        def halve(state):
            return attempt((state[0] / 2,) + state[1:])

        h_out, y_new, t_new, k, ok = jax.lax.while_loop(retry, halve, attempt((h, y, t, 0, False)))
        inside = (y_new[n] >= p_lo) & (y_new[n] <= p_hi)
        step_ok = alive & ok
        new_alive = step_ok & inside
        h_next = jnp.where(k <= 3, jnp.minimum(1.5 * h_out, ds_max), h_out)
        y_out = jnp.where(step_ok, y_new, y)
        t_out = jnp.where(step_ok, t_new, t)
        return (y_out, t_out, jnp.where(step_ok, h_next, h), new_alive, failed | (alive & ~ok)), (y_out, t_out, step_ok)

    init = (y0, t0, jnp.asarray(ds, dtype), ok0, ~ok0)
    (_, _, _, _, failed), (ys, ts, oks) = jax.lax.scan(one_step, init, None, length=steps)
    ys = jnp.concatenate([y0[None], ys])
    ts = jnp.concatenate([t0[None], ts])
    valid = jnp.concatenate([ok0[None], oks])
    xs, ps = ys[:, :n], ys[:, n]

    jacs = jax.vmap(lambda x, p: _jac_x(F, x, p, params))(xs, ps)
    eig = jnp.linalg.eigvals(jacs) if n > 0 else jnp.zeros((steps + 1, 0), complex)
    fold_test = ts[:, n]
    hopf_test = jax.vmap(_bialternate_det)(jacs)
    pair_valid = valid[:-1] & valid[1:]
    fold_change = pair_valid & (jnp.sign(fold_test[:-1]) * jnp.sign(fold_test[1:]) < 0)
    # a Hopf crossing needs a complex pair on at least one side (a neutral saddle +-a has none;
    # locate_hopf then tells the two apart: only a Hopf point has a solution with omega > 0)
    has_pair = jnp.any(jnp.abs(eig.imag) > 1e-8 * (1 + jnp.abs(eig.real)), axis=-1)
    hopf_change = pair_valid & (jnp.sign(hopf_test[:-1]) * jnp.sign(hopf_test[1:]) < 0)
    hopf_change = hopf_change & (has_pair[:-1] | has_pair[1:])
    fold_index = jnp.nonzero(fold_change, size=max_bifurcations, fill_value=-1)[0]
    hopf_index = jnp.nonzero(hopf_change, size=max_bifurcations, fill_value=-1)[0]
    residual = jax.vmap(lambda x, p: jnp.max(jnp.abs(F(x, p, params))))(xs, ps)
    stable = jnp.all(eig.real < 0, axis=-1)
    return Branch(xs, ps, ts, eig, stable, residual, valid, failed, fold_test, hopf_test, fold_index, hopf_index)


def _fold_system(F, n):
    def G(z, args):
        c, params = args
        x, p, v = z[:n], z[n], z[n + 1:]
        J = _jac_x(F, x, p, params)
        return jnp.concatenate([F(x, p, params), J @ v, (jnp.dot(c, v) - 1.0)[None]])

    return G


def _hopf_system(F, n):
    def G(z, args):
        c, params = args
        x, p = z[:n], z[n]
        a, b, omega = z[n + 1:2 * n + 1], z[2 * n + 1:3 * n + 1], z[3 * n + 1]
        J = _jac_x(F, x, p, params)
        return jnp.concatenate([F(x, p, params), J @ a + omega * b, J @ b - omega * a,
                                (jnp.dot(c, a) - 1.0)[None], jnp.dot(c, b)[None]])

    return G


def _critical_vector(J, kind):
    """The eigenvector of ``J`` whose eigenvalue is nearest 0 (fold) or the imaginary axis with
    a positive imaginary part (Hopf), and that eigenvalue."""
    lam, vecs = jnp.linalg.eig(J)
    if kind == "fold":
        score = jnp.abs(lam)
    else:
        score = jnp.abs(lam.real) + jnp.where(lam.imag > 0, 0.0, jnp.inf)
    i = jnp.argmin(score)
    return lam[i], vecs[:, i]


def locate_fold(F: Callable, x, p, params=None, **kwargs) -> Bifurcation:
    """The fold (saddle-node) point of ``dx/dt = F(x, p, params)`` nearest the guess ``(x, p)``.

    Newton on the augmented system ``F = 0, F_x v = 0, c . v = 1`` (module docstring);
    the result's ``x`` and ``p`` carry implicit gradients with respect to ``params``.
    ``kwargs`` go to :func:`mfjax.solvers.solve_root`.
    """
    x = jnp.asarray(x, jnp.result_type(float, x))
    n = x.size
    p = jnp.asarray(p, x.dtype)
    params_s = jax.lax.stop_gradient(params)
    _, v = _critical_vector(_jac_x(F, x, p, params_s), "fold")
    v = v.real if jnp.iscomplexobj(v) else v
    v = v / jnp.linalg.norm(v)
    c = jax.lax.stop_gradient(v)
    z0 = jnp.concatenate([x, p[None], v])
    sol = solve_root(_fold_system(F, n), z0, (c, params), **kwargs)
    z = sol.value
    vec = z[n + 1:].astype(jnp.result_type(z, 1j))
    zero = jnp.zeros((), x.dtype)
    return Bifurcation(z[:n], z[n], zero, vec, sol.converged, sol.residual, sol.num_steps, sol.converged)


def locate_hopf(F: Callable, x, p, params=None, **kwargs) -> Bifurcation:
    """The Hopf point of ``dx/dt = F(x, p, params)`` nearest the guess ``(x, p)``.

    Newton on ``F = 0, F_x a + omega b = 0, F_x b - omega a = 0, c . a = 1, c . b = 0``
    (module docstring), started from the eigenpair nearest the imaginary axis; ``x``, ``p``
    and ``omega`` carry implicit gradients with respect to ``params``.  ``valid`` needs
    ``omega > 0`` (a neutral saddle has no such solution and does not converge).
    """
    x = jnp.asarray(x, jnp.result_type(float, x))
    n = x.size
    if n < 2:
        raise ValueError("a Hopf point needs at least two state variables (x of size >= 2)")
    p = jnp.asarray(p, x.dtype)
    params_s = jax.lax.stop_gradient(params)
    lam, q = _critical_vector(_jac_x(F, x, p, params_s), "hopf")
    c = q.real / jnp.linalg.norm(q.real)
    q = q / jnp.dot(c, q)  # c . a = 1, c . b = 0
    c = jax.lax.stop_gradient(c)
    z0 = jnp.concatenate([x, p[None], q.real, q.imag, jnp.abs(lam.imag)[None]])
    sol = solve_root(_hopf_system(F, n), z0, (c, params), **kwargs)
    z = sol.value
    omega = z[3 * n + 1]
    vec = z[n + 1:2 * n + 1] + 1j * z[2 * n + 1:3 * n + 1]
    valid = sol.converged & (omega > 1e-8 * (1 + jnp.max(jnp.abs(z[:n]))))
    return Bifurcation(z[:n], z[n], omega, vec, sol.converged, sol.residual, sol.num_steps, valid)


def branch_bifurcations(F: Callable, branch: Branch, params=None, **kwargs) -> tuple[Bifurcation, Bifurcation]:
    """Locate every fold and Hopf point that :func:`continuation` detected on ``branch``.

    Each detection slot is refined from the bracketing point nearer the crossing (by linear
    interpolation of the test function); slots without a detection are ``valid = False``.

    Returns:
        ``(folds, hopfs)``, two :class:`Bifurcation` records with a leading axis of
        ``max_bifurcations`` slots.
    """

    def seed(index, test, need_pair):
        i = jnp.maximum(index, 0)
        a, b = test[i], test[i + 1]
        w = jnp.clip(a / jnp.where(a == b, 1.0, a - b), 0.0, 1.0)
        if need_pair:  # start a Hopf search where the complex pair exists (a real pair has no omega)
            pair = jnp.any(jnp.abs(branch.eigenvalues[jnp.stack([i, i + 1])].imag) > 0, axis=-1)
            w = jnp.where(pair[0] & pair[1], w, jnp.where(pair[1], 1.0, 0.0))
        x = (1 - w) * branch.x[i] + w * branch.x[i + 1]
        p = (1 - w) * branch.p[i] + w * branch.p[i + 1]
        return x, p

    def refine(locate, indices, test):
        def one(index):
            x, p = seed(index, test, locate is locate_hopf)
            out = locate(F, x, p, params, **kwargs)
            return eqx.tree_at(lambda b: b.valid, out, out.valid & (index >= 0))

        # lax.map, not vmap: reverse mode through a batched implicit tangent (a batched
        # jnp.linalg.solve inside a custom_jvp) fails to transpose for some F (LIF networks)
        return jax.lax.map(one, indices)

    folds = refine(locate_fold, branch.fold_index, branch.fold_test)
    if branch.x.shape[-1] < 2:  # no Hopf point in one dimension: empty slots
        hopfs = eqx.tree_at(lambda b: (b.valid, b.converged), folds, (folds.valid & False, folds.converged & False))
    else:
        hopfs = refine(locate_hopf, branch.hopf_index, branch.hopf_test)
    return _mask_invalid(folds), _mask_invalid(hopfs)


def _mask_invalid(b: Bifurcation) -> Bifurcation:
    """NaN in ``x``, ``p``, ``omega`` and ``vector`` where the slot is not valid, so that an
    unlocated point can never be read as a number."""
    def nan_where(leaf):
        shape = b.valid.shape + (1,) * (leaf.ndim - b.valid.ndim)
        return jnp.where(b.valid.reshape(shape), leaf, jnp.nan)

    return Bifurcation(nan_where(b.x), nan_where(b.p), nan_where(b.omega), nan_where(b.vector),
                       b.converged, b.residual, b.num_steps, b.valid)


class BifurcationCurve(eqx.Module):
    """A fold or Hopf point continued in a second parameter (:func:`fold_curve`,
    :func:`hopf_curve`); leading axis: the ``steps + 1`` points.

    Attributes:
        x: the equilibrium at each point, ``(steps + 1, n)``.
        p, q: the two parameters (``p`` the first, ``q`` the one continued in).
        omega: the Hopf frequency (0 on a fold curve).
        residual: max |G| of the augmented system; valid: the point is on the curve;
        failed: the continuation stopped (``ds < ds_min``), e.g. at a codimension-2 point where
            the augmented system is singular (a cusp, or a Bogdanov-Takens point where omega -> 0).
        branch: the underlying :class:`Branch` of the augmented system.
    """

    x: jax.Array
    p: jax.Array
    q: jax.Array
    omega: jax.Array
    residual: jax.Array
    valid: jax.Array
    failed: jax.Array
    branch: Branch


def _curve(system, F2, point, q0, params, n, extra, **kwargs):
    """Continue the augmented ``system`` (fold or Hopf) of ``F2(x, p, q, params)`` in q from the
    located ``point``; ``extra`` maps the point to the remaining unknowns and ``c``."""
    c, tail = extra(point)
    z0 = jnp.concatenate([point.x, point.p[None], tail])

    def G(z, q, args):
        return system(lambda x, p, pr: F2(x, p, q, pr), n)(z, args)

    br = continuation(G, z0, q0, (c, params), **kwargs)
    omega = br.x[:, 3 * n + 1] if br.x.shape[1] == 3 * n + 2 else jnp.zeros_like(br.p)
    ok = br.valid
    nan = jnp.nan
    return BifurcationCurve(jnp.where(ok[:, None], br.x[:, :n], nan), jnp.where(ok, br.x[:, n], nan),
                            jnp.where(ok, br.p, nan), jnp.where(ok, omega, nan), br.residual, ok, br.failed, br)


def fold_curve(F2: Callable, fold: Bifurcation, q0, params=None, **kwargs) -> BifurcationCurve:
    """Continue a fold point of ``dx/dt = F2(x, p, q, params)`` (located at ``q = q0`` by
    :func:`locate_fold` on ``F2(x, p, q0, params)``) in the second parameter q: the fold curve
    in the (p, q) plane, by pseudo-arclength continuation (:func:`continuation`, ``kwargs``) of
    the augmented system ``F = 0, F_x v = 0, c . v = 1`` with q free (Kuznetsov 2004 sec. 10.3)."""
    n = fold.x.shape[-1]

    def extra(b):
        v = b.vector.real
        return jax.lax.stop_gradient(v / jnp.dot(v, v)), v / jnp.dot(v, v)

    return _curve(_fold_system, F2, fold, q0, params, n, extra, **kwargs)


def hopf_curve(F2: Callable, hopf: Bifurcation, q0, params=None, **kwargs) -> BifurcationCurve:
    """Continue a Hopf point of ``dx/dt = F2(x, p, q, params)`` (located at ``q = q0`` by
    :func:`locate_hopf`) in q: the Hopf curve in the (p, q) plane (augmented system of
    :func:`locate_hopf` with q free; ``omega`` along the curve).  The curve ends (``failed``)
    where omega -> 0 (a Bogdanov-Takens point)."""
    n = hopf.x.shape[-1]

    def extra(b):
        # rotate the eigenvector a + i b by e^{i phi} so that a . b = 0, then c = a / |a|^2
        # gives the normalisation c . a = 1, c . b = 0 of the augmented system
        a, bb = b.vector.real, b.vector.imag
        phi = 0.5 * jnp.arctan2(-2 * jnp.dot(a, bb), jnp.dot(a, a) - jnp.dot(bb, bb))
        q = b.vector * jnp.exp(1j * phi)
        a, bb = q.real, q.imag
        c = a / jnp.dot(a, a)
        return jax.lax.stop_gradient(c), jnp.concatenate([a, bb, b.omega[None]])

    return _curve(_hopf_system, F2, hopf, q0, params, n, extra, **kwargs)
