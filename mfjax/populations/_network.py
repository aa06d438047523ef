"""Network description shared by the mean-field solver and the spiking simulator.

A network has P populations of integrate-and-fire neurons (:class:`mfjax.LIF`,
:class:`mfjax.EIF` or :class:`mfjax.QIF`; one model for all, or one per population).
Population ``a`` receives, per neuron, ``K[a, b]``
synapses from population ``b`` (in-degree; rows are targets, columns sources) with PSP jump
``J[a, b]`` (mV), ``K_ext[a]`` external Poisson inputs of rate ``nu_ext[a]`` (Hz) and PSP jump
``J_ext[a]`` (mV), and an optional DC current ``I_ext[a]`` (pA).

Units: time ms, voltage mV, rates Hz, currents pA, capacitance pF.
"""

from __future__ import annotations

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from .._checks import Conditions
from ..neurons import EIF, LIF, QIF
from ._delays import DELAY_DISTRIBUTIONS, delay_characteristic

__all__ = ["Network", "SYNAPSE_MODELS", "INPUT_MODELS", "Conductance", "CONNECTIVITY_RULES", "NEURON_MODELS"]

#: neuron models a network's populations can have
NEURON_MODELS = (LIF, EIF, QIF)

#: fields of each neuron model that hold numbers (v_lb may be None: the natural boundary)
_MODEL_FIELDS = {
    LIF: ("tau_m", "tau_ref", "v_th", "v_reset", "tau_s", "c_m"),
    EIF: ("tau_m", "tau_ref", "v_th", "v_reset", "delta_t", "v_t", "c_m"),
    QIF: ("tau_m", "tau_ref", "v_th", "v_reset", "v_t", "c_m"),
}


def _check_neuron(neuron, p: int) -> None:
    """``neuron``: one LIF, EIF or QIF with fields scalar or (P,), or a tuple of P of them with
    scalar fields (one model per population); a clear error otherwise."""
    if isinstance(neuron, tuple):
        if len(neuron) != p:
            raise ValueError(f"neuron: a tuple needs one model per population ({p}), got {len(neuron)}")
        for a, model in enumerate(neuron):
            if not isinstance(model, NEURON_MODELS):
                raise TypeError(f"neuron[{a}] must be an mfjax LIF, EIF or QIF, got {type(model).__name__}")
            for field in _MODEL_FIELDS[type(model)]:
                if jnp.shape(getattr(model, field)) != ():
                    raise ValueError(f"neuron[{a}].{field} must be a scalar (one model per population)")
        return
    if not isinstance(neuron, NEURON_MODELS):
        raise TypeError(f"neuron must be an mfjax LIF, EIF or QIF (or a tuple of them), got {type(neuron).__name__}")
    for field in _MODEL_FIELDS[type(neuron)]:
        shape = jnp.shape(getattr(neuron, field))
        if shape not in ((), (p,)):
            raise ValueError(f"neuron.{field} must be a scalar or shape ({p},), got {shape}")


def _models(neuron) -> tuple:
    return neuron if isinstance(neuron, tuple) else (neuron,)

#: connection rules of the spiking simulator (see :mod:`mfjax.spiking._connectivity`)
CONNECTIVITY_RULES = ("fixed_indegree", "fixed_probability", "fixed_total_number")

#: synapse model -> the transfer-function correction of :func:`mfjax.lif_rate`
SYNAPSE_MODELS = {"delta": "none", "shift": "shift", "taylor": "taylor"}

#: how the mean field models the input of delta synapses: Gaussian white noise (the diffusion
#: approximation, Siegert) or Poisson shot noise (:func:`mfjax.populations.shot_input`)
INPUT_MODELS = ("diffusion", "shot")


