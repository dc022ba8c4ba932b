"""The scoring service: FastAPI app factory, payload models, API keys and the audit trail."""

from flowrisk.api.app import ApiConfig, app_from_settings, create_app

__all__ = ["ApiConfig", "app_from_settings", "create_app"]
