"""Prometheus metrics of one service instance (its own registry, so that several apps in one
process, as in tests, do not collide)."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

__all__ = ["Metrics"]

BUCKETS = (0.005, 0.01, 0.015, 0.02, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Request counts and latencies by route and status, scores by band, the model version,
    and the audit store: writes that failed (each a request answered 503) and whether the last
    write or readiness probe succeeded."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "flowrisk_requests",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "flowrisk_request_seconds",
            "Request latency",
            ["method", "route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.scores = Counter(
            "flowrisk_scores", "Entities scored, by band", ["band"], registry=self.registry
        )
        self.version = Gauge(
            "flowrisk_model_info",
            "The loaded model (value 1)",
            ["version"],
            registry=self.registry,
        )
        self.audit_failures = Counter(
            "flowrisk_audit_failures",
            "Audit writes that could not be committed (the request was answered 503)",
            ["reason"],
            registry=self.registry,
        )
        self.audit_up = Gauge(
            "flowrisk_audit_ready",
            "1 when the last audit write or readiness probe succeeded, else 0",
            registry=self.registry,
        )
        self.audit_up.set(1)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def scored(self, band: str | None) -> None:
        self.scores.labels(band or "unknown").inc()

    def model_version(self, version: str | None) -> None:
        self.version.clear()
        self.version.labels(version or "unknown").set(1)

    def audit_failed(self, reason: str) -> None:
        """An audit write failed (``unavailable``: the store said so; ``timeout``)."""
        self.audit_failures.labels(reason).inc()
        self.audit_up.set(0)

    def audit_ready(self, ready: bool) -> None:
        self.audit_up.set(1 if ready else 0)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
