"""Neuron dynamics of the spiking simulator: per-neuron constants and the membrane update of one
time step, for every neuron model and synapse model.

Every model is ``tau_m dV/dt = -V + F(V) + mu_dc + input`` with ``F`` its nonlinearity
(:mod:`mfjax.neurons._models`): ``F = 0`` (LIF), ``F = delta_t exp((V - v_t)/delta_t)`` (EIF,
Fourcaud-Trocme et al. 2003), ``F = V^2 / v_t`` (QIF in the normal form ``V (V - v_t)/v_t`` of
:class:`mfjax.QIF`, with a finite peak ``v_th`` and reset ``v_reset`` as in Montbrio, Pazo & Roxin
2015).  Over a step of length ``dt`` the linear part is integrated exactly; for EIF and QIF the
nonlinearity is integrated by the second-order exponential Runge-Kutta scheme ETD2RK (Cox &
Matthews 2002, J. Comput. Phys. 176:430): the exponential-Euler predictor ``a`` with ``F(V)``
held, then ``V' = a + (F(a) - F(V)) (e^{-x} - 1 + x) / x`` with ``x = dt / tau_eff`` (the
step's effective time constant):

* ``"delta"`` synapses: ``V <- V e^{-dt/tau_m} + (mu_dc + F(V)) (1 - e^{-dt/tau_m}) + sum J +
  J_ext n`` (PSP jumps added after the step; Brunel 2000; with the ETD2RK correction for EIF and
  QIF), ``mu_dc = tau_m I_ext / C_m``;
* exponential current synapses (``"exp"``; LIF only): ``dV/dt = (mu_dc - V)/tau_m + I``,
  ``tau_s dI/dt = -I + tau_s sum J delta(t - t_k)`` (one spike carries the charge of a delta PSP
  of height ``J``, the Fourcaud-Brunel convention), propagated exactly with ``I`` at the start
  of the step;
* conductance synapses (:class:`mfjax.populations.Conductance`): ``tau_m dV/dt = -V +
  g_ex (E_ex - V) + g_in (E_in - V) + mu_dc + F(V)``, exponential Euler with the conductances
  held over the step (and the ETD2RK correction of ``F``), the conductances decaying exactly.

Populations may have different models (``network.neuron`` a tuple); the step then evaluates each
nonlinearity where its populations' neurons are.  An all-LIF network runs the LIF expressions
unchanged.
"""

from __future__ import annotations

import math

import jax.numpy as jnp
import numpy as np

from ..neurons import EIF, LIF, QIF
from ..populations import Conductance

#: model kind of each neuron class (static: part of the simulation plan)
MODEL_KINDS = {LIF: "lif", EIF: "eif", QIF: "qif"}

#: the EIF's exponent is capped here (exp(80) ~ 5e34 mV/ms is a spike within any step, and
#: float32 keeps it finite)
_EXP_CAP = 80.0


def model_kinds(network) -> tuple:
    """The model kind (``"lif"``, ``"eif"``, ``"qif"``) of every population (static)."""
    p = network.num_populations
    if isinstance(network.neuron, tuple):
        return tuple(MODEL_KINDS[type(m)] for m in network.neuron)
    return (MODEL_KINDS[type(network.neuron)],) * p


def neuron_leaf(network, name: str, fill=None):
    """The neuron parameter ``name`` as one array: the model's field (scalar, (P,) or batched
    (B, P)) or, for one model per population, the models' fields stacked on a last axis; models
    without the field contribute ``fill`` (an error if ``fill`` is None)."""
    if not isinstance(network.neuron, tuple):
        return getattr(network.neuron, name)
    values = []
    for a, model in enumerate(network.neuron):
        if hasattr(model, name):
            values.append(jnp.asarray(getattr(model, name)))
        elif fill is None:
            raise ValueError(f"neuron[{a}] ({type(model).__name__}) has no field {name!r}")
        else:
            values.append(jnp.asarray(fill))
    values = jnp.broadcast_arrays(*values)
    return jnp.stack(values, axis=-1)


def per_neuron(plan, x):
    """Broadcast a per-population value (P,) to every neuron (N,)."""
    x = jnp.broadcast_to(jnp.asarray(x), (len(plan.sizes),))
    return jnp.repeat(x, np.asarray(plan.sizes), total_repeat_length=sum(plan.sizes))


