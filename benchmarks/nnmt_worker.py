"""NNMT side of the NNMT comparison; runs inside NNMT's own virtual environment.

Usage: ``python nnmt_worker.py TASK.json OUT.json``.  Reads tasks written by
``bench_nnmt.py`` (mfjax units: ms, mV, Hz), converts to NNMT's SI units, runs NNMT 1.3 and
writes rates/derivatives/timings as JSON.  Never imported by mfjax or its tests.
"""

import json
import sys
import time
import warnings

import numpy as np

import nnmt

MS, MV = 1e-3, 1e-3


def microcircuit_args(net):
    p = len(net["K"])
    return dict(
        J=np.array(net["J"]) * MV,
        K=np.array(net["K"]),
        V_0_rel=net["V_reset"] * MV,
        V_th_rel=net["V_th"] * MV,
        tau_m=net["tau_m"] * MS,
        tau_r=net["tau_ref"] * MS,
        J_ext=np.array(net["J_ext"]).reshape(p, 1) * MV,
        K_ext=np.array(net["K_ext"]).reshape(p, 1),
        nu_ext=np.array([net["nu_ext"]]),
    )


def solve(net, synapses, eps_tol):
    args = microcircuit_args(net)
    if synapses == "delta":
        return nnmt.lif.delta._firing_rates(**args, eps_tol=eps_tol)
    return nnmt.lif.exp._firing_rates(
        **args, tau_s=net["tau_s"] * MS, method=synapses, eps_tol=eps_tol
    )


