"""De-identification of FHIR R4 Bundles (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)) on the raw Bundle JSON.

Works on the JSON tree rather than a typed model so that large, slightly broken real exports (Synthea, EHR bulk
exports) are handled and nothing is lost to a parser's idea of the schema. Rules, by the 18 Safe Harbor kinds:

- names (HumanName anywhere, organisation/location names, reference ``display`` of people and places) → a keyed
  pseudonym label; telecom (phone, fax, e-mail, URL) and photos → removed;
- addresses → state and country kept, the 5-digit ZIP cut to its first 3 digits ("000" for the 3-digit areas of
  20,000 people or fewer, per the Census list HHS cites), lines/city/district/geolocation removed;
- dates → either year only (``keep_year``) or one keyed shift per patient (intervals and ages kept); ages over 89
  → birth year set so the age reads 90 and ``Age`` quantities capped at ≥ 90;
- identifiers (MRN, account, licence, device, any ``Identifier.value``) → HMAC-SHA256 pseudonyms of system +
  value; SSN, driver's licence, passport and tax numbers → removed; serial/lot numbers, UDI → removed;
- resource ids and references (``urn:uuid``, ``Type/id``, absolute URLs, conditional ``Type?identifier=s|v``)
  → rewritten consistently with the same keyed function, so the bundle stays linked;
- free text (narrative ``div``, notes, descriptions, ``valueString``, text attachments) → :class:`TextScrubber`;
  non-text attachments (images, PDFs) → removed.

The keyed functions use a secret key kept apart from the data (a key file, or the per-install key in
``$GENMED_HOME/privacy/deid.key``). Note that 164.514(c) asks that a re-identification code not be derived from
the identifier; a keyed HMAC is derived but not reversible without the key: treat the key as the re-identification
secret and never ship it with the data.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from genmed.core.errors import InputError
from genmed.privacy.text import TextScrubber

# 3-digit ZIP areas with 20,000 or fewer people (2000 Census; the list HHS's Safe Harbor guidance cites).
RESTRICTED_ZIP3 = frozenset(
    ["036", "059", "063", "102", "203", "556", "692", "790", "821", "823", "830", "831", "878", "879", "884", "890", "893"]
)
PERSON_TYPES = {"Patient", "Practitioner", "PractitionerRole", "RelatedPerson", "Person", "Group"}
PLACE_TYPES = {"Organization", "Location", "HealthcareService", "Endpoint", "InsurancePlan"}
DROP_IDENTIFIER_TYPES = {"SS", "DL", "PPN", "TAX", "SB", "PRN", "DR"}
DROP_IDENTIFIER_SYSTEM = re.compile(r"us-ssn|ssn|driver|passport|2\.16\.840\.1\.113883\.4\.1$|\.4\.3\.\d+$", re.I)
DROP_EXTENSIONS = (
    "patient-mothersMaidenName", "geolocation", "patient-birthTime", "humanname-", "patient-citizenship",
    "patient-nationality", "patient-preferenceType",
)
REMOVE_KEYS = {
    "telecom", "valueContactPoint", "photo", "serialNumber", "lotNumber", "udiCarrier", "distinctIdentifier",
    "position", "alias", "subscriberId", "preAuthRef", "link", "hash", "signature",
}
FREE_TEXT_KEYS = {
    "text", "description", "comment", "valueString", "conclusion", "patientInstruction", "summary", "title",
    "outcomeDesc", "note", "reason", "detail", "comments", "statusReason_text", "valueMarkdown",
}
_YEAR_UNITS = ("a", "year", "years", "yr")
INSTANT_KEYS = {"issued", "recorded", "lastUpdated", "timestamp", "when"}
DATE_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2})(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)?$")
REF_RE = re.compile(r"^(?:(?P<base>https?://\S+?)/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})"
                    r"(?P<hist>/_history/\S+)?$")
COND_RE = re.compile(r"^(?P<type>[A-Z][A-Za-z]+)\?(?P<query>.+)$")


@dataclass
class DeidOptions:
    keep_year: bool = False  # True: dates reduced to the year; False: keyed per-patient shift
    max_shift_days: int = 365
    use_ner: bool = True
    validate: bool = True
    k_anonymity: int = 5  # warn when a quasi-identifier class in the bundle is smaller than this


@dataclass
class DeidReport:
    """What was done, per path and action (never values), and the residual risks."""

    entries_in: int = 0
    entries_out: int = 0
    patients: int = 0
    date_mode: str = ""
    key_source: str = ""
    key_fingerprint: str = ""
    actions: Counter = field(default_factory=Counter)  # (path, action) -> count
    free_text: Counter = field(default_factory=Counter)  # recognizer kind -> replacements
    free_text_fields: int = 0
    names_in_free_text: str = ""
    warnings: list[str] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)
    elapsed_s: float = 0.0
    validation: str = "not run"
    input_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        by_path: dict[str, dict[str, int]] = {}
        for (path, action), n in sorted(self.actions.items()):
            by_path.setdefault(path, {})[action] = n
        return {
            "standard": "HIPAA Safe Harbor, 45 CFR 164.514(b)(2)",
            "entries_in": self.entries_in, "entries_out": self.entries_out, "patients": self.patients,
            "date_mode": self.date_mode, "key_source": self.key_source, "key_fingerprint": self.key_fingerprint,
            "actions_by_path": by_path, "free_text_fields": self.free_text_fields,
            "free_text_replacements": dict(self.free_text), "names_in_free_text": self.names_in_free_text,
            "residual_risk_warnings": self.warnings, "skipped_entries": self.skipped,
            "output_validation": self.validation, "elapsed_s": round(self.elapsed_s, 3),
            "input_sha256": self.input_sha256,
        }


@dataclass
class DeidResult:
    bundle: dict[str, Any]
    report: DeidReport


# ---------------------------------------------------------------------------------------------- keys


def load_key(key_file: str | Path | None) -> tuple[bytes, str]:
    """The secret key: from ``key_file`` (must exist, ≥ 16 bytes) or the per-install key (created 0600)."""
    if key_file is not None:
        path = Path(key_file)
        if not path.is_file():
            raise InputError("key file not found", source=str(path),
                             hint="create one with `genmed privacy keygen --out FILE`; keep it apart from the data")
        key = path.read_bytes().strip()
        if len(key) < 16:
            raise InputError("key file holds fewer than 16 bytes of secret", source=str(path))
        return key, "key file"
    from genmed.core.config import get_settings

    path = Path(get_settings().home) / "privacy" / "deid.key"
    if not path.exists():
        write_key(path)
    return path.read_bytes().strip(), "per-install key ($GENMED_HOME/privacy/deid.key)"


def write_key(path: str | Path) -> Path:
    import os

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    return path


class _Keyed:
    def __init__(self, key: bytes):
        self.key = key
        self._cache: dict[str, str] = {}

    def digest(self, purpose: str, value: str) -> bytes:
        return hmac.new(self.key, f"{purpose}\x1f{value}".encode(), hashlib.sha256).digest()

    def uuid(self, raw_id: str) -> str:
        out = self._cache.get(raw_id)
        if out is None:
            out = self._cache[raw_id] = str(uuid.UUID(bytes=self.digest("id", raw_id)[:16], version=4))
        return out

    def identifier(self, system: str, value: str) -> str:
        return "gm-" + self.digest("identifier", f"{system}|{value}").hex()[:24]

    def label(self, kind: str, value: str) -> str:
        return f"{kind} {self.digest('label', value).hex()[:8]}"

    def shift_days(self, patient_key: str, max_days: int) -> int:
        n = int.from_bytes(self.digest("date-shift", patient_key)[:4], "big")
        return -(1 + n % max_days)  # always backwards, never zero

    def fingerprint(self) -> str:
        return self.digest("fingerprint", "genmed").hex()[:12]


# ---------------------------------------------------------------------------------------------- engine


class _Deidentifier:
    def __init__(self, bundle: dict[str, Any], keyed: _Keyed, options: DeidOptions, report: DeidReport):
        self.bundle, self.k, self.opt, self.report = bundle, keyed, options, report
        self.type_of: dict[str, str] = {}  # fullUrl / Type/id -> resourceType
        self.patient_of_ref: dict[str, str] = {}  # any reference form of a Patient -> its raw id
        self.shift: dict[str | None, int] = {}
        self.age_cap: dict[str, str] = {}  # patient raw id -> capped birth year ("90+")
        self.scrubber = TextScrubber(use_ner=options.use_ner)
        self.known: set[str] = set()

    # -- pre-pass: index resources, patients, known identifying values
    def index(self) -> None:
        entries = self.bundle.get("entry") or []
        for e in entries:
            res = e.get("resource") if isinstance(e, dict) else None
            if not isinstance(res, dict):
                continue
            rtype, rid = res.get("resourceType"), res.get("id")
            full = e.get("fullUrl")
            if isinstance(full, str):
                self.type_of[full] = rtype
            if isinstance(rid, str):
                self.type_of[f"{rtype}/{rid}"] = rtype
            if rtype == "Patient":
                key = rid or full or str(len(self.patient_of_ref))
                for form in (full, f"Patient/{rid}" if rid else None):
                    if form:
                        self.patient_of_ref[form] = key
                self.shift[key] = self.k.shift_days(key, self.opt.max_shift_days)
                self._age_cap(res, key)
            self._collect_known(res)
        self.shift[None] = self.k.shift_days("bundle:" + str(self.bundle.get("id")), self.opt.max_shift_days)
        self.scrubber.add_known(self.known)
        self.report.patients = len(set(self.patient_of_ref.values()))

    def _collect_known(self, node: Any, key: str | None = None) -> None:
        if isinstance(node, dict):
            if key in ("name", "valueHumanName") or {"family", "given"} & node.keys():
                for part in ("family", "text"):
                    if isinstance(node.get(part), str):
                        self.known.add(node[part])
                for g in node.get("given") or []:
                    if isinstance(g, str):
                        self.known.add(g)
            if key in ("address", "valueAddress"):
                for part in ("city", "district", "text", "postalCode"):
                    if isinstance(node.get(part), str):
                        self.known.add(node[part])
                self.known.update(x for x in node.get("line") or [] if isinstance(x, str))
            if key in ("identifier", "valueIdentifier") and isinstance(node.get("value"), str):
                self.known.add(node["value"])
            if key in ("telecom", "valueContactPoint") and isinstance(node.get("value"), str):
                self.known.add(node["value"])
            if isinstance(node.get("url"), str) and "mothersMaidenName" in node["url"]:
                self.known.add(str(node.get("valueString") or ""))
            if node.get("resourceType") in PLACE_TYPES and isinstance(node.get("name"), str):
                self.known.add(node["name"])
            for k2, v in node.items():
                if isinstance(v, (dict, list)):
                    self._collect_known(v, k2)
        elif isinstance(node, list):
            for v in node:
                self._collect_known(v, key)

    def _age_cap(self, patient: dict, key: str) -> None:
        birth = _parse_date(patient.get("birthDate"))
        ref = _parse_date(patient.get("deceasedDateTime")) or _parse_date(self.bundle.get("timestamp")) \
            or date.today()
        if birth and ref and (ref - birth).days / 365.2425 >= 90:
            shift = 0 if self.opt.keep_year else self.shift[key]
            self.age_cap[key] = str((ref + timedelta(days=shift)).year - 90)

    # -- main pass
    def run(self) -> dict[str, Any]:
        out: dict[str, Any] = {"resourceType": "Bundle"}
        b = self.bundle
        for k in ("type", "meta", "timestamp", "identifier", "id", "total"):
            if k in b:
                out[k] = b[k]
        out = self._node(out, "Bundle", None, "Bundle")
        if "id" in b:
            out["id"] = self.k.uuid(str(b["id"]))
        entries_out = []
        for i, e in enumerate(b.get("entry") or []):
            if not isinstance(e, dict) or not isinstance(e.get("resource"), dict):
                self.report.skipped.append({"index": i, "reason": "entry without a resource object"})
                continue
            res = e["resource"]
            patient = self._patient_key(res, e.get("fullUrl"))
            new_e: dict[str, Any] = {}
            if isinstance(e.get("fullUrl"), str):
                new_e["fullUrl"] = self._ref(e["fullUrl"], "Bundle.entry.fullUrl")
            new_e["resource"] = self._resource(res, patient)
            for k in ("search", "response"):
                if k in e:
                    new_e[k] = self._node(e[k], f"Bundle.entry.{k}", patient, "Bundle")
            if isinstance(e.get("request"), dict):
                new_e["request"] = self._request(e["request"])
            entries_out.append(new_e)
        if entries_out:
            out["entry"] = entries_out
        return out

    def _patient_key(self, res: dict, full_url: Any) -> str | None:
        if res.get("resourceType") == "Patient":
            return self.patient_of_ref.get(full_url) or self.patient_of_ref.get(f"Patient/{res.get('id')}")
        for k in ("subject", "patient", "beneficiary"):
            ref = res.get(k)
            if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
                hit = self.patient_of_ref.get(ref["reference"])
                if hit:
                    return hit
        keys = set(self.patient_of_ref.values())
        return next(iter(keys)) if len(keys) == 1 else None

    def _resource(self, res: dict, patient: str | None, contained: bool = False) -> dict:
        rtype = str(res.get("resourceType", "Unknown"))
        out = self._node(res, rtype, patient, rtype)
        if isinstance(res.get("id"), str) and not contained:  # contained ids are local ("#x"), not identifying
            out["id"] = self.k.uuid(res["id"])
            self._act(f"{rtype}.id", "pseudonymized")
        if rtype in PLACE_TYPES and isinstance(res.get("name"), str):
            out["name"] = self.k.label(rtype, res["name"])
            self._act(f"{rtype}.name", "pseudonymized")
        if rtype == "Patient" and patient in self.age_cap:
            out["birthDate"] = self.age_cap[patient]
            self._act("Patient.birthDate", "age-over-89-aggregated")
        return out

    def _act(self, path: str, action: str, n: int = 1) -> None:
        self.report.actions[(path, action)] += n

    def _node(self, node: Any, path: str, patient: str | None, rtype: str, key: str | None = None) -> Any:
        if isinstance(node, list):
            items = [self._node(v, path, patient, rtype, key) for v in node]
            items = [v for v in items if v is not None and v != {} and v != []]
            return items or None
        if isinstance(node, str):
            return self._string(node, path, patient, rtype, key)
        if not isinstance(node, dict):
            return node
        if "resourceType" in node and path != rtype and key == "contained":
            return self._resource(node, patient, contained=True)
        out: dict[str, Any] = {}
        for k, v in node.items():
            p = f"{path}.{k}"
            if k in REMOVE_KEYS:
                self._act(p, "removed")
                continue
            if k == "resourceType" or (k == "id" and path == rtype):
                out[k] = v
                continue
            if k == "extension" and isinstance(v, list):
                kept = []
                for ext in v:
                    url = ext.get("url", "") if isinstance(ext, dict) else ""
                    if any(s in url for s in DROP_EXTENSIONS):
                        self._act(f"{p}[{url.rsplit('/', 1)[-1]}]", "removed")
                        continue
                    new = self._node(ext, p, patient, rtype, k)
                    if new and set(new) - {"url"}:
                        kept.append(new)
                if kept:
                    out[k] = kept
                continue
            if k in ("name", "valueHumanName") and _is_human_name(v):
                out[k] = [{"use": "anonymous", "text": self.k.label("Person", json.dumps(v, sort_keys=True))}] \
                    if isinstance(v, list) else {"use": "anonymous", "text": self.k.label("Person", json.dumps(v))}
                self._act(p, "pseudonymized")
                continue
            if k in ("address", "valueAddress"):
                new = self._address(v, p)
                if new:
                    out[k] = new
                continue
            if k in ("identifier", "valueIdentifier"):
                new = self._identifiers(v, p, patient, rtype)
                if new:
                    out[k] = new
                continue
            if k == "reference" and isinstance(v, str):
                out[k] = self._ref(v, p)
                continue
            if k == "display" and ("reference" in node or "identifier" in node or path.endswith("assigner")):
                target = self._ref_type(node.get("reference"))
                if target is None or target in PERSON_TYPES or target in PLACE_TYPES:
                    self._act(p, "removed")
                    continue
            if k == "div" and isinstance(v, str):
                out[k] = self.scrubber.scrub_xhtml(v)
                self.report.free_text_fields += 1
                self._act(p, "scrubbed")
                continue
            if k == "data" and isinstance(v, str) and "contentType" in node:
                new = self._attachment_data(node, v, p)
                if new is not None:
                    out[k] = new
                continue
            if k == "url" and "contentType" in node:
                self._act(p, "removed")
                continue
            if (k.endswith("Age") and isinstance(v, dict) and isinstance(v.get("value"), (int, float))
                    and v["value"] >= 90 and str(v.get("code", v.get("unit", "a"))).lower() in _YEAR_UNITS):
                v = {**v, "value": 90, "comparator": ">="}
                self._act(p, "age-over-89-aggregated")
            new = self._node(v, p, patient, rtype, k)
            if new is not None and new != {} and new != []:
                out[k] = new
        return out

    def _string(self, v: str, path: str, patient: str | None, rtype: str, key: str | None) -> str | None:
        m = DATE_RE.match(v)
        if m and key not in ("code", "system", "version", "value"):
            return self._date(v, m, path, patient, rtype, key)
        if key in FREE_TEXT_KEYS or (key == "display" and rtype not in ("CodeSystem", "ValueSet")
                                     and not path.endswith(("coding.display",))):
            new = self.scrubber.scrub(v)
            self.report.free_text_fields += 1
            if new != v:
                self._act(path, "scrubbed")
            return new
        return v

    def _date(self, v: str, m: re.Match, path: str, patient: str | None, rtype: str, key: str | None) -> str:
        year, month, day, rest = m.group(1), m.group(2), m.group(3), m.group(4)
        instant = key in INSTANT_KEYS or (rtype == "DocumentReference" and path == "DocumentReference.date")
        if self.opt.keep_year:
            self._act(path, "reduced-to-year")
            return f"{year}-01-01T00:00:00Z" if instant else year
        shift = self.shift.get(patient, self.shift[None])
        self._act(path, "date-shifted")
        try:
            d = date(int(year), int(month), int(day or 15)) + timedelta(days=shift)
        except ValueError:
            self._act(path, "invalid-date-removed")
            return year
        if day is None:
            return d.strftime("%Y-%m")
        return d.isoformat() + (rest or "")

    def _address(self, v: Any, path: str) -> Any:
        if isinstance(v, list):
            items = [self._address(a, path) for a in v]
            return [a for a in items if a] or None
        if not isinstance(v, dict):
            return None
        out: dict[str, Any] = {}
        for k in ("use", "type", "state", "country"):
            if k in v:
                out[k] = v[k]
        zipc = v.get("postalCode")
        if isinstance(zipc, str):
            digits = re.sub(r"\D", "", zipc)
            if len(digits) >= 3:
                z3 = digits[:3]
                out["postalCode"] = "000" if z3 in RESTRICTED_ZIP3 else z3
                self._act(f"{path}.postalCode", "generalized-to-zip3")
            else:
                self._act(f"{path}.postalCode", "removed")
        for k in ("line", "city", "district", "text", "extension", "period"):
            if k in v:
                self._act(f"{path}.{k}", "removed")
        return out or None

    def _identifiers(self, v: Any, path: str, patient: str | None, rtype: str) -> Any:
        if isinstance(v, list):
            items = [self._identifiers(i, path, patient, rtype) for i in v]
            return [i for i in items if i] or None
        if not isinstance(v, dict):
            return None
        codes = {c.get("code") for c in ((v.get("type") or {}).get("coding") or []) if isinstance(c, dict)}
        system = str(v.get("system", ""))
        if codes & DROP_IDENTIFIER_TYPES or DROP_IDENTIFIER_SYSTEM.search(system):
            self._act(path, "removed(" + ",".join(sorted(c for c in codes if c)) + ")" if codes else "removed")
            return None
        out = {k: v[k] for k in ("use", "system") if k in v}
        if "type" in v:
            out["type"] = v["type"]
        if isinstance(v.get("value"), str):
            out["value"] = self.k.identifier(system, v["value"])
            self._act(f"{path}.value", "pseudonymized")
        if isinstance(v.get("period"), dict):
            out["period"] = self._node(v["period"], f"{path}.period", patient, rtype, "period")
        if isinstance(v.get("assigner"), dict):
            out["assigner"] = self._node(v["assigner"], f"{path}.assigner", patient, rtype, "assigner")
        return {k: x for k, x in out.items() if x} or None

    def _ref_type(self, ref: Any) -> str | None:
        if not isinstance(ref, str):
            return None
        if ref in self.type_of:
            return self.type_of[ref]
        m = REF_RE.match(ref) or COND_RE.match(ref)
        return m.group("type") if m else None

    def _ref(self, ref: str, path: str) -> str:
        self._act(path, "pseudonymized")
        if ref.startswith("#"):
            return ref
        if ref.startswith("urn:uuid:"):
            return "urn:uuid:" + self.k.uuid(ref[9:])
        m = REF_RE.match(ref)
        if m:
            return f"{m.group('type')}/{self.k.uuid(m.group('id'))}"
        m = COND_RE.match(ref)
        if m:
            return f"{m.group('type')}?{self._query(m.group('query'))}"
        self._act(path, "unrecognised-reference-replaced")
        return "urn:uuid:" + self.k.uuid(ref)

    def _query(self, query: str) -> str:
        parts = []
        for item in query.split("&"):
            name, _, value = item.partition("=")
            if name == "identifier" and "|" in value:
                system, _, val = value.partition("|")
                parts.append(f"identifier={system}|{self.k.identifier(system, val)}")
            else:
                parts.append(f"{name}={self.k.identifier(name, value)}")
        return "&".join(parts)

    def _request(self, req: dict) -> dict:
        out = {k: req[k] for k in ("method",) if k in req}
        url = req.get("url")
        if isinstance(url, str):
            out["url"] = self._ref(url, "Bundle.entry.request.url") if ("/" in url or "?" in url) else url
        if isinstance(req.get("ifNoneExist"), str):
            out["ifNoneExist"] = self._query(req["ifNoneExist"])
            self._act("Bundle.entry.request.ifNoneExist", "pseudonymized")
        for k in ("ifMatch", "ifModifiedSince", "ifNoneMatch"):
            if k in req:
                self._act(f"Bundle.entry.request.{k}", "removed")
        return out

    def _attachment_data(self, node: dict, data: str, path: str) -> str | None:
        ctype = str(node.get("contentType", "")).lower()
        if ctype.startswith("text/") or "json" in ctype or "xml" in ctype:
            try:
                text = base64.b64decode(data, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                self._act(path, "removed(undecodable)")
                return None
            self.report.free_text_fields += 1
            self._act(path, "scrubbed")
            return base64.b64encode(self.scrubber.scrub(text).encode()).decode()
        self._act(path, f"removed({ctype.split(';')[0] or 'binary'})")
        self.report.warnings.append(
            f"a {ctype.split(';')[0] or 'binary'} attachment at {path} was removed: non-text content cannot be scrubbed")
        return None


def _is_human_name(v: Any) -> bool:
    items = v if isinstance(v, list) else [v]
    return bool(items) and all(isinstance(i, dict) and {"family", "given", "text", "prefix", "suffix"} & i.keys()
                               for i in items)


def _parse_date(v: Any) -> date | None:
    if not isinstance(v, str):
        return None
    m = DATE_RE.match(v)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------- API


def deidentify_bundle(bundle: dict[str, Any], *, key: bytes, options: DeidOptions | None = None,
                      key_source: str = "caller") -> DeidResult:
    """De-identify a FHIR R4 Bundle (a ``dict`` from JSON). Returns the new bundle and the report."""
    options = options or DeidOptions()
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InputError("not a FHIR Bundle (resourceType must be 'Bundle')")
    if not isinstance(bundle.get("entry", []), list):
        raise InputError("not a FHIR Bundle ('entry' must be a list)")
    t0 = time.perf_counter()
    keyed = _Keyed(key)
    report = DeidReport(date_mode="year only" if options.keep_year else
                        f"keyed per-patient shift of 1..{options.max_shift_days} days back",
                        key_source=key_source, key_fingerprint=keyed.fingerprint())
    engine = _Deidentifier(bundle, keyed, options, report)
    engine.index()
    out = engine.run()
    report.entries_in = len(bundle.get("entry") or [])
    report.free_text = engine.scrubber.counts
    report.names_in_free_text = engine.scrubber.names_searched
    if options.validate:
        out = _validate(out, report)
    report.entries_out = len(out.get("entry") or [])
    _risk_warnings(out, engine, report)
    report.elapsed_s = time.perf_counter() - t0
    return DeidResult(out, report)


def _validate(out: dict[str, Any], report: DeidReport) -> dict[str, Any]:
    """Validate against R4B; entries that fail are dropped and listed (error locations only, no values)."""
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        Bundle.model_validate(out)
        report.validation = "valid R4B Bundle"
        return out
    except ValidationError as exc:
        bad: dict[int, list[str]] = {}
        for err in exc.errors():
            loc = err.get("loc", ())
            if len(loc) >= 2 and loc[0] == "entry" and isinstance(loc[1], int):
                bad.setdefault(loc[1], []).append(".".join(str(x) for x in loc[2:]) + f" ({err.get('type')})")
            else:
                raise InputError("the de-identified bundle is not valid R4B at "
                                 + ".".join(map(str, loc)) + f" ({err.get('type')})",
                                 hint="the input bundle is probably malformed there") from None
    kept = []
    for i, e in enumerate(out.get("entry") or []):
        if i in bad:
            report.skipped.append({"index": i, "resourceType": e["resource"].get("resourceType"),
                                   "reason": "not valid R4B: " + "; ".join(bad[i][:5])})
        else:
            kept.append(e)
    out = {**out, "entry": kept} if kept else {k: v for k, v in out.items() if k != "entry"}
    Bundle.model_validate(out)
    report.validation = f"valid R4B Bundle after dropping {len(bad)} invalid entries"
    report.warnings.append(f"{len(bad)} entries were not valid R4B and were left out (see skipped_entries)")
    return out


def _risk_warnings(out: dict[str, Any], engine: _Deidentifier, report: DeidReport) -> None:
    if report.free_text_fields:
        report.warnings.append(
            f"{report.free_text_fields} free-text fields were scrubbed by pattern and known values; "
            f"names in free text: {report.names_in_free_text}. Review before release.")
    if engine.age_cap:
        report.warnings.append(f"{len(engine.age_cap)} patient(s) aged 90 or more: age aggregated to 90+")
    patients = [e["resource"] for e in out.get("entry") or [] if e["resource"].get("resourceType") == "Patient"]
    if len(patients) == 1:
        report.warnings.append("single-patient bundle: k-anonymity of the quasi-identifiers (birth year, sex, "
                               "ZIP3, race) cannot be assessed within the bundle; the record is unique by design")
    elif patients:
        classes = Counter(_quasi(p) for p in patients)
        k = engine.opt.k_anonymity
        small = sum(n for n in classes.values() if n < k)
        if small:
            report.warnings.append(
                f"{small} of {len(patients)} patients fall in quasi-identifier classes (birth year, sex, ZIP3, "
                f"race) smaller than k={k}: rare combinations remain")


def _quasi(p: dict) -> tuple:
    zip3 = next((a.get("postalCode") for a in p.get("address") or [] if isinstance(a, dict)), None)
    race = next((x.get("valueString") for ext in p.get("extension") or [] if "race" in ext.get("url", "")
                 for x in ext.get("extension") or [] if x.get("url") == "text"), None)
    return (str(p.get("birthDate", ""))[:4], p.get("gender"), zip3, race)


def read_bundle(path: str | Path) -> tuple[dict[str, Any], str]:
    """Read a Bundle JSON file; clear errors for missing, non-JSON and non-FHIR input (no content in them)."""
    path = Path(path)
    if not path.is_file():
        raise InputError("bundle file not found", source=str(path))
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", None)
        raise InputError("not JSON" + (f" (parse error at line {line})" if line else ""), source=str(path),
                         hint="expected a FHIR R4 Bundle in JSON") from None
    if not isinstance(data, dict) or "resourceType" not in data:
        raise InputError("not a FHIR resource (no resourceType)", source=str(path))
    if data["resourceType"] != "Bundle":
        raise InputError(f"a FHIR {str(data['resourceType'])[:40]}, not a Bundle", source=str(path),
                         hint="wrap the resource in a Bundle")
    return data, hashlib.sha256(raw).hexdigest()


def deidentify_file(path: str | Path, out_dir: str | Path, *, key_file: str | Path | None = None,
                    options: DeidOptions | None = None, audit: bool = True) -> tuple[Path, DeidReport]:
    """De-identify a Bundle file into ``out_dir/bundle.deid.json`` + ``deid_report.json`` (atomic: all or none).

    The output names never echo the input name (Synthea names files after the patient).
    """
    key, source = load_key(key_file)
    data, digest = read_bundle(path)
    try:
        result = deidentify_bundle(data, key=key, options=options, key_source=source)
    except InputError as exc:
        exc.source = exc.source or str(path)
        raise
    result.report.input_sha256 = digest
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target, report_path = out_dir / "bundle.deid.json", out_dir / "deid_report.json"
    tmp1, tmp2 = target.with_suffix(".json.part"), report_path.with_suffix(".json.part")
    try:
        tmp1.write_text(json.dumps(result.bundle, separators=(",", ":")))
        tmp2.write_text(json.dumps(result.report.to_dict(), indent=2))
        tmp1.replace(target)
        tmp2.replace(report_path)
    finally:
        for t in (tmp1, tmp2):
            t.unlink(missing_ok=True)
    if audit:
        from genmed.core.logging import pseudonym
        from genmed.privacy.audit import record_access

        for pkey in sorted(set(_patient_ids(data))):
            record_access(None, "steward", "deidentify", pseudonym(pkey), "deidentification", "success",
                          detail={"output": "bundle.deid.json"})
    return target, result.report


def _patient_ids(bundle: dict) -> list[str]:
    return [str(e["resource"].get("id") or e.get("fullUrl")) for e in bundle.get("entry") or []
            if isinstance(e, dict) and isinstance(e.get("resource"), dict)
            and e["resource"].get("resourceType") == "Patient"]
