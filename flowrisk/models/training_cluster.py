"""Where a training run's heavy stages run with ``--engine dask``: the snapshots' partitions on
the cluster, and LightGBM there too when the training matrix is larger than a limit (the rule
``flowrisk train --cluster-fit-above`` sets)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from flowrisk.features import Partitioned, feature_names
from flowrisk.models.dataset import Split

__all__ = ["Cluster", "cluster_fit_above", "fits_on_cluster"]


def cluster_fit_above() -> int:
    """The default size (bytes) of the training matrix above which ``--engine dask`` fits
    LightGBM on the cluster: a quarter of this machine's memory (LightGBM's binned copy and the
    evaluation need the rest)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def fits_on_cluster(split: Split, features: int, above: int) -> bool:
    """Whether the training matrix (rows x features x 8 bytes) is larger than ``above``."""
    return split.train.height * features * 8 > above


@dataclass(frozen=True)
class Cluster:
    """Where a training run's heavy stages run: the snapshots' partitions (``on``), and the
    Dask client the fit uses when the matrix is larger than ``fit_above`` bytes."""

    on: Partitioned | None = None
    fit_above: int | None = None

    @property
    def client(self) -> Any:
        return self.on.client if self.on is not None else None

    def fit_client(self, split: Split) -> Any:
        """The client to fit ``split`` with: the cluster's when its training matrix is larger
        than the limit, else None (fitted here)."""
        above = self.fit_above if self.fit_above is not None else cluster_fit_above()
        if self.client is not None and fits_on_cluster(split, len(feature_names()), above):
            return self.client
        return None