def timed(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def single_rates(task):
    mu = np.array(task["mu"]) * MV
    sigma = np.array(task["sigma"]) * MV
    n = task["neuron"]
    common = dict(
        V_0_rel=n["v_reset"] * MV, V_th_rel=n["v_th"] * MV, tau_m=n["tau_m"] * MS,
        tau_r=n["tau_ref"] * MS,
    )
    if task["synapses"] == "delta":
        return nnmt.lif.delta._firing_rates_for_given_input(mu, sigma, **common)
    fn = {"shift": nnmt.lif.exp._firing_rate_shift, "taylor": nnmt.lif.exp._firing_rate_taylor}
    return fn[task["synapses"]](mu, sigma, **common, tau_s=n["tau_s"] * MS)


def run(task):
    kind = task["kind"]
    if kind == "single_rates":
        t, r = timed(lambda: single_rates(task), task.get("repeat", 1))
        return {"rates": np.atleast_1d(r).tolist(), "seconds": t}
    if kind == "microcircuit":
        t, r = timed(lambda: solve(task["network"], task["synapses"], task["eps_tol"]),
                     task.get("repeat", 1))
        return {"rates": np.asarray(r).tolist(), "seconds": t}
    if kind == "microcircuit_jacobian":
        # d rates / d J by central finite differences (NNMT has no gradients)
        net = task["network"]
        base = np.array(net["J"])
        h = task["step"]
        t0 = time.perf_counter()
        jac = np.zeros((len(base), len(base), len(base)))
        for a in range(len(base)):
            for b in range(len(base)):
                rows = []
                for sgn in (1, -1):
                    J = base.copy()
                    J[a, b] += sgn * h
                    rows.append(solve({**net, "J": J.tolist()}, task["synapses"], task["eps_tol"]))
                jac[:, a, b] = (rows[0] - rows[1]) / (2 * h)
        return {"jacobian": jac.tolist(), "seconds": time.perf_counter() - t0}
    if kind == "brunel_sweep":
        out, t0 = [], time.perf_counter()
        for g, eta in task["points"]:
            j, ce, ci = 0.1, 1000.0, 250.0
            nu_thr = 20.0 / (j * ce * 20.0) * 1e3
            args = dict(
                J=np.array([[j, -g * j], [j, -g * j]]) * MV, K=np.array([[ce, ci], [ce, ci]]),
                V_0_rel=10 * MV, V_th_rel=20 * MV, tau_m=20 * MS, tau_r=2 * MS,
                J_ext=np.full((2, 1), j * MV), K_ext=np.full((2, 1), ce),
                nu_ext=np.array([eta * nu_thr]),
            )
            try:
                out.append(float(nnmt.lif.delta._firing_rates(**args)[0]))
            except Exception:  # noqa: BLE001 - NNMT raises on non-convergence
                out.append(None)
        return {"rates": out, "seconds": time.perf_counter() - t0}
    if kind == "transfer":
        # nnmt.lif.exp._transfer_function_{shift,taylor}: one population per column, angular
        # frequencies; Hz/V -> Hz/mV
        mu = np.array(task["mu"]) * MV
        sigma = np.array(task["sigma"]) * MV
        n = task["neuron"]
        fn = {"shift": nnmt.lif.exp._transfer_function_shift,
              "taylor": nnmt.lif.exp._transfer_function_taylor}[task["method"]]
        omegas = 2 * np.pi * np.array(task["frequencies"])

        def call():
            return fn(mu, sigma, tau_m=n["tau_m"] * MS, tau_s=n["tau_s"] * MS, tau_r=n["tau_ref"] * MS,
                      V_th_rel=n["v_th"] * MV, V_0_rel=n["v_reset"] * MV, omegas=omegas,
                      synaptic_filter=task.get("synaptic_filter", True))

        t, h = timed(call, task.get("repeat", 1))
        h = np.asarray(h) * MV
        return {"real": h.real.tolist(), "imag": h.imag.tolist(), "seconds": t}
    if kind == "fit_transfer":
        # nnmt.lif.exp._fit_transfer_function on a given transfer function (Hz/mV -> Hz/V)
        h = (np.array(task["real"]) + 1j * np.array(task["imag"])) / MV
        omegas = 2 * np.pi * np.array(task["frequencies"])
        try:
            fit, tau, w, err = nnmt.lif.exp._fit_transfer_function(
                h, omegas, tau_m=task["tau_m"] * MS, J=np.array(task["J"]) * MV, K=np.array(task["K"]))
        except Exception as e:  # noqa: BLE001 - NNMT 1.3 uses np.complex_, gone in numpy 2
            return {"error": f"{type(e).__name__}: {e}"}
        return {"tau_rate_ms": (np.asarray(tau) / MS).tolist(), "W_rate": np.asarray(w).tolist()}
    if kind == "linear_response":
        return linear_response(task)
    if kind == "pairwise":
        return pairwise(task)
    raise ValueError(kind)


def pairwise(task):
    """Neuron-level covariances in NNMT 1.3: ``lif.exp._cvs``, ``_pairwise_effective_connectivity``
    (Helias et al. 2013 eq. A.3) and ``_pairwise_covariances`` (Layer et al. 2023 eq. 9, 11) at a
    given working point (mfjax units in and out: Hz, mV, ms; ``J`` the total weight matrix)."""
    nu = np.array(task["rates"])
    mu, sigma = np.array(task["mu"]) * MV, np.array(task["sigma"]) * MV
    v0, vt = task["v_reset"] * MV, task["v_th"] * MV
    tau_m, tau_s = task["tau_m"] * MS, task["tau_s"] * MS
    cvs = nnmt.lif.exp._cvs(nu, mu, sigma, v0, vt, tau_m, tau_s)
    J_eff = nnmt.lif.exp._pairwise_effective_connectivity(nu, mu, sigma, np.array(task["J"]) * MV, v0, vt, tau_m, tau_s)
    C, D = nnmt.lif.exp._pairwise_covariances(J_eff, nu, cvs, return_noise_strength=True)
    return {"cv": cvs.tolist(), "effective_connectivity": J_eff.tolist(), "covariance": C.tolist(), "noise": D.tolist()}


def linear_response(task):
    """The linear-response pipeline of Bos et al. (2016) in NNMT 1.3 at a given working point:
    transfer function (shift, synaptic filter), delay matrix (truncated Gaussian), effective
    connectivity, propagator, power spectra, sensitivity measure of every eigenmode (mfjax
    units in and out: Hz, mV, ms)."""
    net = task["network"]
    mu = np.array(task["mu"]) * MV
    sigma = np.array(task["sigma"]) * MV
    freqs = np.array(task["frequencies"])
    omegas = 2 * np.pi * freqs
    J, K = np.array(net["J"]) * MV, np.array(net["K"])
    tau_m = net["tau_m"] * MS
    timings = {}

    t0 = time.perf_counter()
    tf = nnmt.lif.exp._transfer_function(
        mu, sigma, tau_m, net["tau_s"] * MS, net["tau_ref"] * MS, net["V_th"] * MV, net["V_reset"] * MV,
        omegas, method="shift", synaptic_filter=True)
    timings["transfer_function"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    D = nnmt.network_properties._delay_dist_matrix(
        np.array(net["delay"]) * MS, np.array(net["delay_sd"]) * MS, "truncated_gaussian", omegas)
    W = nnmt.lif.exp._effective_connectivity(tf, D, J, K, tau_m)
    prop = nnmt.lif.exp._propagator(W)
    power = nnmt.lif.exp._power_spectra(np.array(task["rates"]), W, J, K, np.array(net["N"]), tau_m)
    timings["spectra"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sens = nnmt.lif.exp._sensitivity_measure_all_eigenmodes(W, freqs)
    timings["sensitivity_all_eigenmodes"] = time.perf_counter() - t0

    def cplx(a):
        a = np.asarray(a)
        return {"real": a.real.tolist(), "imag": a.imag.tolist()}

    out = {"seconds": timings, "frequencies": freqs.tolist()}
    if task.get("return_arrays", True):
        out.update(transfer=cplx(np.asarray(tf) * MV), delay_matrix=cplx(D), effective_connectivity=cplx(W),
                   propagator=cplx(prop), power_spectra=np.asarray(power).tolist())
        out["sensitivity"] = {
            k: {"critical_frequency": float(v["critical_frequency"]),
                "critical_eigenvalue": cplx(v["critical_eigenvalue"]),
                "sensitivity": cplx(v["sensitivity"]),
                "sensitivity_amp": np.asarray(v["sensitivity_amp"]).tolist(),
                "sensitivity_freq": np.asarray(v["sensitivity_freq"]).tolist()}
            for k, v in sens.items()}
    return out


def main():
    with open(sys.argv[1]) as f:
        tasks = json.load(f)
    results = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, task in tasks.items():
            try:
                results[name] = run(task)
            except Exception as err:  # noqa: BLE001 - report, do not crash the whole run
                results[name] = {"error": f"{type(err).__name__}: {err}"}
    with open(sys.argv[2], "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()
