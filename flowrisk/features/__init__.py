"""Entity profiles: the feature catalog and the one feature path used everywhere, with the red
flags and the rule-engine baseline each family computes on the same legs and thresholds.

>>> from flowrisk.features import build_profiles, fit_baselines  # doctest: +SKIP
>>> profiles = build_profiles(frames, as_of, fit_baselines(frames, as_of)).collect()
>>> flags = red_flags(frames, as_of, ["E000042"])  # doctest: +SKIP
"""

from flowrisk.features.baselines import Baselines, fit_baselines, reference_baselines
from flowrisk.features.build import (
    RunMode,
    build_partition,
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
    RedFlag,
    catalog,
    catalog_markdown,
    check_evidence_links,
    evidence_links,
    feature_names,
    red_flag_catalog,
)
from flowrisk.features.context import HORIZON_DAYS, entity_legs
from flowrisk.features.evidence import FLAG_SCHEMA, MAX_EVIDENCE
from flowrisk.features.flags import red_flags, red_flags_of
from flowrisk.features.partitions import (
    Partitioned,
    fit_baselines_partitioned,
    profile_partition,
    profiles_at_dates,
    profiles_partitioned,
    sector_metrics_partition,
)
from flowrisk.features.rules import rule_scores, rules
from flowrisk.features.signal import auc, feature_signal

__all__ = [
    "FAMILY_TYPOLOGY",
    "FEATURE_SET",
    "FEATURE_SET_VERSION",
    "FLAG_SCHEMA",
    "HORIZON_DAYS",
    "MAX_EVIDENCE",
    "Baselines",
    "Feature",
    "Partitioned",
    "RedFlag",
    "RunMode",
    "auc",
    "build_partition",
    "build_profiles",
    "catalog",
    "catalog_markdown",
    "check_evidence_links",
    "collect_plans",
    "entity_legs",
    "entity_partitions",
    "evidence_links",
    "feature_names",
    "feature_signal",
    "fit_baselines",
    "fit_baselines_partitioned",
    "frames_for_entities",
    "iter_profile_partitions",
    "partitions_for",
    "profile_partition",
    "profiles_at_dates",
    "profiles_partitioned",
    "red_flag_catalog",
    "red_flags",
    "red_flags_of",
    "reference_baselines",
    "rule_scores",
    "rules",
    "sector_metrics_partition",
]
