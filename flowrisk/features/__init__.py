"""Entity profiles: the feature catalog and the one feature path used everywhere.

>>> from flowrisk.features import build_profiles, fit_baselines  # doctest: +SKIP
>>> profiles = build_profiles(frames, as_of, fit_baselines(frames, as_of)).collect()
"""

from flowrisk.features.baselines import Baselines, fit_baselines, reference_baselines
from flowrisk.features.build import (
    RunMode,
    build_profiles,
    collect_plans,
    entity_partitions,
    frames_for_entities,
    iter_profile_partitions,
    partitions_for,
)
from flowrisk.features.catalog import (
    FAMILY_TYPOLOGY,
    FEATURE_SET,
    FEATURE_SET_VERSION,
    Feature,
    catalog,
    catalog_markdown,
    feature_names,
)
from flowrisk.features.signal import auc, feature_signal

__all__ = [
    "FAMILY_TYPOLOGY",
    "FEATURE_SET",
    "FEATURE_SET_VERSION",
    "Baselines",
    "Feature",
    "RunMode",
    "auc",
    "build_profiles",
    "catalog",
    "catalog_markdown",
    "collect_plans",
    "entity_partitions",
    "feature_names",
    "feature_signal",
    "fit_baselines",
    "frames_for_entities",
    "iter_profile_partitions",
    "partitions_for",
    "reference_baselines",
]
