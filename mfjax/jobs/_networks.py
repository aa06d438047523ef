"""Network presets a config can name (``network = "brunel"`` and ``[... .network_parameters]``)."""

from __future__ import annotations

import inspect

from ._schema import ConfigError

__all__ = ["NETWORKS", "build_network"]


def custom(N, K, J, K_ext, J_ext, nu_ext, I_ext=0.0, delay=1.5, names=None, tau_m=20.0, tau_ref=2.0, v_th=20.0,
           v_reset=10.0, tau_s=0.0, synapses="delta", connectivity="fixed_indegree"):
    """A network of LIF populations written out in the config: sizes ``N`` (P), in-degrees
    ``K`` and PSP jumps ``J`` (mV; P x P, ``[target][source]``), external in-degree ``K_ext``,
    jump ``J_ext`` (mV) and rate ``nu_ext`` (Hz) per population, DC ``I_ext`` (pA), ``delay``
    (ms), the LIF parameters (ms, mV; shared by all populations) and the synapse model."""
    import numpy as np

    from ..neurons import LIF
    from ..populations import Network

    return Network(LIF(tau_m=tau_m, tau_ref=tau_ref, v_th=v_th, v_reset=v_reset, tau_s=tau_s), np.asarray(K, float),
                   np.asarray(J, float), K_ext=np.asarray(K_ext, float), J_ext=np.asarray(J_ext, float),
                   nu_ext=np.asarray(nu_ext, float), N=np.asarray(N, float), I_ext=np.asarray(I_ext, float),
                   delay=np.asarray(delay, float), names=tuple(names) if names else None, synapses=synapses,
                   connectivity=connectivity)


def _presets() -> dict:
    from ..populations import brunel_a, microcircuit
    from ..spiking import coba

    return {
        "brunel": (brunel_a, "Brunel (2000) model A: one E and one I population of LIF neurons"),
        "microcircuit": (microcircuit, "Potjans & Diesmann (2014) 8-population cortical microcircuit"),
        "coba": (coba, "COBA benchmark network (Brette et al. 2007, benchmark 1)"),
        "custom": (custom, "LIF populations written out in [..network_parameters] (N, K, J, K_ext, J_ext, nu_ext, ...)"),
    }


NETWORKS = ("brunel", "microcircuit", "coba", "custom")


def build_network(name: str, parameters: dict, where: str):
    """The preset ``name`` built with ``parameters`` (checked against its signature: an unknown
    parameter or a bad value raises ``ConfigError`` naming ``where.KEY``)."""
    make, _ = _presets()[name]
    sig = inspect.signature(make)
    missing = [k for k, p in sig.parameters.items() if p.default is inspect.Parameter.empty and k not in parameters]
    if missing:
        raise ConfigError(f"{where}.{missing[0]}: missing (the {name} network needs {', '.join(missing)})")
    for key, value in parameters.items():
        if key not in sig.parameters:
            raise ConfigError(f"{where}.{key}: the {name} network has no parameter {key!r} "
                              f"(parameters: {', '.join(sig.parameters)})")
        default = sig.parameters[key].default
        if isinstance(default, (int, float)) and not isinstance(default, bool) and (
                isinstance(value, (bool, str)) or not isinstance(value, (int, float))):
            raise ConfigError(f"{where}.{key}: expected a number, got {value!r}")
    try:
        return make(**parameters)
    except (ValueError, TypeError, IndexError) as err:
        raise ConfigError(f"{where}: {err}") from None


def describe_networks() -> list[str]:
    lines = []
    for name, (make, doc) in _presets().items():
        args = ", ".join(f"{k}={p.default!r}" for k, p in inspect.signature(make).parameters.items())
        lines.append(f"  {name}: {doc}\n      parameters: {args}")
    return lines
