"""Explanation benchmark, in one process: per entity, the cost of TreeSHAP (LightGBM
``pred_contrib``, one thread and every core) and of turning contributions into reasons, tags and
red-flag lists, for the per-entity loop explanations used to run (``tests/model/
explain_reference.py``, the baseline) and the vectorised ``explain``; the two outputs are
checked equal. Profiles, sectors and red flags are built once beforehand; wall and CPU seconds
(CPU: what a shared machine's load inflates least).

    python benchmarks/bench_explain.py --world /tmp/w10k --model /tmp/model.pkl --entities 5000

``--model`` is a ``(RiskModel, Baselines)`` pickle as ``bench_score.py``'s training step writes.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from _common import machine_line

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.model.explain_reference
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--entities", type=int, default=5000)
    args = parser.parse_args()
    import lightgbm
    import polars as pl

    import flowrisk.models.explain as vectorised
    from flowrisk.features import build_profiles, red_flags
    from flowrisk.io import read_dataset
    from tests.model import explain_reference as before

    print(f"{datetime.now(UTC).date()}; "
          f"{machine_line(polars=pl.__version__, lightgbm=lightgbm.__version__)}")
    model, baselines = pickle.loads(Path(args.model).read_bytes())
    frames = read_dataset(Path(args.world))
    ids = frames["entities"].select("entity_id").collect()["entity_id"].to_list()[: args.entities]
    profiles = build_profiles(frames, AS_OF, baselines, entities=ids).collect(engine="streaming")
    sectors = (frames["entities"].filter(pl.col("entity_id").is_in(ids))
               .select("entity_id", "sector_code").collect())
    flags = red_flags(frames, AS_OF, ids)
    n = profiles.height
    c1, w1, u1 = timed(lambda: vectorised.contributions(model, profiles, 1))
    c0, w0, u0 = timed(lambda: vectorised.contributions(model, profiles, 0))
    assert (c0 == c1).all(), "TreeSHAP on every core changed a contribution"
    before.contributions = lambda *_: c1  # the loops alone, TreeSHAP measured above
    vectorised.contributions = lambda *_: c1
    kw = {"baselines": baselines, "sectors": sectors, "red_flags": flags}
    old, wo, uo = timed(lambda: before.explain(model, profiles, **kw))
    new, wn, un = timed(lambda: vectorised.explain(model, profiles, **kw))
    assert new.write_ndjson() == old.write_ndjson(), "the vectorised explanations differ"
    print(f"{n:,} entities, {flags.height:,} red flags; outputs identical")
    print("| step | wall us/entity | CPU us/entity | vs per-entity loop (CPU) |")
    print("|---|---:|---:|---:|")
    for name, w, u in (("TreeSHAP, 1 thread", w1, u1), ("TreeSHAP, every core", w0, u0),
                       ("reasons: per-entity loop (before)", wo, uo),
                       ("reasons: vectorised (now)", wn, un)):
        print(f"| {name} | {w / n * 1e6:,.0f} | {u / n * 1e6:,.0f} | {u / uo:.2f} |")


if __name__ == "__main__":
    main()
