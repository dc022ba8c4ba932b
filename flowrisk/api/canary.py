"""The canary a model passes before the service scores with it, at start-up and on every reload.

First what the model is made of: features flowrisk computes and that the booster was trained on
(by name and order), a calibration that is strictly increasing and stays strictly inside (0, 1)
(finite knots in order, bounds beyond the end knots, positive tail scales), a threshold on the
0-100 score per band, in order. Then
what it does: a fixed payload scored through the path of ``POST /v1/scores`` (``payload_frames``,
then ``score_frames`` with its explanation), and the held-out sample the bundle carries scored
by the model itself. Every probability must be finite and within [0, 1], every band known, the
explanation present; otherwise :class:`~flowrisk.errors.ModelRejected` says which check failed,
so a version that would fail every request never serves one."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from pydantic import ValidationError

from flowrisk.api.schemas import ScoreRequest, ScoreResponse
from flowrisk.errors import ModelRejected
from flowrisk.features import feature_names
from flowrisk.models.scorer import RiskModel
from flowrisk.models.scoring import Loaded, score_frames
from flowrisk.schema import BANDS

__all__ = ["CANARY_AS_OF", "canary_request", "check_model", "failure_reason"]

CANARY_AS_OF = datetime(2025, 1, 1, tzinfo=UTC)
_ENTITY = "CANARY-P1"
_OWN, _SAVINGS, _OTHER = "CANARY-A1", "CANARY-A2", "CANARY-X1"


def _transactions() -> list[dict[str, Any]]:
    """Three months of an ordinary life with a few cash deposits just under a threshold, so
    that counts, sums, ratios and red flags all have something to compute on."""
    rows: list[dict[str, Any]] = []
    for month in (10, 11, 12):
        rows += [
            {"ts": f"2024-{month}-01T09:00:00+00:00", "src_account_id": _OTHER,
             "dst_account_id": _OWN, "amount": 2_850.0, "channel": "wire"},
            {"ts": f"2024-{month}-05T12:30:00+01:00", "src_account_id": _OWN,
             "dst_account_id": _OTHER, "amount": 64.9, "channel": "card"},
            {"ts": f"2024-{month}-09T16:00:00+00:00", "src_account_id": None,
             "dst_account_id": _OWN, "amount": 9_400.0, "channel": "cash",
             "branch_id": "CANARY-B1"},
            {"ts": f"2024-{month}-20T08:15:00+00:00", "src_account_id": _OWN,
             "dst_account_id": _SAVINGS, "amount": 500.0, "channel": "instant"},
        ]  # fmt: skip
    return [{"txn_id": 9_000_000_000 + i, **row} for i, row in enumerate(rows)]


def canary_request() -> ScoreRequest:
    """The canary payload, parsed from JSON text as any client's payload is."""
    return ScoreRequest.model_validate_json(
        json.dumps(
            {
                "as_of": CANARY_AS_OF.isoformat(),
                "entity": {
                    "entity_id": _ENTITY,
                    "entity_type": "person",
                    "country": "FR",
                    "birth_year": 1980,
                    "declared_income": 36_000.0,
                    "is_pep": False,
                },
                "accounts": [
                    {
                        "account_id": _OWN,
                        "entity_id": _ENTITY,
                        "account_type": "current",
                        "country": "FR",
                        "opened_at": "2015-03-02",
                    },
                    {
                        "account_id": _SAVINGS,
                        "entity_id": _ENTITY,
                        "account_type": "savings",
                        "country": "FR",
                        "opened_at": "2016-06-10",
                    },
                    {"account_id": _OTHER, "account_type": "external", "country": "DE"},
                ],
                "transactions": _transactions(),
            }
        )
    )


def check_model(loaded: Loaded) -> None:
    """Raise ``ModelRejected`` naming the first failed check, or return: the model's features
    are ones flowrisk computes and the booster's own, its calibration and band thresholds are
    numbers in order, the canary payload scores and explains, and the held-out sample (when
    the bundle carries one) scores."""
    model = loaded.bundle.model
    _check_features(model)
    _check_calibration(model)
    _check_thresholds(model)
    _check_canary(loaded)
    _check_sample(loaded)


def _check_features(model: RiskModel) -> None:
    """Features flowrisk computes, each once, the booster's (by name and number)."""
    known = set(feature_names())
    for feature in model.features:
        if feature not in known:
            raise ModelRejected(f"unknown feature {feature!r} in the model")
    if len(set(model.features)) < len(model.features):
        raise ModelRejected("a feature appears twice in the model's feature list")
    try:
        expects = int(model.booster.num_feature())
        names = list(model.booster.feature_name())
    except Exception as exc:
        raise ModelRejected(f"the booster cannot be read: {failure_reason(exc)}") from exc
    if expects != len(model.features):
        raise ModelRejected(
            f"the booster expects {expects} features, the model lists {len(model.features)}"
        )
    unnamed = names == [f"Column_{i}" for i in range(expects)]  # trained from bare arrays
    if not unnamed and names != model.features:
        i = next(i for i, (a, b) in enumerate(zip(names, model.features, strict=True)) if a != b)
        raise ModelRejected(
            f"the booster's feature {i} is {names[i]!r}, the model's is {model.features[i]!r}"
        )


