"""The one exception tree of flowrisk.

    FlowriskError
    ├── ConfigError            a setting is missing or unsafe
    ├── InvalidParameter       a caller passed a value out of range (names the parameter)
    ├── DatasetError           a dataset folder cannot be read as the data model says
    │   ├── DatasetNotFound    the folder or a required table file is missing
    │   ├── DatasetCorrupted   a file's bytes differ from the SHA-256 its manifest lists
    │   └── SchemaMismatch     a column is missing or has a type that cannot be cast
    ├── ContractViolation      rows break a data contract (rules are named)
    ├── ModelNotFound          no model under the requested URI or alias
    ├── ModelRejected          a model loads but fails its canary (it keeps no request)
    ├── EntityNotFound         an entity id is not in the dataset
    └── AuditError             the audit trail cannot be trusted or written
        ├── AuditUnavailable   a row could not be committed in time (locked, full, down)
        └── AuditChainBroken   a row is missing, rewritten or out of its hash chain

Errors are mapped to exit codes only in ``cli/`` and to HTTP problems only in ``api/``.
"""

from __future__ import annotations

__all__ = [
    "AuditChainBroken",
    "AuditError",
    "AuditUnavailable",
    "ConfigError",
    "ContractViolation",
    "DatasetCorrupted",
    "DatasetError",
    "DatasetNotFound",
    "EntityNotFound",
    "FlowriskError",
    "InvalidParameter",
    "ModelNotFound",
    "ModelRejected",
    "SchemaMismatch",
]


def _rebuilt(cls: type[Exception], args: tuple[object, ...], state: dict[str, object]) -> Exception:
    """An error of ``cls`` with ``args`` and attributes ``state``, without calling its own
    ``__init__`` (whose parameters differ from its ``args``)."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class FlowriskError(Exception):
    """Base of every error flowrisk raises on purpose."""

    def __reduce__(self) -> tuple[object, ...]:
        """Picklable whatever the subclass's parameters: an error raised on a Dask worker
        reaches the command as the same error."""
        return (_rebuilt, (type(self), self.args, dict(self.__dict__)))


class ConfigError(FlowriskError):
    """A setting is missing, malformed or unsafe."""


class InvalidParameter(FlowriskError, ValueError):
    """A parameter is out of its allowed range; the message names the parameter."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        self.message = message
        super().__init__(f"{name}: {message}")


class DatasetError(FlowriskError):
    """A dataset folder cannot be read as the data model says."""


class DatasetNotFound(DatasetError):
    """The dataset folder, or one of its required tables, does not exist."""


class DatasetCorrupted(DatasetError):
    """A table file's SHA-256 differs from the digest its dataset's manifest lists."""

    def __init__(self, path: str, expected: str, actual: str) -> None:
        self.path = path
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{path}: corrupted, its SHA-256 {actual[:12]}... differs from the manifest's "
            f"{expected[:12]}..."
        )


class SchemaMismatch(DatasetError):
    """A table lacks a required column or holds a type that cannot be cast."""

    def __init__(self, table: str, column: str, message: str) -> None:
        self.table = table
        self.column = column
        super().__init__(f"{table}.{column}: {message}")


class ContractViolation(FlowriskError):
    """Rows break a data contract; ``rules`` lists the rules broken."""

    def __init__(self, message: str, rules: list[str] | None = None) -> None:
        self.rules = rules or []
        super().__init__(message)


class ModelNotFound(FlowriskError):
    """No registered model answers the requested URI or alias."""


class EntityNotFound(FlowriskError):
    """The requested entity id is not in the dataset."""


class ModelRejected(FlowriskError):
    """A model version loads but fails its canary (a payload or its held-out sample does not
    score to finite probabilities); the service keeps the model it has."""


class AuditError(FlowriskError):
    """The audit trail cannot be written or trusted."""


class AuditUnavailable(AuditError):
    """An audit row could not be durably committed within the timeout (the database is locked,
    full, read-only or down): the request that needed it must not be answered."""


class AuditChainBroken(AuditError):
    """A row of the audit trail is missing, rewritten or does not chain to the one before."""

    def __init__(self, row_id: int | None, message: str) -> None:
        self.row_id = row_id
        super().__init__(message)
