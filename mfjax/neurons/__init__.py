"""Single-neuron theory: LIF stationary rate (Siegert), ISI CV, membrane-potential density, dynamic
transfer function (mean and variance modulation), spike-train power spectrum; EIF and QIF neurons
and the Fokker-Planck engine (threshold integration) that serves any of them; the exact LIF rate
under Poisson shot noise with exponential jumps."""

from ._lif import CORRECTIONS, LIF, lif_cv, lif_rate, membrane_density
from ._models import EIF, QIF
from ._shot import lif_shot_rate
from ._spectrum import lif_spike_spectrum
from ._threshold import MODULATIONS, firing_rate, isi_cv, rate_response, stationary_density
from ._transfer import LowPassFit, fit_low_pass, lif_transfer, lif_variance_transfer

__all__ = ["LIF", "lif_rate", "lif_cv", "membrane_density", "lif_transfer", "lif_variance_transfer", "fit_low_pass", "LowPassFit",
           "lif_spike_spectrum", "lif_shot_rate",
           "EIF", "QIF", "firing_rate", "rate_response", "isi_cv", "stationary_density", "MODULATIONS",
           "CORRECTIONS"]