def _check_calibration(model: RiskModel) -> None:
    """Knots that are finite and strictly increasing (raw log-odds and probabilities), strictly
    inside the bounds, bounds strictly inside (0, 1), tail scales positive: a calibration
    that keeps the order of the raw output and never reads 0 or 1."""
    x = np.asarray(model.calibration_x, dtype=np.float64)
    y = np.asarray(model.calibration_y, dtype=np.float64)
    if x.size == 0 or x.shape != y.shape:
        raise ModelRejected(f"the calibration has {x.size} raw and {y.size} calibrated knots")
    if not np.isfinite(y).all():
        raise ModelRejected(f"calibration gives NaN ({int((~np.isfinite(y)).sum())} knots)")
    if not np.isfinite(x).all() or (np.diff(x) <= 0).any():
        raise ModelRejected("the calibration's raw scores are not finite and strictly increasing")
    if ((y <= 0) | (y >= 1)).any():
        raise ModelRejected("the calibration gives probabilities outside (0, 1)")
    if (np.diff(y) <= 0).any():
        raise ModelRejected("the calibration's probabilities are not strictly increasing")
    floor, ceiling = (float(v) for v in model.calibration_bounds)
    if not 0 < floor < y[0] or not y[-1] < ceiling < 1:
        raise ModelRejected(
            f"the calibration's bounds ({floor!r}, {ceiling!r}) do not enclose its knots "
            "strictly inside (0, 1)"
        )
    tails = np.asarray(model.calibration_tails, dtype=np.float64)
    if tails.shape != (2,) or not np.isfinite(tails).all() or (tails <= 0).any():
        raise ModelRejected(f"the calibration's tail scales {tails.tolist()} are not positive")


def _check_thresholds(model: RiskModel) -> None:
    """A threshold on the 0-100 score for every band above the lowest, in increasing order."""
    thresholds = model.thresholds if isinstance(model.thresholds, dict) else {}
    previous = -math.inf
    for band in BANDS[1:]:
        threshold = thresholds.get(band)
        if not isinstance(threshold, int | float) or not math.isfinite(threshold):
            raise ModelRejected(f"the band threshold of {band!r} is {threshold!r}, not a number")
        if not 0 <= threshold <= 100:
            raise ModelRejected(
                f"the band threshold of {band!r} is {threshold!r}, not a 0-100 score"
            )
        if threshold < previous:
            raise ModelRejected(f"the band threshold of {band!r} is below the band before it")
        previous = threshold


def _check_canary(loaded: Loaded) -> None:
    """The canary payload through the scoring route's path, explained."""
    from flowrisk.api.service import payload_frames  # the service holds the model: no cycle

    request = canary_request()
    try:
        frames = payload_frames(request)
        row = score_frames(frames, request.entity.entity_id, request.as_of, loaded, True)
    except Exception as exc:
        raise ModelRejected(f"the canary payload does not score: {failure_reason(exc)}") from exc
    _check_probabilities([row.get("probability")], "the canary payload")
    _check_bands([row.get("band")], "the canary payload")
    if not isinstance(row.get("reasons"), list) or not isinstance(row.get("red_flags"), list):
        raise ModelRejected("the canary payload's explanation is missing")
    for reason in row["reasons"]:
        value = reason.get("contribution")
        if not isinstance(value, int | float) or not math.isfinite(value):
            feature = reason.get("feature")
            raise ModelRejected(f"the explanation gives {feature!r} a contribution of {value!r}")
    try:
        ScoreResponse.model_validate(row)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ModelRejected(f"the canary's response is invalid: {where}: {first['msg']}") from exc


def _check_sample(loaded: Loaded) -> None:
    """The bundle's held-out profiles, scored by the model (nothing to do without any)."""
    sample, model = loaded.bundle.sample, loaded.bundle.model
    if sample is None:
        return
    if sample.is_empty():
        raise ModelRejected("the held-out sample is empty")
    missing = [f for f in model.features if f not in sample.columns]
    if missing:
        raise ModelRejected(f"the held-out sample lacks feature {missing[0]!r} of the model")
    try:
        raw = model.raw(sample)
        probabilities, _, bands = model.scored(raw)
    except Exception as exc:
        raise ModelRejected(f"the held-out sample does not score: {failure_reason(exc)}") from exc
    if not np.isfinite(raw).all():
        bad = int((~np.isfinite(raw)).sum())
        raise ModelRejected(f"the booster gives NaN on {bad} of {len(raw)} held-out profiles")
    _check_probabilities(probabilities.tolist(), "the held-out sample")
    _check_bands(bands.tolist(), "the held-out sample")


def _check_probabilities(values: Iterable[Any], what: str) -> None:
    values = list(values)
    for value in values:
        if not isinstance(value, int | float) or math.isnan(value):
            bad = sum(1 for v in values if not isinstance(v, int | float) or math.isnan(v))
            raise ModelRejected(f"calibration gives NaN on {what} ({bad} of {len(values)})")
        if not 0.0 < value < 1.0:
            raise ModelRejected(f"calibration gives {value!r} on {what}, outside (0, 1)")


def _check_bands(values: Iterable[Any], what: str) -> None:
    for value in values:
        if str(value) not in BANDS:
            raise ModelRejected(f"unknown band {value!r} on {what} (known: {', '.join(BANDS)})")


def failure_reason(exc: BaseException) -> str:
    """One line saying what went wrong: the message of a flowrisk error, otherwise the
    exception's type and the first line of its message (bounded)."""
    from flowrisk.errors import FlowriskError

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    line = text if isinstance(exc, FlowriskError) else f"{type(exc).__name__}: {text}".rstrip(": ")
    return line if len(line) <= 300 else f"{line[:297]}..."
