"""Single-neuron theory: LIF stationary rate (Siegert), ISI CV, membrane-potential density, dynamic
transfer function (mean and variance modulation), spike-train power spectrum."""

from ._lif import CORRECTIONS, LIF, lif_cv, lif_rate, membrane_density
from ._spectrum import lif_spike_spectrum
from ._transfer import LowPassFit, fit_low_pass, lif_transfer, lif_variance_transfer

__all__ = ["LIF", "lif_rate", "lif_cv", "membrane_density", "lif_transfer", "lif_variance_transfer", "fit_low_pass", "LowPassFit",
           "lif_spike_spectrum",
           "CORRECTIONS"]
