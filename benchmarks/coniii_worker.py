"""coniii side of the inverse-Ising comparison; runs inside coniii's own virtual environment.

Usage: ``python coniii_worker.py TASKS.json OUT.json ARRAYS.npz`` (written by bench_ising.py).
For each task: the +-1 samples ``arrays[<task>]``; runs coniii's Pseudo (pseudo-likelihood)
and, for N <= 9, Enumerate (exact maximum likelihood); returns fields, couplings, seconds.
Never imported by mfjax or its tests.
"""

import json
import sys
import time

import numpy as np
from coniii import solvers
from coniii.utils import vec2mat


def as_fields_couplings(params, n):
    fields, couplings = vec2mat(params, separate_fields=True)  # couplings: symmetric, zero diagonal
    assert fields.shape == (n,)
    return np.asarray(fields).tolist(), np.asarray(couplings).tolist()


def main():
    tasks = json.load(open(sys.argv[1]))
    arrays = np.load(sys.argv[3], allow_pickle=False)
    out = {}
    for name, task in tasks.items():
        samples = np.asarray(arrays[name], float)
        n = samples.shape[1]
        res = {}
        t0 = time.perf_counter()
        params = solvers.Pseudo(samples, iprint=False).solve()
        res["pseudolikelihood"] = {"seconds": time.perf_counter() - t0, **dict(zip(("h", "J"), as_fields_couplings(params, n)))}
        if task.get("enumerate", False):
            t0 = time.perf_counter()
            params = solvers.Enumerate(samples, iprint=False).solve()
            res["enumerate"] = {"seconds": time.perf_counter() - t0, **dict(zip(("h", "J"), as_fields_couplings(params, n)))}
        out[name] = res
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
