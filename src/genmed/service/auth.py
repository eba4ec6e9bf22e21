"""API keys and roles for the REST service.

A key is shown once when it is made (``gm_<key id>_<secret>``); the key store keeps only its SHA-256, the name of
its holder and a role. Roles map to permissions in :data:`ROLES` (role-based access control: an endpoint asks for
a permission, never for a role), so adding a role is one line and no endpoint changes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from genmed.core.errors import AccessDeniedError, ConfigError, InputError

# role -> permissions. Clinicians and pharmacists plan and call genotypes; data stewards de-identify and audit.
ROLES: dict[str, frozenset[str]] = {
    "clinician": frozenset({"plan:create", "plan:read", "pgx:call"}),
    "pharmacist": frozenset({"plan:create", "plan:read", "pgx:call"}),
    "data-steward": frozenset({"privacy:deidentify", "audit:verify"}),
    "auditor": frozenset({"audit:verify"}),
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@-]{0,63}$")
_KEY = re.compile(r"^gm_([0-9a-f]{8})_([A-Za-z0-9_-]{20,})$")


class AuthenticationError(AccessDeniedError):
    """No key, or a key the store does not know (HTTP 401)."""

    http_status = 401
    title = "not authenticated"


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    name: str
    role: str
    sha256: str
    created: str
    revoked: bool = False


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's holder, role and the permissions the role grants."""

    key_id: str
    name: str
    role: str

    @property
    def permissions(self) -> frozenset[str]:
        return ROLES.get(self.role, frozenset())

    def require(self, permission: str) -> None:
        if permission not in self.permissions:
            raise AccessDeniedError(f"role {self.role!r} may not {permission}",
                                    hint=f"roles with it: {', '.join(r for r, p in ROLES.items() if permission in p)}")


def default_keys_path() -> Path:
    from genmed.core.config import get_settings

    return Path(get_settings().home) / "service" / "api_keys.json"


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyStore:
    """API keys in one JSON file (mode 0600), rewritten atomically."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_keys_path()

    def load(self) -> list[ApiKey]:
        if not self.path.exists():
            return []
        try:
            doc = json.loads(self.path.read_text())
            return [ApiKey(**k) for k in doc["keys"]]
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(f"not a genmed API key store ({exc})", source=str(self.path)) from None

    def _save(self, keys: list[ApiKey]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".api_keys.")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump({"keys": [asdict(k) for k in keys]}, fh, indent=1)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def add(self, name: str, role: str) -> tuple[ApiKey, str]:
        """Make a key for ``name`` with ``role``; returns the record and the secret key (shown once)."""
        if role not in ROLES:
            raise InputError(f"unknown role {role!r}", hint=f"choose from {', '.join(ROLES)}")
        if not _NAME.match(name):
            raise InputError("key name must be 1-64 letters, digits, spaces or ._@- (who holds the key)")
        keys = self.load()
        key_id = secrets.token_hex(4)
        while any(k.key_id == key_id for k in keys):
            key_id = secrets.token_hex(4)
        secret = secrets.token_urlsafe(32)
        record = ApiKey(key_id, name, role, _digest(secret), datetime.now(UTC).isoformat(timespec="seconds"))
        self._save([*keys, record])
        return record, f"gm_{key_id}_{secret}"

    def revoke(self, key_id: str) -> ApiKey:
        keys = self.load()
        for i, k in enumerate(keys):
            if k.key_id == key_id:
                keys[i] = ApiKey(**(asdict(k) | {"revoked": True}))
                self._save(keys)
                return keys[i]
        raise InputError(f"no API key with id {key_id!r}", source=str(self.path))

    def authenticate(self, presented: str | None) -> Principal:
        """The principal behind a presented key; constant-time comparison of digests."""
        if not presented:
            raise AuthenticationError("no API key", hint="send 'Authorization: Bearer gm_...'")
        m = _KEY.match(presented.strip())
        if not m:
            raise AuthenticationError("malformed API key")
        key_id, secret = m.groups()
        for k in self.load():
            if k.key_id == key_id and hmac.compare_digest(k.sha256, _digest(secret)):
                if k.revoked:
                    raise AuthenticationError("API key revoked")
                return Principal(k.key_id, k.name, k.role)
        raise AuthenticationError("unknown API key")
