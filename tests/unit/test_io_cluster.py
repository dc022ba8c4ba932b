"""Partition functions run here or on a Dask cluster: results in call order, values shared
with every call, and a clear error naming --scheduler when nothing answers at the address."""

from __future__ import annotations

import pytest

from flowrisk.errors import InvalidParameter
from flowrisk.io.cluster import check_engine, dask_client, in_order, on_cluster


def scaled(value: int, factor: int, offset: int = 0) -> int:
    return value * factor + offset


def test_here_and_on_a_cluster_in_call_order() -> None:
    from distributed import Client, LocalCluster

    calls = [(v,) for v in range(12)]
    shared = {"factor": 3, "offset": 1}
    here = list(in_order(scaled, calls, None, shared))
    assert here == [3 * v + 1 for v in range(12)]
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=2, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        assert list(in_order(scaled, calls, client, shared)) == here


def test_engine_and_scheduler_are_checked() -> None:
    check_engine("local", None)
    check_engine("dask", "tcp://127.0.0.1:8786")
    with pytest.raises(InvalidParameter, match="local or dask"):
        check_engine("spark", None)
    with pytest.raises(InvalidParameter, match="scheduler"):
        check_engine("dask", None)


def test_no_scheduler_at_the_address_names_the_option() -> None:
    with pytest.raises(
        InvalidParameter, match=r"--scheduler: no Dask scheduler at tcp://127.0.0.1:9"
    ):
        dask_client("tcp://127.0.0.1:9")
    with on_cluster(None) as client:  # no address: nothing to connect to, work runs here
        assert client is None


def test_flowrisk_errors_cross_process_boundaries() -> None:
    """A worker's error is pickled back to the command: same class, message and fields."""
    import pickle

    from flowrisk.errors import AuditChainBroken, SchemaMismatch

    for error in (
        InvalidParameter("as_of", "must be timezone-aware"),
        SchemaMismatch("transactions", "amount", "has type String"),
        AuditChainBroken(7, "row 7 does not chain"),
    ):
        back = pickle.loads(pickle.dumps(error))
        assert type(back) is type(error) and str(back) == str(error)
        assert back.__dict__ == error.__dict__
