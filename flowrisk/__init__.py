"""flowrisk: explainable money-laundering risk scoring of people and companies."""

__version__ = "0.1.0"
__all__ = ["__version__"]
