"""Network presets a config can name (``network = "brunel"`` and ``[... .network_parameters]``)."""

from __future__ import annotations

import inspect

from ._schema import ConfigError

__all__ = ["NETWORKS", "build_network"]


def _presets() -> dict:
    from ..populations import brunel_a, microcircuit
    from ..spiking import coba

    return {
        "brunel": (brunel_a, "Brunel (2000) model A: one E and one I population of LIF neurons"),
        "microcircuit": (microcircuit, "Potjans & Diesmann (2014) 8-population cortical microcircuit"),
        "coba": (coba, "COBA benchmark network (Brette et al. 2007, benchmark 1)"),
    }


NETWORKS = ("brunel", "microcircuit", "coba")


def build_network(name: str, parameters: dict, where: str):
    """The preset ``name`` built with ``parameters`` (checked against its signature: an unknown
    parameter or a bad value raises ``ConfigError`` naming ``where.KEY``)."""
    make, _ = _presets()[name]
    sig = inspect.signature(make)
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
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{where}: {err}") from None


def describe_networks() -> list[str]:
    lines = []
    for name, (make, doc) in _presets().items():
        args = ", ".join(f"{k}={p.default!r}" for k, p in inspect.signature(make).parameters.items())
        lines.append(f"  {name}: {doc}\n      parameters: {args}")
    return lines
