"""The check every output surface shares: the band an entity shows never steps down as its
displayed score rises, and no probability reads 0.000 or 1.000."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from flowrisk.schema import BANDS

__all__ = ["assert_bands_follow_scores", "assert_no_certain_probability"]


def assert_bands_follow_scores(shown: Iterable[tuple[float, str]]) -> None:
    """``shown`` holds (displayed score, band) pairs from one surface; sorted by score, the
    bands never go down, and equal scores show one band."""
    pairs = sorted((float(score), BANDS.index(str(band))) for score, band in shown)
    assert len(pairs) >= 2, "a monotonicity check needs at least two entities"
    for (s1, b1), (s2, b2) in itertools.pairwise(pairs):
        ok = b1 <= b2 and (s1 != s2 or b1 == b2)
        assert ok, f"score {s1} shows {BANDS[b1]}, score {s2} shows {BANDS[b2]}"
    assert len({b for _, b in pairs}) >= 2, "the entities checked span a single band"


def assert_no_certain_probability(texts: Iterable[str]) -> None:
    """No printed probability reads as certainty either way."""
    for text in texts:
        assert text not in ("0.000", "1.000"), f"a probability printed as {text}"
