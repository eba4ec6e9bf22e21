"""Logging that never prints patient identifiers.

Two layers: (1) readers register the identifiers they see (names, MRNs, sample IDs) with
:func:`register_identifier`, and every log record has them replaced by a keyed pseudonym; (2) pattern scrubbing
for identifiers we were not told about (e-mails, phone numbers, SSNs, dates). Use :func:`pseudonym` yourself when
you want to log *which* patient a message is about.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
from pathlib import Path

from genmed.core.config import get_settings

_PATTERNS = [
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "[EMAIL]"),
    (re.compile(r"\b\d{3}-\d{2}-\d{4}\b"), "[SSN]"),
    (re.compile(r"(?<!\w)(?:\+?1[-. ]?)?\(?\d{3}\)?[-. ]\d{3}[-. ]\d{4}\b"), "[PHONE]"),
    (re.compile(r"\b(?:19|20)\d{2}-[01]\d-[0-3]\d\b"), "[DATE]"),
]

_lock = threading.Lock()
_identifiers: dict[str, str] = {}
_key: bytes | None = None


def _pseudonym_key() -> bytes:
    global _key
    if _key is None:
        settings = get_settings()
        if settings.pseudonym_key:
            _key = settings.pseudonym_key.encode()
        else:
            path = Path(settings.home) / "pseudonym.key"
            try:
                _key = path.read_bytes()
            except OSError:
                path.parent.mkdir(parents=True, exist_ok=True)
                _key = secrets.token_hex(32).encode()
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as fh:
                    fh.write(_key)
    return _key


def pseudonym(identifier: str, prefix: str = "pt") -> str:
    """Stable keyed pseudonym (HMAC-SHA256) of an identifier, e.g. ``pt-3f9a1c2b7d``."""
    digest = hmac.new(_pseudonym_key(), identifier.encode(), hashlib.sha256).hexdigest()[:10]
    return f"{prefix}-{digest}"


def register_identifier(value: str | None, prefix: str = "pt") -> str | None:
    """Declare a value (name, MRN, sample ID) as identifying: it is replaced in every later log line."""
    if not value or len(value.strip()) < 3:
        return None
    value = value.strip()
    with _lock:
        if value not in _identifiers:
            _identifiers[value] = pseudonym(value, prefix)
        return _identifiers[value]


def scrub(text: str) -> str:
    """Replace registered identifiers and identifier-shaped patterns in ``text``."""
    with _lock:
        known = sorted(_identifiers.items(), key=lambda kv: -len(kv[0]))
    for value, alias in known:
        if value in text:
            text = text.replace(value, alias)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


_DIGIT_RUN = re.compile(r"\d{6,}")


def scrub_file_name(name: str) -> str:
    """A file name safe to show beside de-identified data: :func:`scrub`, and runs of 6+ digits (MRNs, accession
    and account numbers that exports put in file names) replaced."""
    return _DIGIT_RUN.sub("[ID]", scrub(name))


class PHIScrubFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        return True


def get_logger(name: str) -> logging.Logger:
    """A logger under ``genmed`` whose handlers scrub PHI (configure once with :func:`configure_logging`)."""
    return logging.getLogger(name if name.startswith("genmed") else f"genmed.{name}")


def configure_logging(level: str | None = None, stream=None) -> None:
    root = logging.getLogger("genmed")
    root.setLevel(level or get_settings().log_level)
    if not any(isinstance(f, PHIScrubFilter) for h in root.handlers for f in h.filters):
        handler = logging.StreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(PHIScrubFilter())
        root.addHandler(handler)
    root.propagate = False
