"""The audit room: the service's database of API keys (only their hashes) and the append-only,
hash-chained audit trail of who looked up whom, when and why, shared by the API and the
command line."""

from flowrisk.audit.chain import GENESIS, ChainReport
from flowrisk.audit.store import AUDIT_COLUMNS, ROLES, ApiKey, Store

__all__ = ["AUDIT_COLUMNS", "GENESIS", "ROLES", "ApiKey", "ChainReport", "Store"]