def propagators(plan, net) -> dict:
    """Per-neuron constants of the exact/exponential-Euler update over one step."""
    dt = plan.dt
    leaf = lambda name, fill=None: neuron_leaf(net, name, fill)  # noqa: E731
    tau_m = per_neuron(plan, leaf("tau_m"))
    c = {
        "decay": jnp.exp(-dt / tau_m),
        "tau_m": tau_m,
        "v_th": per_neuron(plan, leaf("v_th")),
        "v_reset": per_neuron(plan, leaf("v_reset")),
        "mu_dc": per_neuron(plan, leaf("tau_m") * net.I_ext / leaf("c_m")),
        "ref_steps": per_neuron(plan, jnp.round(leaf("tau_ref") / dt).astype(jnp.int32)),
        "j_ext": per_neuron(plan, net.J_ext),
    }
    kinds = set(plan.models)
    if "eif" in kinds:
        c["delta_t"] = per_neuron(plan, leaf("delta_t", 1.0))
    if kinds & {"eif", "qif"}:
        c["v_t"] = per_neuron(plan, leaf("v_t", 1.0))
        if len(kinds) > 1:
            for kind in kinds - {"lif"}:
                c[f"is_{kind}"] = per_neuron(plan, np.array([k == kind for k in plan.models]))
    if plan.synapse == "exp":
        tau_s = per_neuron(plan, leaf("tau_s"))
        c["syn_decay"] = jnp.exp(-dt / tau_s)
        # V response at dt to I = 1 at 0: (e^{-dt/tau_s} - e^{-dt/tau_m}) / (1/tau_m - 1/tau_s)
        rate = 1.0 / tau_s - 1.0 / tau_m
        x = -dt * rate
        small = jnp.abs(x) < 1e-6
        phi = jnp.where(small, 1.0 + 0.5 * x, jnp.expm1(jnp.where(small, 1.0, x)) / jnp.where(small, 1.0, x))
        c["p21"] = dt * c["decay"] * phi
        c["tau_s"] = tau_s
    elif isinstance(plan.synapse, Conductance):
        g_leak = per_neuron(plan, leaf("c_m") / leaf("tau_m"))
        c["g_leak"] = g_leak
        c["ex_decay"] = math.exp(-dt / plan.synapse.tau_ex)
        c["in_decay"] = math.exp(-dt / plan.synapse.tau_in)
    return c


def nonlinearity(plan, c, v):
    """``F(V)`` of every neuron (mV), or ``None`` when every population is LIF."""
    kinds = set(plan.models)
    if kinds == {"lif"}:
        return None
    out = 0.0
    if "eif" in kinds:
        term = c["delta_t"] * jnp.exp(jnp.minimum((v - c["v_t"]) / c["delta_t"], _EXP_CAP))
        out = out + (jnp.where(c["is_eif"], term, 0.0) if "is_eif" in c else term)
    if "qif" in kinds:
        term = v * v / c["v_t"]
        out = out + (jnp.where(c["is_qif"], term, 0.0) if "is_qif" in c else term)
    return out


def membrane_update(plan, c, v, syn, arrivals, ext):
    """The free membrane potential at the end of a step (before refractoriness and spikes) and
    the synaptic state after it.  ``arrivals``: the recurrent input of the step (one summed
    current, or the excitatory and inhibitory conductance increments); ``ext``: the external
    Poisson input ``J_ext n``."""
    f = nonlinearity(plan, c, v)
    mu = c["mu_dc"] if f is None else c["mu_dc"] + f
    if plan.synapse == "delta":
        if f is not None:  # ETD2RK (Cox & Matthews 2002): the predictor's F corrects the held one
            pred = v * c["decay"] + mu * (1.0 - c["decay"])
            x = plan.dt / c["tau_m"]
            return pred + (nonlinearity(plan, c, pred) - f) * (c["decay"] - 1.0 + x) / x + arrivals[0] + ext, syn
        return v * c["decay"] + mu * (1.0 - c["decay"]) + arrivals[0] + ext, syn
    if plan.synapse == "exp":
        (i_syn,) = syn
        v_free = v * c["decay"] + mu * (1.0 - c["decay"]) + c["p21"] * i_syn
        return v_free, (i_syn * c["syn_decay"] + (arrivals[0] + ext) / c["tau_s"],)
    g_ex, g_in = syn
    cond = plan.synapse
    total = 1.0 + g_ex + g_in
    v_inf = (g_ex * cond.e_ex + g_in * cond.e_in + mu) / total
    decay = jnp.exp(-plan.dt * total / c["tau_m"])
    v_free = v_inf + (v - v_inf) * decay
    if f is not None:  # ETD2RK, as for delta synapses, with the step's total conductance
        x = plan.dt * total / c["tau_m"]
        v_free = v_free + (nonlinearity(plan, c, v_free) - f) / total * (decay - 1.0 + x) / x
    ext_g = jnp.abs(ext) / c["g_leak"]
    ext_ex = jnp.where(c["j_ext"] > 0, ext_g, 0.0)
    syn = (
        g_ex * c["ex_decay"] + arrivals[0] + ext_ex,
        g_in * c["in_decay"] + arrivals[1] + (ext_g - ext_ex),
    )
    return v_free, syn
