"""Single-neuron theory: LIF transfer function (Siegert), ISI CV, membrane-potential density."""

from ._lif import CORRECTIONS, LIF, lif_cv, lif_rate, membrane_density

__all__ = ["LIF", "lif_rate", "lif_cv", "membrane_density", "CORRECTIONS"]
