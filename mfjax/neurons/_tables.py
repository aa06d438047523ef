"""Generator of the Chebyshev table ``mfjax/data/erfcx_integral_chebyshev.json`` (offline).

``G0(x) = int_0^x erfcx(v) dv`` on ``[0, 8]`` is expanded as ``sum_k c_k T_k(x/4 - 1)``; the
coefficients come from 30-digit mpmath quadrature at Chebyshev points of the first kind
(discrete cosine transform).  Run ``python -m mfjax.neurons._tables`` to regenerate (needs
mpmath; the library itself only reads the JSON).
"""

from __future__ import annotations

import json
from pathlib import Path

INTERVAL = (0.0, 8.0)
NODES = 72


def chebyshev_coefficients(n=NODES, dps=30):
    import mpmath as mp

    with mp.workdps(dps):
        lo, hi = (mp.mpf(v) for v in INTERVAL)
        erfcx = lambda v: mp.exp(v * v) * mp.erfc(v)  # noqa: E731
        ts = [mp.cos(mp.pi * (j + mp.mpf(1) / 2) / n) for j in range(n)]
        xs = [lo + (hi - lo) * (t + 1) / 2 for t in ts]
        vals = [mp.quad(erfcx, [0, x]) for x in xs]
        coeffs = []
        for k in range(n):
            s = mp.fsum(vals[j] * mp.cos(mp.pi * k * (j + mp.mpf(1) / 2) / n) for j in range(n))
            coeffs.append(s * (1 if k == 0 else 2) / n)
        return [float(c) for c in coeffs]


def main():
    coeffs = chebyshev_coefficients()
    while abs(coeffs[-1]) < 1e-18:
        coeffs.pop()
    path = Path(__file__).parents[1] / "data" / "erfcx_integral_chebyshev.json"
    path.write_text(json.dumps({
        "function": "G0(x) = int_0^x erfcx(v) dv",
        "interval": list(INTERVAL),
        "basis": "Chebyshev T_k(2 (x - lo)/(hi - lo) - 1)",
        "source": "30-digit mpmath quadrature, python -m mfjax.neurons._tables",
        "coefficients": coeffs,
    }, indent=1))
    print(f"wrote {len(coeffs)} coefficients to {path}; last |c| = {abs(coeffs[-1]):.2e}")


if __name__ == "__main__":
    main()
