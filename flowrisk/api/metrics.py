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
    """Request counts and latencies by route and status, scores by band, the model version."""

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

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def scored(self, band: str | None) -> None:
        self.scores.labels(band or "unknown").inc()

    def model_version(self, version: str | None) -> None:
        self.version.clear()
        self.version.labels(version or "unknown").set(1)

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
