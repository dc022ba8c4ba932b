"""A small dataset for network tests: eight entities with two accounts each, three outside
accounts, transactions and ties given as tuples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from flowrisk.schema import TABLES

AS_OF = datetime(2025, 7, 1, tzinfo=UTC)
ENTITIES = [f"E{i}" for i in range(8)]
# two accounts per entity, and three outside accounts
ACCOUNTS = [(f"A{i}{k}", e) for i, e in enumerate(ENTITIES) for k in "ab"] + [
    (f"X{i}", None) for i in range(3)
]
ACCOUNT_IDS = [a for a, _ in ACCOUNTS]


def tiny_frames(
    txns: list[tuple[int, int | None, int | None, float]], ties: list[tuple[int, int, str, int]]
) -> dict[str, pl.LazyFrame]:
    """A small dataset: ``txns`` as (day offset from AS_OF, src index, dst index, amount),
    ``ties`` as (owner, owned, role, day offset of since)."""
    entities = pl.DataFrame(
        {
            "entity_id": ENTITIES,
            "entity_type": ["person" if i % 2 else "company" for i in range(len(ENTITIES))],
            "name": [f"Name {e}" for e in ENTITIES],
            "country": ["FR"] * len(ENTITIES),
        }
    )
    accounts = pl.DataFrame(
        {
            "account_id": ACCOUNT_IDS,
            "entity_id": [e for _, e in ACCOUNTS],
            "account_type": ["current" if e else "external" for _, e in ACCOUNTS],
        }
    )
    tx = pl.DataFrame(
        {
            "txn_id": list(range(1, len(txns) + 1)),
            "ts": [AS_OF + timedelta(days=d, hours=1) for d, *_ in txns],
            "src_account_id": [None if s is None else ACCOUNT_IDS[s] for _, s, _, _ in txns],
            "dst_account_id": [None if t is None else ACCOUNT_IDS[t] for _, _, t, _ in txns],
            "amount": [a for *_, a in txns],
            "channel": ["wire"] * len(txns),
        },
        schema_overrides={"ts": pl.Datetime("us", "UTC")},
    )
    own = pl.DataFrame(
        {
            "owner_entity_id": [ENTITIES[o] for o, *_ in ties],
            "owned_entity_id": [ENTITIES[d] for _, d, *_ in ties],
            "role": [r for _, _, r, _ in ties],
            "share_pct": [50.0] * len(ties),
            "since": [AS_OF.date() + timedelta(days=s) for *_, s in ties],
        }
    )
    raw = {"entities": entities, "accounts": accounts, "transactions": tx, "ownership": own}
    return {
        name: frame.with_columns(
            [
                pl.lit(None, dtype=dt).alias(c)
                for c, dt in TABLES[name].schema.items()
                if c not in frame.columns
            ]
        )
        .select(TABLES[name].schema.names())
        .cast(dict(TABLES[name].schema))
        .lazy()
        for name, frame in raw.items()
    }
