"""Names in the model registry: the registered model, its version numbers, its aliases and the
model URIs that point at them. Checked here, before any store is touched, so that a bad argument
is refused by name and never creates a database."""

from __future__ import annotations

import re

from flowrisk.errors import InvalidParameter

__all__ = [
    "CHAMPION",
    "MODEL_NAME",
    "alias_name",
    "model_uri",
    "parse_ref",
    "uri_ref",
    "version_number",
]

MODEL_NAME = "flowrisk"
CHAMPION = "champion"
_ALIAS = r"[A-Za-z_][\w-]{0,254}"
_REF = re.compile(rf"(?P<version>[1-9]\d{{0,9}})|@?(?P<alias>{_ALIAS})")
_URI = re.compile(rf"models:/{MODEL_NAME}(?:/(?P<version>[1-9]\d{{0,9}})|@(?P<alias>{_ALIAS}))")
_RESERVED = re.compile(r"latest|v\d+", re.IGNORECASE)  # aliases MLflow refuses to set


def model_uri(version: str | None = None, alias: str = CHAMPION) -> str:
    """``models:/flowrisk/<version>`` or ``models:/flowrisk@<alias>``."""
    return f"models:/{MODEL_NAME}/{version}" if version else f"models:/{MODEL_NAME}@{alias}"


def parse_ref(ref: str) -> tuple[str | None, str | None]:
    """(version, alias) of a version number (``3``) or an alias (``champion``, ``@champion``);
    exactly one of the two is set."""
    found = _REF.fullmatch(ref)
    if found is None:
        raise InvalidParameter("version", f"{ref!r} is neither a version number nor an alias")
    return found["version"], found["alias"]


def version_number(version: str) -> str:
    """A version number, checked (an alias is refused)."""
    number, _ = parse_ref(version)
    if number is None:
        raise InvalidParameter("version", f"{version!r} is not a version number")
    return number


def alias_name(alias: str) -> str:
    """An alias that can be set, without its ``@`` (MLflow reserves ``latest`` and ``v<n>``)."""
    _, name = parse_ref(alias)
    if name is None or _RESERVED.fullmatch(name):
        raise InvalidParameter("alias", f"{alias!r} cannot name an alias")
    return name


def uri_ref(uri: str) -> str:
    """The version number or ``@alias`` a flowrisk model URI points at."""
    found = _URI.fullmatch(uri)
    if found is None:
        raise InvalidParameter(
            "model", f"{uri!r} is not {model_uri('3')} or {model_uri()} (a version or an alias)"
        )
    return str(found["version"] or f"@{found['alias']}")
