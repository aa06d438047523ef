"""Spiking-network benchmarks as :class:`mfjax.Network` presets.

* :func:`mfjax.populations.brunel_a` (re-exported): Brunel (2000) model A, N = 12,500.
* :func:`coba`: the conductance-based benchmark of Vogels & Abbott (2005) in the form of Brette
  et al. (2007) J. Comput. Neurosci. 23:349, benchmark 1, as run by Brian2's ``COBA`` example:
  4,000 LIF neurons (80 % excitatory), connection probability 2 %, ``tau_m`` = 20 ms,
  ``C_m`` = 200 pF (``g_L`` = 10 nS), rest -60 mV, threshold -50 mV, reset -60 mV, refractory
  5 ms, reversal potentials 0 and -80 mV, conductance decay 5 and 10 ms, jumps 6 nS
  (excitatory) and 67 nS (inhibitory), and a constant drive of 20 mV (200 pA).
"""

from __future__ import annotations

import numpy as np

from .._checks import as_checked_array
from ..neurons import LIF
from ..populations import Conductance, Network, brunel_a

__all__ = ["brunel_a", "coba"]


def coba(
    *,
    N=4000,
    excitatory_fraction=0.8,
    p=0.02,
    g_ex=6.0,
    g_in=67.0,
    drive=20.0,
    tau_m=20.0,
    c_m=200.0,
    tau_ref=5.0,
    delay=0.1,
) -> Network:
    """COBA benchmark network (Brette et al. 2007, benchmark 1; Brian2 example parameters).

    Voltages are relative to the -60 mV rest: threshold 10 mV, reset 0 mV, reversal potentials
    +60 mV and -20 mV.  Every neuron receives on average ``p N_b`` synapses from population b
    (the network's ``connectivity`` is ``"fixed_probability"``: simulations draw the
    Bernoulli graph of the benchmark unless told otherwise).  ``g_ex``, ``g_in`` are conductance jumps (nS);
    ``drive`` is the constant input ``I_ext / g_L`` (mV).  Transmission takes one step
    (``delay`` = 0.1 ms) as in the Brian2 example.  Brian2 and NEST give 19-22 Hz.
    """
    for name, value in (("N", N), ("p", p), ("g_ex", g_ex), ("g_in", g_in), ("tau_m", tau_m), ("c_m", c_m)):
        as_checked_array(name, value, positive=True)
    if not 0 < excitatory_fraction < 1:
        raise ValueError(f"excitatory_fraction must lie in (0, 1), got {excitatory_fraction!r}")
    n_e = int(round(N * excitatory_fraction))
    sizes = np.array([n_e, N - n_e], float)
    neuron = LIF(tau_m=tau_m, tau_ref=tau_ref, v_th=10.0, v_reset=0.0, c_m=c_m)
    row = np.array([g_ex, -g_in])
    return Network(
        neuron,
        K=np.outer(np.ones(2), p * sizes),
        J=np.stack([row, row]),
        K_ext=0.0,
        J_ext=0.0,
        nu_ext=0.0,
        I_ext=drive * c_m / tau_m,
        N=sizes,
        delay=delay,
        names=("E", "I"),
        synapses=Conductance(e_ex=60.0, e_in=-20.0, tau_ex=5.0, tau_in=10.0),
        connectivity="fixed_probability",
    )
