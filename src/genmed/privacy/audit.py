"""Tamper-evident access log: one JSON line per read or write of patient data, hash-chained.

Each line carries the SHA-256 of the previous line (the first line chains to 64 zeros), so editing one
character, deleting a line or swapping two lines breaks the chain at a line :func:`verify_log` names. A sidecar
``<log>.head`` records the line count and the hash of the last line, so truncating the tail is detected too.
Limit (inherent to hash chains): someone who can rewrite the whole file *and* its head can forge a consistent
log; publish or anchor the head hash elsewhere (``genmed privacy audit verify`` prints it) to close that gap.

Lines hold pseudonymous patient ids only; :func:`record_access` refuses values that look like identifiers.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from genmed.core.errors import InputError

GENESIS = "0" * 64
OUTCOMES = {"success": "0", "denied": "4", "failure": "8", "error": "12"}
# genmed action -> FHIR AuditEvent.action (C create, R read, U update, D delete, E execute)
FHIR_ACTIONS = {
    "create": "C", "write": "C", "read": "R", "view": "R", "export": "R", "update": "U", "delete": "D",
}
_TOKEN = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_PSEUDONYM = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


@dataclass(frozen=True)
class AccessEvent:
    """One line of the access log (``prev`` is the SHA-256 of the previous line)."""

    seq: int
    time: str
    actor: str
    role: str
    action: str
    patient: str | None
    purpose: str
    outcome: str
    prev: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    lines: int
    first_broken_line: int | None = None
    reason: str | None = None
    head_sha256: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def default_log_path() -> Path:
    from genmed.core.config import get_settings

    return Path(get_settings().home) / "audit" / "access.jsonl"


def _sha(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def _encode(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _check_pseudonym(value: str | None) -> None:
    if value is None:
        return
    from genmed.core.logging import scrub

    if not _PSEUDONYM.match(value) or scrub(value) != value or re.fullmatch(r"\d{6,}", value):
        raise InputError(
            "patient_pseudonym does not look like a pseudonym (letters, digits, '._:-'; no names, numbers "
            "shaped like MRNs/SSNs/phones/dates)", hint="pass genmed.core.logging.pseudonym(patient_id)"
        )


class AccessLog:
    """Append-only, hash-chained JSON-lines log; safe for several processes (``flock``)."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path) if path else default_log_path()
        self.head_path = self.path.with_name(self.path.name + ".head")
        self._cache: tuple[int, int, str] | None = None  # (file size, last seq, last line hash)
        self._fh = None
        self._head_fd = -1

    def _handles(self):
        """Open handles are kept between appends (10,000 appends < 1 s); reopened if the file was replaced."""
        try:
            st = os.stat(self.path)
            same = self._fh is not None and os.fstat(self._fh.fileno()).st_ino == st.st_ino
        except OSError:
            same = False
        if not same:
            self.close()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(self.path, "a+b")  # noqa: SIM115 - kept open on purpose
            self._head_fd = os.open(self.head_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._cache = None
        return self._fh, self._head_fd

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            os.close(self._head_fd)
        self._fh, self._head_fd = None, -1

    def __del__(self):
        with contextlib.suppress(Exception):
            self.close()

    def _tail_state(self, fh) -> tuple[int, str]:
        size = os.fstat(fh.fileno()).st_size
        if self._cache and self._cache[0] == size:
            return self._cache[1], self._cache[2]
        if size == 0:
            return 0, GENESIS
        block = min(size, 65536)
        fh.seek(size - block)
        data = fh.read(block)
        lines = data.rstrip(b"\n").split(b"\n")
        last = lines[-1]
        if len(lines) == 1 and block < size:  # one line longer than the block: read it all
            fh.seek(0)
            last = fh.read().rstrip(b"\n").split(b"\n")[-1]
        try:
            seq = int(json.loads(last)["seq"])
        except (ValueError, KeyError, TypeError):
            raise InputError("the last line of the access log is not a log record",
                             source=str(self.path), hint="run `genmed privacy audit verify`") from None
        return seq, _sha(last)

    def append(
        self, actor: str, role: str, action: str, patient_pseudonym: str | None, purpose: str, outcome: str,
        detail: dict[str, Any] | None = None,
    ) -> AccessEvent:
        for name, value in (("role", role), ("action", action), ("purpose", purpose)):
            if not isinstance(value, str) or not _TOKEN.match(value):
                raise InputError(f"audit {name} must be a short lower-case token, got {value!r}")
        if outcome not in OUTCOMES:
            raise InputError(f"audit outcome must be one of {sorted(OUTCOMES)}, got {outcome!r}")
        if not actor or len(actor) > 128:
            raise InputError("audit actor must be a non-empty name of at most 128 characters")
        _check_pseudonym(patient_pseudonym)
        if detail:
            from genmed.core.logging import scrub

            text = json.dumps(detail, sort_keys=True, default=str)
            if scrub(text) != text:
                raise InputError("audit detail contains identifier-shaped values (e-mail, phone, SSN, date)")
            detail = json.loads(text)
        fh, head_fd = self._handles()
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            seq, prev = self._tail_state(fh)
            record = {
                "seq": seq + 1, "time": datetime.now(UTC).isoformat(timespec="microseconds"),
                "actor": actor, "role": role, "action": action, "patient": patient_pseudonym,
                "purpose": purpose, "outcome": outcome, "prev": prev, "detail": detail or {},
            }
            line = _encode(record)
            fh.seek(0, os.SEEK_END)
            fh.write(line + b"\n")
            fh.flush()
            size = fh.tell()
            digest = _sha(line)
            # fixed width (lines padded to 12 digits), so one pwrite replaces the head without a truncate
            os.pwrite(head_fd, b'{"lines": %12d, "last_sha256": "%s"}' % (seq + 1, digest.encode()), 0)
            self._cache = (size, seq + 1, digest)
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        return AccessEvent(**record)


_logs: dict[Path, AccessLog] = {}


def record_access(
    actor: str | None, role: str, action: str, patient_pseudonym: str | None, purpose: str, outcome: str,
    *, detail: dict[str, Any] | None = None, log_path: str | Path | None = None,
) -> AccessEvent:
    """Append one access record to the tamper-evident log (default ``$GENMED_HOME/audit/access.jsonl``).

    ``patient_pseudonym`` must already be a pseudonym (``genmed.core.logging.pseudonym(id)``) or ``None`` for
    actions on a whole data set. ``outcome`` is one of success/denied/failure/error. ``actor`` defaults to the
    operating-system user.
    """
    path = Path(log_path) if log_path else default_log_path()
    log = _logs.get(path)
    if log is None:
        log = _logs[path] = AccessLog(path)
    return log.append(actor or getpass.getuser(), role, action, patient_pseudonym, purpose, outcome, detail)


def read_log(path: str | Path) -> list[dict[str, Any]]:
    path = Path(path)
    if not path.exists():
        raise InputError("access log not found", source=str(path))
    out = []
    for i, raw in enumerate(path.read_bytes().split(b"\n"), start=1):
        if raw:
            try:
                out.append(json.loads(raw))
            except ValueError:
                raise InputError(f"line {i} is not JSON", source=str(path)) from None
    return out


def verify_log(path: str | Path) -> VerifyResult:
    """Check the chain line by line; name the first line whose content or position was altered."""
    path = Path(path)
    if not path.exists():
        raise InputError("access log not found", source=str(path))
    prev = GENESIS
    n = 0
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        data += b"\n"  # a missing final newline alone is not tampering; the content check still runs
    for i, raw in enumerate(data.split(b"\n")[:-1], start=1):
        n = i
        try:
            rec = json.loads(raw)
        except ValueError:
            return VerifyResult(False, i, i, "not valid JSON (edited)")
        if not isinstance(rec, dict) or rec.get("prev") != prev:
            what = "previous-line hash does not match: this line or the one before it was edited, removed or moved"
            return VerifyResult(False, i, i, what)
        if rec.get("seq") != i:
            return VerifyResult(False, i, i, f"sequence number {rec.get('seq')} where {i} was expected")
        prev = _sha(raw)
    head_path = path.with_name(path.name + ".head")
    if head_path.exists():
        try:
            head = json.loads(head_path.read_text())
        except ValueError:
            return VerifyResult(False, n, None, "head file is not JSON", prev)
        expected = head.get("lines")
        if expected != n:
            first = n + 1 if isinstance(expected, int) and n < expected else n
            why = "lines removed at the end" if isinstance(expected, int) and n < expected else "head out of step"
            return VerifyResult(False, n, first, f"log has {n} lines but its head records {expected} ({why})", prev)
        if head.get("last_sha256") != prev:
            return VerifyResult(False, n, n, "last line does not match the hash recorded in the head (edited)", prev)
    return VerifyResult(True, n, None, None, prev)


def to_fhir_audit_events(path: str | Path, *, validate: bool = True) -> dict[str, Any]:
    """Export the log as a FHIR R4B ``Bundle`` (type collection) of ``AuditEvent`` resources."""
    entries = []
    for rec in read_log(path):
        action = rec.get("action", "")
        event: dict[str, Any] = {
            "resourceType": "AuditEvent",
            "id": f"genmed-access-{rec['seq']}",
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest",
                     "display": "RESTful Operation"},
            "subtype": [{"system": "https://genmed.dev/fhir/CodeSystem/access-action", "code": action}],
            "action": FHIR_ACTIONS.get(action, "E"),
            "recorded": rec["time"],
            "outcome": OUTCOMES.get(rec.get("outcome", ""), "8"),
            "purposeOfEvent": [{"coding": [{"system": "https://genmed.dev/fhir/CodeSystem/purpose",
                                            "code": rec.get("purpose")}], "text": rec.get("purpose")}],
            "agent": [{
                "type": {"coding": [{"system": "https://genmed.dev/fhir/CodeSystem/role", "code": rec.get("role")}]},
                "who": {"display": rec.get("actor")}, "requestor": True,
            }],
            "source": {"observer": {"display": "genmed"},
                       "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                                 "code": "4", "display": "Application Server"}]},
            "extension": [{"url": "https://genmed.dev/fhir/StructureDefinition/audit-chain-prev-sha256",
                           "valueString": rec.get("prev")}],
        }
        if rec.get("patient"):
            event["entity"] = [{
                "what": {"identifier": {"system": "urn:genmed:pseudonym", "value": rec["patient"]}},
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1",
                         "display": "Person"},
                "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1",
                         "display": "Patient"},
            }]
        entries.append({"fullUrl": f"urn:genmed:audit:{rec['seq']}", "resource": event})
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    if validate:
        from fhir.resources.R4B.bundle import Bundle

        Bundle.model_validate(bundle)
    return bundle
