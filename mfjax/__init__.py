"""mfjax: differentiable mean-field theory of neural networks in JAX.

Units everywhere: time ms, voltage mV, rates Hz, currents pA, capacitance pF.
"""

from . import neurons
from .neurons import LIF, lif_cv, lif_rate, membrane_density

__version__ = "0.1.0"

__all__ = ["neurons", "LIF", "lif_rate", "lif_cv", "membrane_density", "__version__"]
