"""The feature families, in profile order; importing them registers their features."""

from flowrisk.features.families import (
    business,
    cash,
    crypto,
    flows,
    geography,
    network,
    reports,
    wealth,
)

FAMILIES = (cash, flows, geography, crypto, business, wealth, network, reports)

__all__ = ["FAMILIES"]