@dataclasses.dataclass(frozen=True)
class Conductance:
    """Conductance-based exponential synapses (COBA; Vogels & Abbott 2005, Brette et al. 2007).

    ``tau_m dV/dt = -V + g_ex (E_ex - V) + g_in (E_in - V) + tau_m I_ext / C_m`` with ``V``
    relative to rest and conductances in units of the leak conductance ``g_L = C_m / tau_m``;
    each presynaptic spike raises ``g_ex`` by ``J / g_L`` when ``J > 0`` and ``g_in`` by
    ``|J| / g_L`` when ``J < 0``: ``J`` (and ``J_ext``) are conductance jumps in nS.  Both
    conductances decay exponentially.  Static (hashable) description used by
    :mod:`mfjax.spiking` and by :func:`mfjax.solve_rates` (the effective-time-constant
    reduction of :func:`mfjax.populations.coba_rate`, an approximation).

    Attributes:
        e_ex, e_in: reversal potentials relative to rest (mV); defaults 0 mV and -80 mV for a
            -60 mV rest, as in Brette et al. (2007) benchmark 1.
        tau_ex, tau_in: conductance decay times (ms), 5 and 10.
    """

    e_ex: float = 60.0
    e_in: float = -20.0
    tau_ex: float = 5.0
    tau_in: float = 10.0

    def __post_init__(self):
        for name in ("e_ex", "e_in", "tau_ex", "tau_in"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and np.isfinite(value)):
                raise ValueError(f"Conductance.{name} must be a finite number, got {value!r}")
        for name in ("tau_ex", "tau_in"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Conductance.{name} must be > 0, got {getattr(self, name)!r}")


def _float_array(name, x):
    """``x`` as a JAX array of the default float dtype (nested lists and numpy integers
    included); a clear error naming ``name`` for anything non-numeric."""
    if isinstance(x, (bool, np.bool_)):
        raise ValueError(f"{name} must be numeric, got the boolean {x!r}")
    if not isinstance(x, jax.Array):
        try:
            x = np.asarray(x, dtype=float)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{name} must be numeric (a number or an array of numbers), got {x!r}") from err
    elif not jnp.issubdtype(x.dtype, jnp.number) or jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise ValueError(f"{name} must be a real numeric array, got dtype {x.dtype}")
    return jnp.asarray(x, dtype=jnp.result_type(float, x.dtype))


def _vector(name, x, p):
    x = _float_array(name, x)
    if jnp.shape(x) not in ((), (p,)):
        raise ValueError(f"{name} must be a scalar or have shape ({p},), got {jnp.shape(x)}")
    return jnp.broadcast_to(x, (p,))


#: sign conditions of the array fields (checked for concrete values by ``__check_init__`` and
#: :meth:`Network.replace`, carried as traced conditions into the solvers otherwise); the
#: constructor itself only converts and checks shapes
_FIELD_RULES = {
    "N": {"positive": True},
    "K": {"nonnegative": True},
    "J": {},
    "K_ext": {"nonnegative": True},
    "J_ext": {},
    "nu_ext": {"nonnegative": True},
    "I_ext": {},
    "delay": {"nonnegative": True},
    "J_sd": {"nonnegative": True},
    "delay_sd": {"nonnegative": True},
}


class Network(eqx.Module):
    """P-population LIF network (immutable pytree; every array is differentiable).

    Attributes:
        neuron: :class:`mfjax.LIF`, :class:`mfjax.EIF` or :class:`mfjax.QIF` with fields scalar
            or shape (P,), or a tuple of P such models with scalar fields (one per population;
            e.g. EIF excitatory and LIF inhibitory neurons).  The mean field of EIF and QIF
            populations is the Fokker-Planck engine's rate (:func:`mfjax.firing_rate`); the
            simulator integrates their nonlinearity (:func:`mfjax.spiking.simulate`).
        N: population sizes, shape (P,).
        K: in-degrees, shape (P, P), ``K[target, source]``.
        J: PSP amplitudes (mV), shape (P, P); negative for inhibition.
        K_ext: external in-degree per population, shape (P,).
        J_ext: external PSP amplitude (mV), shape (P,).
        nu_ext: rate of each external Poisson source (Hz), shape (P,).
        I_ext: DC current (pA), shape (P,).
        delay: mean transmission delay (ms), shape (P, P) (used by the spiking simulator).
        J_sd: standard deviation of the individual PSP amplitudes around ``J`` (mV), shape
            (P, P); adds ``tau_m K J_sd^2 nu`` to the input variance (each synapse keeps its
            drawn weight).
        delay_sd: standard deviation of the individual delays around ``delay`` (ms), shape
            (P, P) (spiking simulator; PD14's normally distributed delays).
        names: population labels (static).
        synapses: ``"delta"`` (white noise), ``"shift"`` or ``"taylor"`` (exponential synapses
            with ``neuron.tau_s``; colored-noise correction of the transfer function), or a
            :class:`Conductance` (conductance-based synapses; the mean field is the
            effective-time-constant approximation of :func:`mfjax.populations.coba_rate`) (static).
        delay_distribution: the law of the individual delays around ``delay`` with standard
            deviation ``delay_sd`` (static; :data:`mfjax.populations.DELAY_DISTRIBUTIONS`):
            ``"truncated_gaussian"`` (default; PD14 and Bos et al. 2016; the only law the
            spiking simulator draws), ``"gaussian"``, ``"exponential"``, ``"gamma"`` or
            ``"none"``; with ``delay_sd = 0`` every law is the fixed delay.
        input_model: how the mean field treats the input (static; :data:`INPUT_MODELS`):
            ``"diffusion"`` (default: Gaussian white noise of mean ``mu`` and std ``sigma``, the
            Siegert rate) or ``"shot"`` (delta synapses only: the excitatory and the inhibitory
            input each as Poisson shot noise with exponential jumps whose rate, mean jump and a DC
            offset match the first three cumulants of the real input; exact rates of that shot
            noise by :func:`mfjax.lif_shot_rate`; see :func:`mfjax.populations.shot_input`).
        connectivity: how a simulation draws the graph with these in-degrees (static):
            ``"fixed_indegree"`` (default; Brunel 2000), ``"fixed_probability"`` (Bernoulli with
            p = K/N; the COBA benchmark) or ``"fixed_total_number"`` (PD14); the mean field
            depends on ``K`` only, except for conductance synapses, whose rates are averaged
            over the in-degrees these rules draw.
    """

    neuron: LIF | EIF | QIF | tuple
    N: jax.Array
    K: jax.Array
    J: jax.Array
    K_ext: jax.Array
    J_ext: jax.Array
    nu_ext: jax.Array
    I_ext: jax.Array
    delay: jax.Array
    J_sd: jax.Array
    delay_sd: jax.Array
    names: tuple = eqx.field(static=True)
    synapses: str = eqx.field(static=True)
    connectivity: str = eqx.field(static=True)
    delay_distribution: str = eqx.field(static=True)
    input_model: str = eqx.field(static=True)

    def __init__(
        self,
        neuron,
        K,
        J,
        *,
        K_ext,
        J_ext,
        nu_ext,
        N=None,
        I_ext=0.0,
        delay=1.5,
        J_sd=0.0,
        delay_sd=0.0,
        names=None,
        synapses="delta",
        connectivity="fixed_indegree",
        delay_distribution="truncated_gaussian",
        input_model="diffusion",
    ):
        K_arr = _float_array("K", K)
        if K_arr.ndim != 2 or K_arr.shape[0] != K_arr.shape[1] or K_arr.shape[0] == 0:
            raise ValueError(f"K must be a square (P, P) matrix with P >= 1, got shape {K_arr.shape}")
        p = K_arr.shape[0]
        J = _float_array("J", J)
        if jnp.shape(J) not in ((), (p,), (p, p)):
            raise ValueError(f"J must have shape ({p}, {p}), got {jnp.shape(J)}")
        _check_neuron(neuron, p)
        if not isinstance(synapses, Conductance) and synapses not in SYNAPSE_MODELS:
            raise ValueError(
                f"synapses must be one of {tuple(SYNAPSE_MODELS)} or a Conductance, got {synapses!r}"
            )
        self.neuron = neuron
        self.K = K_arr
        self.J = jnp.broadcast_to(J, (p, p))
        self.K_ext = _vector("K_ext", K_ext, p)
        self.J_ext = _vector("J_ext", J_ext, p)
        self.nu_ext = _vector("nu_ext", nu_ext, p)
        self.I_ext = _vector("I_ext", I_ext, p)
        self.N = _vector("N", np.ones(p) if N is None else N, p)
        for name, value in (("delay", delay), ("J_sd", J_sd), ("delay_sd", delay_sd)):
            value = _float_array(name, value)
            if jnp.shape(value) not in ((), (p,), (p, p)):
                raise ValueError(f"{name} must have shape ({p}, {p}), got {jnp.shape(value)}")
            setattr(self, name, jnp.broadcast_to(value, (p, p)))
        names = tuple(f"P{i}" for i in range(p)) if names is None else tuple(names)
        if len(names) != p:
            raise ValueError(f"names must have {p} entries, got {len(names)}")
        if connectivity not in CONNECTIVITY_RULES:
            raise ValueError(f"connectivity must be one of {CONNECTIVITY_RULES}, got {connectivity!r}")
        if delay_distribution not in DELAY_DISTRIBUTIONS:
            raise ValueError(f"delay_distribution must be one of {DELAY_DISTRIBUTIONS}, got {delay_distribution!r}")
        if input_model not in INPUT_MODELS:
            raise ValueError(f"input_model must be one of {INPUT_MODELS}, got {input_model!r}")
        if input_model == "shot" and synapses != "delta":
            raise ValueError(f"input_model='shot' needs delta synapses (synapses='delta'), got synapses={synapses!r}")
        all_lif = all(isinstance(m, LIF) for m in _models(neuron))
        if synapses in ("shift", "taylor") and not all_lif:
            raise ValueError(
                f"synapses={synapses!r} (exponential current synapses with the LIF's colored-noise "
                "corrections) needs LIF neurons; EIF and QIF take synapses='delta' or a Conductance"
            )
        if input_model == "shot" and not all_lif:
            raise ValueError("input_model='shot' (lif_shot_rate) needs LIF neurons")
        self.input_model = input_model
        self.names = names
        self.synapses = synapses
        self.connectivity = connectivity
        self.delay_distribution = delay_distribution

    @property
    def num_populations(self) -> int:
        return self.K.shape[0]

    @property
    def is_lif(self) -> bool:
        """Whether every population is made of LIF neurons (the closed-form theory applies)."""
        return all(isinstance(m, LIF) for m in _models(self.neuron))

    def neuron_field(self, name: str) -> jax.Array:
        """The neuron parameter ``name`` of every population, shape (P,) (inside a batched
        simulation, per batch member), whether ``neuron`` is one model or one per population."""
        p = self.num_populations
        if isinstance(self.neuron, tuple):
            missing = [a for a, m in enumerate(self.neuron) if not hasattr(m, name)]
            if missing:
                raise ValueError(f"neuron[{missing[0]}] ({type(self.neuron[missing[0]]).__name__}) has no field {name!r}")
            return jnp.stack([jnp.asarray(getattr(m, name), self.K.dtype) for m in self.neuron])
        return jnp.broadcast_to(jnp.asarray(getattr(self.neuron, name)), (p,))

    def replace(self, **arrays) -> "Network":
        """Copy with some arrays replaced, e.g. ``net.replace(J=J2, nu_ext=nu2)``.

        Differentiable (use it inside functions passed to ``jax.grad``); shapes must not change.
        New values are validated as in the constructor (concrete values at once; traced ones
        by the solvers that use them).
        """
        names = list(arrays)
        new = []
        for k in names:
            if k in ("names", "synapses", "connectivity", "delay_distribution", "input_model") or not hasattr(self, k):
                raise ValueError(f"replace() takes array fields of Network, got {k!r}")
            old = getattr(self, k)
            if k == "neuron":
                value = arrays[k]
                _check_neuron(value, self.num_populations)
                if type(value) is not type(old) or (
                    isinstance(value, tuple) and tuple(map(type, value)) != tuple(map(type, old))
                ):
                    raise TypeError("replace(neuron=...) must keep the neuron model(s) of the network")
            else:
                value = _float_array(k, arrays[k])
                if jnp.shape(value) != jnp.shape(old):
                    raise ValueError(f"{k} must keep shape {jnp.shape(old)}, got {jnp.shape(value)}")
            new.append(value)
        out = eqx.tree_at(lambda n: [getattr(n, k) for k in names], self, new)
        out.conditions(Conditions())
        return out

    def delay_characteristic(self, frequency) -> jax.Array:
        """Characteristic function ``D_ab(f) = E[exp(-2 pi i f d_ab)]`` of every pathway's delay
        distribution (:func:`mfjax.populations.delay_characteristic` with ``delay``,
        ``delay_sd`` and ``delay_distribution``), shape ``frequency.shape + (P, P)``; frequency
        in Hz, real or complex."""
        f = jnp.asarray(frequency)[..., None, None]
        return delay_characteristic(f, self.delay, self.delay_sd, self.delay_distribution)

    def conditions(self, conds: Conditions) -> Conditions:
        """Add every validity condition of this network to ``conds`` (concrete values are
        checked at once and raise ``ValueError`` naming the field; traced ones are recorded):
        finite arrays, N >= 1 and whole, K, K_ext, nu_ext, delays and spreads >= 0, the LIF
        conditions, tau_s > 0 for exponential synapses."""
        if isinstance(self.neuron, tuple):
            for a, model in enumerate(self.neuron):
                type(model).conditions(model, conds, prefix=f"neuron[{a}]")
        else:
            type(self.neuron).conditions(self.neuron, conds, prefix="neuron")
        for name, rule in _FIELD_RULES.items():
            conds.require(name, getattr(self, name), **rule)
        n = self.N
        if conds.wants(n):
            conds.where("N must hold whole numbers >= 1 (population sizes)", (n < 1) | (n != jnp.round(n)))
        if self.synapses in ("shift", "taylor") and conds.wants(self.neuron.tau_s):
            conds.where(
                f"synapses={self.synapses!r} needs neuron.tau_s > 0 (exponential synapses)",
                ~(jnp.asarray(self.neuron.tau_s) > 0),
            )
        return conds

    def __check_init__(self):
        # concrete values are checked here; traced ones where the network is solved
        self.conditions(Conditions())
