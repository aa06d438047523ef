"""Gradient fitting of network parameters to target rates (optax, implicit gradients)."""

from ._rates import FitResult, fit_rates, rate_loss, scale_pathways

__all__ = ["FitResult", "fit_rates", "rate_loss", "scale_pathways"]
