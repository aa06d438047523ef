"""Published network models as :class:`Network` presets.

* :func:`brunel_a`: Brunel (2000) J. Comput. Neurosci. 8:183, model A (identical E and I neurons).
* :func:`microcircuit`: Potjans & Diesmann (2014) Cereb. Cortex 24:785 cortical microcircuit, and
  the variant of Bos, Diesmann & Helias (2016) PLoS Comput. Biol. 12:e1005132.  Parameters are
  shipped in ``mfjax/data/microcircuit.json`` (published values; PSP amplitudes
  ``J = w tau_s / C`` in mV as in NNMT).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

import jax.numpy as jnp
import numpy as np

from .._checks import Conditions, as_checked_array
from ..neurons import LIF
from ._network import SYNAPSE_MODELS, Network

__all__ = ["brunel_a", "microcircuit", "brunel_threshold_rate"]


def brunel_threshold_rate(v_th=20.0, J=0.1, C_E=1000.0, tau_m=20.0):
    """nu_thr = v_th / (J C_E tau_m) (Hz): the external rate that brings the mean input to threshold.

    Brunel (2000), text below eq. 3; 10 Hz for model A.
    """
    return 1e3 * v_th / (J * C_E * tau_m)


def brunel_a(
    g=5.0,
    eta=2.0,
    *,
    J=0.1,
    N_E=10000,
    gamma=0.25,
    epsilon=0.1,
    tau_m=20.0,
    tau_ref=2.0,
    v_th=20.0,
    v_reset=10.0,
    delay=1.5,
    input_model="diffusion",
) -> Network:
    """Brunel (2000) model A: excitatory and inhibitory populations of identical LIF neurons.

    ``N_I = gamma N_E``, ``C_E = epsilon N_E`` (1000), ``C_I = gamma C_E`` (250); every neuron
    receives ``C_E`` excitatory and ``C_I`` inhibitory recurrent inputs of strength ``J`` and
    ``-g J`` (mV) and ``C_ext = C_E`` external Poisson inputs of strength ``J`` at rate
    ``nu_ext = eta nu_thr``, ``nu_thr = v_th/(J C_E tau_m)``.  Delta synapses, delay 1.5 ms.

    ``g`` and ``eta`` may be traced (vmap a sweep over them).  ``input_model="shot"`` gives the
    mean field of the finite jumps (:data:`mfjax.populations.INPUT_MODELS`).

    Reference rates (mean field, Hz): (g, eta) = (5, 2): 37.95; (8, 2): 12.99; (5, 1): 7.83.
    """
    conds = Conditions()
    for name, value in (("g", g), ("eta", eta)):
        conds.require(name, value, nonnegative=True)
    for name, value in (("J", J), ("N_E", N_E), ("epsilon", epsilon), ("tau_m", tau_m)):
        as_checked_array(name, value, positive=True)
    as_checked_array("gamma", gamma, nonnegative=True)
    as_checked_array("epsilon", epsilon, at_most=1.0)
    c_e = epsilon * N_E
    c_i = gamma * c_e
    neuron = LIF(tau_m=tau_m, tau_ref=tau_ref, v_th=v_th, v_reset=v_reset)
    nu_thr = brunel_threshold_rate(v_th, J, c_e, tau_m)
    j_row = jnp.stack([jnp.asarray(J, float), -jnp.asarray(g, float) * J])
    # traced g or eta out of range (a vmap sweep) make J / nu_ext NaN, which the solver reports
    # as not converged
    return Network(
        neuron,
        K=np.array([[c_e, c_i], [c_e, c_i]]),
        J=conds.poison(jnp.stack([j_row, j_row])),
        K_ext=c_e,
        J_ext=J,
        nu_ext=conds.poison(jnp.asarray(eta, float) * nu_thr),
        N=np.array([N_E, gamma * N_E]),
        delay=delay,
        names=("E", "I"),
        synapses="delta",
        input_model=input_model,
    )


@lru_cache(maxsize=None)
def _microcircuit_data():
    text = resources.files("mfjax").joinpath("data/microcircuit.json").read_text()
    return json.loads(text)


#: delays of the microcircuit (ms): excitatory 1.5, inhibitory 0.75, each with a relative
#: standard deviation of 0.5 (Potjans & Diesmann 2014, Table 5)
_MC_DELAY_E, _MC_DELAY_I, _MC_DELAY_REL_SD = 1.5, 0.75, 0.5


def microcircuit(variant: str = "pd14", synapses: str = "shift", J_rel_sd: float = 0.0) -> Network:
    """The 8-population cortical microcircuit (L2/3, L4, L5, L6; E and I each).

    Args:
        variant: ``"pd14"`` (Potjans & Diesmann 2014) or ``"bos2016"`` (Bos et al. 2016:
            K_ext[L4E] = 1780, K[L4E <- L4I] = 675).
        synapses: ``"delta"`` (white-noise Siegert), ``"shift"`` (Fourcaud-Brunel shift with
            tau_s = 0.5 ms) or ``"taylor"`` (Schuecker et al. 2015 first-order form).
        J_rel_sd: relative standard deviation of the individual weights, ``J_sd = J_rel_sd |J|``.
            PD14 draws weights with 0.1; the default 0 keeps the mean field identical to NNMT
            and Bos et al. (2016), which neglect it (0.1 adds 1% to the recurrent variance).

    Simulations draw the graph with PD14's rule (``connectivity="fixed_total_number"``); the
    delays follow a Gaussian truncated at 0 (``delay_distribution``, Bos et al. 2016; the
    simulator redraws below one time step).
    Delays (spiking simulation) are normally distributed per synapse, 1.5 +- 0.75 ms
    (excitatory) and 0.75 +- 0.375 ms (inhibitory), as in PD14.  tau_m = 10 ms, tau_ref = 2 ms, v_th = 15 mV, v_reset = 0 mV (relative to rest),
    nu_ext = 8 Hz per external input.
    """
    data = _microcircuit_data()
    if variant not in data:
        raise ValueError(f"variant must be one of {tuple(data)}, got {variant!r}")
    if synapses not in SYNAPSE_MODELS:
        raise ValueError(f"synapses must be one of {tuple(SYNAPSE_MODELS)}, got {synapses!r}")
    d = data[variant]
    neuron = LIF(
        tau_m=d["tau_m"],
        tau_ref=d["tau_ref"],
        v_th=d["V_th"],
        v_reset=d["V_reset"],
        tau_s=d["tau_s"],
    )
    J = np.array(d["J"])
    as_checked_array("J_rel_sd", J_rel_sd, nonnegative=True)
    delay = np.where(J >= 0, _MC_DELAY_E, _MC_DELAY_I)
    return Network(
        neuron,
        K=np.array(d["K"]),
        J=J,
        K_ext=np.array(d["K_ext"]),
        J_ext=np.array(d["J_ext"]),
        nu_ext=d["nu_ext"],
        N=np.array(d["N"]),
        delay=delay,
        delay_sd=_MC_DELAY_REL_SD * delay,
        J_sd=J_rel_sd * np.abs(J),
        names=tuple(d["populations"]),
        synapses=synapses,
        connectivity="fixed_total_number",
        delay_distribution="truncated_gaussian",
    )
