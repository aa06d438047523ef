"""Generator of the piecewise-polynomial table ``mfjax/data/siegert_pieces.json`` (offline).

The table holds the scaled primitive of the Siegert integrand (see ``_lif._siegert_primitive``)::

    Phi(y) = e^{-max(y, 0)^2} int_0^y erfcx(-u) du
           = -G0(-y)                       (y <= 0),   G0(x) = int_0^x erfcx(v) dv,
           = 2 D(y) - e^{-y^2} G0(y)       (y > 0),    D: Dawson's function,

as 18 polynomials of degree 19 in a local variable ``s``:

* piece 0, ``y < -8``: ``Phi(y) + log(-y/8)/sqrt(pi)`` as a polynomial in ``s = 64/y^2``, from the
  term-by-term integral of the asymptotic series of erfcx (Abramowitz & Stegun 7.1.23) and
  ``G0(8)``;
* pieces 1..16, ``-8 + k - 1 <= y < -8 + k``: ``Phi`` in ``s = 2 (y - lo) - 1`` on [-1, 1], the
  power form of its degree-19 Chebyshev interpolant (40 Chebyshev points, 30-digit mpmath
  quadrature); on the two unit intervals next to 0 the polynomial is that of ``Phi(y)/y``, so
  that ``Phi`` keeps its relative accuracy as ``y -> 0``;
* piece 17, ``y >= 8``: ``(y/8) Phi(y)`` in ``s = 64/y^2`` from the asymptotic series of Dawson's
  function ``2 D(y) = (1/y) sum_n (2n-1)!! / (2 y^2)^n`` (A&S 7.1.23 with erfcx(-iy)); the
  ``e^{-y^2} G0(y)`` term is below 1e-26 there.

Run ``python -m mfjax.neurons._tables`` to regenerate (needs mpmath; the library itself only
reads the JSON).
"""

from __future__ import annotations

import json
from pathlib import Path

DEGREE = 19
TAIL = 8  # |y| beyond which the asymptotic pieces take over
NODES = 40
DPS = 30


def _phi(mp, y):
    """Phi(y) to ``DPS`` digits (mpmath quadrature)."""
    integral = mp.quad(lambda u: mp.exp(u * u) * mp.erfc(-u), [0, y])
    return mp.exp(-max(y, 0) ** 2) * integral


def _chebyshev_power_form(mp, f, lo, hi):
    """Power-form coefficients (in s on [-1, 1]) of the degree-``DEGREE`` truncation of the
    ``NODES``-point Chebyshev interpolant of f on [lo, hi]."""
    ts = [mp.cos(mp.pi * (j + mp.mpf(1) / 2) / NODES) for j in range(NODES)]
    vals = [f(lo + (hi - lo) * (t + 1) / 2) for t in ts]
    cheb = [
        mp.fsum(vals[j] * mp.cos(mp.pi * k * (j + mp.mpf(1) / 2) / NODES) for j in range(NODES))
        * (1 if k == 0 else 2) / NODES
        for k in range(DEGREE + 1)
    ]
    # T_k in the power basis by the recurrence T_{k+1} = 2 s T_k - T_{k-1}
    t_prev, t_cur = [mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]
    power = [cheb[0]] + [mp.mpf(0)] * DEGREE
    for k in range(1, DEGREE + 1):
        for i, c in enumerate(t_cur):
            power[i] += cheb[k] * c
        nxt = [mp.mpf(0)] * (len(t_cur) + 1)
        for i, c in enumerate(t_cur):
            nxt[i + 1] += 2 * c
        for i, c in enumerate(t_prev):
            nxt[i] -= c
        t_prev, t_cur = t_cur, nxt
    return power


def _double_factorial_odd(mp, n):
    """(2n - 1)!! with (-1)!! = 1."""
    return mp.fprod(range(1, 2 * n, 2)) if n > 0 else mp.mpf(1)


def siegert_pieces():
    import mpmath as mp

    with mp.workdps(DPS):
        sqrt_pi = mp.sqrt(mp.pi)
        g0_tail = -_phi(mp, mp.mpf(-TAIL))  # G0(8)
        # erfcx(v) ~ 1/(sqrt(pi) v) sum_n (-1)^n (2n-1)!!/(2 v^2)^n, integrated from 8 to x:
        # G0(x) = G0(8) + [log(x/8) + sum_{n>=1} a_n (8^{-2n} - x^{-2n})]/sqrt(pi),
        # a_n = (-1)^n (2n-1)!! / (2^n 2n); with s = 64/x^2, x^{-2n} = s^n / 64^n.
        a = [(-1) ** n * _double_factorial_odd(mp, n) / (mp.mpf(2) ** n * 2 * n) / mp.mpf(TAIL * TAIL) ** n
             for n in range(1, DEGREE + 1)]
        neg_tail = [-g0_tail - mp.fsum(a) / sqrt_pi] + [an / sqrt_pi for an in a]
        # (y/8) 2 D(y) = (1/8) sum_n (2n-1)!! (s/128)^n
        pos_tail = [_double_factorial_odd(mp, n) / mp.mpf(2 * TAIL * TAIL) ** n / TAIL
                    for n in range(DEGREE + 1)]
        pieces = [neg_tail]
        for lo in range(-TAIL, TAIL):
            if lo in (-1, 0):
                f = lambda y: _phi(mp, y) / y  # noqa: E731  (the nodes never hit y = 0)
            else:
                f = lambda y: _phi(mp, y)  # noqa: E731
            pieces.append(_chebyshev_power_form(mp, f, mp.mpf(lo), mp.mpf(lo + 1)))
        pieces.append(pos_tail)
        return [[float(c) for c in p] for p in pieces]


def main():
    pieces = siegert_pieces()
    path = Path(__file__).parents[1] / "data" / "siegert_pieces.json"
    text = json.dumps({
        "function": "Phi(y) = exp(-max(y,0)^2) int_0^y erfcx(-u) du, piecewise "
                    "(see mfjax/neurons/_tables.py)",
        "tail": TAIL,
        "degree": DEGREE,
        "source": f"{DPS}-digit mpmath quadrature and asymptotic series, python -m mfjax.neurons._tables",
        "power_coefficients": pieces,
    }, indent=1)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    tmp.replace(path)
    print(f"wrote {len(pieces)} pieces of degree {DEGREE} to {path}")


if __name__ == "__main__":
    main()
