"""Settings: read from the environment, absolute paths, SQLite defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowrisk.config import Settings


def test_defaults_live_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWRISK_HOME", str(tmp_path / "h"))
    s = Settings()
    assert s.home == (tmp_path / "h").resolve()
    assert s.tracking_uri == f"sqlite:////{str(s.home / 'mlflow.db').lstrip('/')}"
    assert s.audit_url.endswith("audit.db")
    assert s.data_dir == s.home / "data"


def test_services_are_one_setting_away(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWRISK_MLFLOW_URI", "http://127.0.0.1:5000")
    monkeypatch.setenv("FLOWRISK_DATABASE_URL", "postgresql://127.0.0.1/test")
    s = Settings()
    assert s.tracking_uri == "http://127.0.0.1:5000"
    assert s.audit_url == "postgresql://127.0.0.1/test"


def test_relative_home_is_made_absolute(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWRISK_HOME", "rel/dir")
    assert Settings().home.is_absolute()


def test_reports_speak_english_unless_flowrisk_locale_says_french(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pydantic import ValidationError

    monkeypatch.delenv("FLOWRISK_LOCALE", raising=False)
    assert Settings().locale == "en"
    monkeypatch.setenv("FLOWRISK_LOCALE", "fr")
    assert Settings().locale == "fr"
    monkeypatch.setenv("FLOWRISK_LOCALE", "de")
    with pytest.raises(ValidationError, match="locale"):
        Settings()
