"""Gradient fitting of network parameters to target rates and oscillations (optax, implicit
gradients)."""

from ._oscillation import OscillationFit, fit_oscillation
from ._rates import FitResult, fit_rates, rate_loss, scale_pathways

__all__ = ["FitResult", "fit_rates", "rate_loss", "scale_pathways", "OscillationFit", "fit_oscillation"]
