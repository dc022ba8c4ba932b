"""The one Settings object: every tunable read from the environment (prefix ``FLOWRISK_``).

Nothing is read at import time; call :func:`get_settings` at the edges (CLI, API start-up).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "get_settings"]


class Settings(BaseSettings):
    """Where flowrisk keeps its state and which services it talks to."""

    model_config = SettingsConfigDict(env_prefix="FLOWRISK_", extra="ignore")

    home: Path = Field(
        default=Path(".flowrisk"),
        description="Folder for generated data, the MLflow SQLite store and the audit database.",
    )
    mlflow_uri: str | None = Field(
        default=None, description="Tracking server URI; default is a SQLite store under home."
    )
    database_url: str | None = Field(
        default=None, description="Audit database URL; default is a SQLite file under home."
    )
    seed: int = Field(default=42, ge=0, description="Default seed for generation and training.")
    api_max_body_bytes: int = Field(
        default=8 * 1024 * 1024, ge=1024, description="Largest request body the API accepts (413)."
    )
    api_max_transactions: int = Field(
        default=10_000, ge=1, description="Most transactions in one scoring request (413)."
    )
    api_batch_max: int = Field(
        default=100, ge=1, description="Most entities in one POST /v1/scores:batch (413)."
    )
    api_max_header_bytes: int = Field(
        default=16 * 1024, ge=1024, description="Largest total size of a request's headers (431)."
    )
    api_max_headers: int = Field(
        default=64, ge=8, description="Most header fields in one request (431)."
    )
    api_request_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Longest a request may take before a 503 answers it."
    )
    api_auth_failures_per_minute: int = Field(
        default=10,
        ge=1,
        description="Failed authentications per key id (or client address) per minute before 429.",
    )
    purpose_min_length: int = Field(
        default=4,
        ge=1,
        description="Fewest printable characters of an X-Purpose or --purpose, after trimming.",
    )
    audit_timeout_seconds: float = Field(
        default=2.0,
        gt=0,
        description="Longest wait for an audit write (lock, network) before refusing the request.",
    )

    console_session_minutes: int = Field(
        default=480,
        ge=1,
        description="How long a console session lasts after sign-in, in minutes.",
    )
    console_secure_cookie: bool = Field(
        default=True,
        description="Mark the console's session cookie Secure (browsers still send it to "
        "http://127.0.0.1 and http://localhost).",
    )
    locale: Literal["en", "fr"] = Field(
        default="en",
        description="Language of reports and of the console when a user has chosen none: en, fr.",
    )

    reporting_entity_id: str | None = Field(
        default=None,
        max_length=50,
        description="The reporting entity's id at the financial intelligence unit (goAML "
        "rentity_id), written in every goAML export; exports are refused while it is unset.",
    )

    serve_dataset: Path | None = Field(
        default=None,
        description="Dataset the service's workers load (set by `flowrisk serve --dataset`).",
    )
    serve_scores: Path | None = Field(
        default=None,
        description="Batch scoring output the console's alert queue shows (set by "
        "`flowrisk serve --scores`).",
    )
    serve_model: str | None = Field(
        default=None,
        description="Model URI the service's workers load (set by `flowrisk serve --model`).",
    )

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @property
    def data_dir(self) -> Path:
        """Folder where generated worlds are written by default."""
        return self.home / "data"

    @property
    def tracking_uri(self) -> str:
        """MLflow tracking URI: the configured server or a SQLite store (four slashes: absolute)."""
        return self.mlflow_uri or f"sqlite:///{self.home / 'mlflow.db'}"

    @property
    def audit_url(self) -> str:
        """Audit database URL: the configured one or a SQLite file under home."""
        return self.database_url or f"sqlite:///{self.home / 'audit.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()
