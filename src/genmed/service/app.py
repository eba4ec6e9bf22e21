"""The genmed REST service (FastAPI): treatment plans, PGx calls, de-identification and the access log over HTTP.

Every request that touches patient data needs an API key (``Authorization: Bearer gm_...``) whose role grants the
endpoint's permission, and a purpose of use (``X-Purpose-Of-Use``); every such request, allowed or denied, is one
line in the tamper-evident access log with the key holder, role, pseudonymous patient id and purpose. Errors are
RFC 9457 problem+json whose details pass the PHI scrubber; unexpected errors say nothing about the input.

Uploaded files live in a private temporary folder for the length of the request; a record may reference only the
files uploaded with it (never a path on the server). Plans are kept under ``<store>/plans/<plan id>/``.

No ``from __future__ import annotations`` here: FastAPI reads the endpoint annotations at definition time, and they
name dependencies made inside :func:`create_app`.
"""


import re
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, File, Form, Header, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse

from genmed.core.errors import GenmedError, InputError
from genmed.core.logging import get_logger, scrub
from genmed.service.auth import AuthenticationError, KeyStore, Principal

log = get_logger("genmed.service")

# HL7 v3 PurposeOfUse (TREAT, ETREAT, HOPERAT, HRESCH, PUBHLTH), as the access log's lower-case tokens
PURPOSES = {"treatment": "TREAT", "emergency-treatment": "ETREAT", "operations": "HOPERAT", "research": "HRESCH",
            "public-health": "PUBHLTH"}
_PLAN_ID = re.compile(r"^pl-[0-9a-f]{16}$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
MAX_UPLOAD_BYTES = 200 * 1024 * 1024


def _problem(exc: GenmedError) -> dict[str, Any]:
    doc = exc.to_problem()
    doc["detail"] = scrub(str(doc["detail"]))
    return doc


def _save_upload(upload: Any, folder: Path, name: str | None = None) -> Path:
    """Write one uploaded file into the request's folder under a safe base name (no paths from the client)."""
    raw = name or Path(upload.filename or "").name
    if not _SAFE_NAME.match(raw):
        raise InputError(f"upload name {raw!r} is not a plain file name (letters, digits, '._-')")
    target = folder / raw
    if target.exists():
        raise InputError(f"two uploads are named {raw!r}")
    size = 0
    with target.open("wb") as fh:
        while chunk := upload.file.read(1 << 20):
            size += len(chunk)
            if size > MAX_UPLOAD_BYTES:
                raise InputError(f"upload {raw!r} is larger than {MAX_UPLOAD_BYTES // (1 << 20)} MiB")
            fh.write(chunk)
    return target


def _vcf_name(upload: Any) -> str:
    head = upload.file.read(2)
    upload.file.seek(0)
    return "genotype.vcf.gz" if head == b"\x1f\x8b" else "genotype.vcf"


def _record_name(upload: Any) -> str:
    suffix = Path(upload.filename or "").suffix.lower()
    return "record" + (suffix if suffix in (".json", ".yaml", ".yml") else ".json")


def _check_contained(patient: Any, folder: Path) -> None:
    """A record may point only at files uploaded with it: never at a path on the server."""
    root = folder.resolve()
    refs = [("VCF", patient.vcf)] if patient.vcf else []
    refs += [("image", p) for p in patient.images] + [("expression profile", p) for p in patient.expression]
    for kind, path in refs:
        resolved = Path(path).resolve()
        if root not in resolved.parents:
            raise InputError(f"the record's {kind} attachment {Path(path).name!r} is not among the uploaded files",
                             hint="upload it in 'attachments' and reference it by its file name")
        if not resolved.is_file():
            raise InputError(f"the record's {kind} attachment {resolved.name!r} was not uploaded",
                             hint="upload it in 'attachments' under the same file name")


def create_app(*, store_dir: str | Path | None = None, keys_path: str | Path | None = None,
               audit_log: str | Path | None = None, deid_key_file: str | Path | None = None):
    """Build the FastAPI application. ``store_dir``: where plans are kept (default ``$GENMED_HOME/service``);
    ``keys_path``: the API key store; ``audit_log``: the access log (default: genmed's); ``deid_key_file``: the
    secret for pseudonyms and date shifts used by de-identification (default: the per-install key)."""
    from genmed import __version__
    from genmed.core.config import get_settings
    from genmed.privacy import record_access

    store = Path(store_dir) if store_dir else Path(get_settings().home) / "service"
    keys = KeyStore(keys_path)
    plans_dir = store / "plans"

    app = FastAPI(title="genmed", version=__version__,
                  description="Personalized treatment plans, pharmacogenomics and de-identification over HTTP. "
                              "Research use: every recommendation cites its source and carries its uncertainty.")

    def audit(who: Principal | None, action: str, patient: str | None, purpose: str, outcome: str,
              detail: dict[str, Any] | None = None) -> None:
        record_access(who.name if who else "anonymous", who.role if who else "unknown", action, patient, purpose,
                      outcome, detail=detail, log_path=audit_log)

    @app.exception_handler(GenmedError)
    async def _genmed_error(request: Request, exc: GenmedError):
        return JSONResponse(_problem(exc), status_code=exc.http_status, media_type="application/problem+json")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # the message of an unexpected error may quote the input: log it scrubbed, return nothing of it
        log.error("unexpected error on %s %s: %s", request.method, request.url.path, scrub(repr(exc)))
        return JSONResponse({"type": "about:blank", "title": "internal error", "status": 500,
                             "detail": "the service failed; the error was logged without patient data"},
                            status_code=500, media_type="application/problem+json")

    def caller(authorization: Annotated[str | None, Header()] = None) -> Principal:
        token = authorization.removeprefix("Bearer ").strip() if authorization else None
        return keys.authenticate(token)

    def purpose_of_use(x_purpose_of_use: Annotated[str | None, Header()] = None) -> str:
        value = (x_purpose_of_use or "").strip().lower()
        by_code = {v.lower(): k for k, v in PURPOSES.items()}
        value = by_code.get(value, value)
        if value not in PURPOSES:
            raise InputError("missing or unknown X-Purpose-Of-Use header",
                             hint=f"one of {', '.join(PURPOSES)} (or the HL7 codes {', '.join(PURPOSES.values())})")
        return value

    def allowed(permission: str, action: str):
        """Dependency: authenticate, check the permission, and log a denial (a 401 or 403 is logged too)."""

        def dep(authorization: Annotated[str | None, Header()] = None,
                x_purpose_of_use: Annotated[str | None, Header()] = None) -> tuple[Principal, str]:
            try:
                who = caller(authorization)
            except AuthenticationError:
                audit(None, action, None, "operations", "denied", {"reason": "not authenticated"})
                raise
            try:
                who.require(permission)
            except GenmedError:
                audit(who, action, None, "operations", "denied", {"reason": f"lacks {permission}"})
                raise
            return who, purpose_of_use(x_purpose_of_use)

        return dep

    @app.get("/health")
    def health() -> dict[str, Any]:
        """Liveness and which capabilities this build has (no patient data, no key needed)."""
        from genmed.plan.capabilities import clinical_module, pgx_module

        caps = {"pgx": pgx_module()[1].available, "clinical": clinical_module()[1].available}
        return {"status": "ok", "version": __version__, "capabilities": caps}

    @app.post("/v1/plans", status_code=201)
    def create_plan(
        access: Annotated[tuple[Principal, str], Depends(allowed("plan:create", "plan.create"))],
        record: Annotated[UploadFile, File(description="FHIR R4 Bundle (JSON) or compact record (JSON/YAML)")],
        vcf: Annotated[UploadFile | None, File(description="the patient's VCF (plain or gzip)")] = None,
        attachments: Annotated[list[UploadFile] | None, File(description="files the record references by name")]
        = None,
        sample: Annotated[str | None, Form(description="VCF sample, for multi-sample files")] = None,
        formats: Annotated[str, Form(description="comma-separated: json, fhir, html, pdf")] = "json,fhir,html",
    ) -> dict[str, Any]:
        """Make a treatment plan from a record (+ VCF and attachments). Returns the plan and its links."""
        from genmed.patient import attach_vcf, read_patient
        from genmed.plan.runner import parse_formats, run_plan

        who, purpose = access
        fmts = parse_formats(formats)
        with tempfile.TemporaryDirectory(prefix="genmed-req-") as tmp:
            folder = Path(tmp)
            for up in attachments or []:
                _save_upload(up, folder)
            source = _save_upload(record, folder, _record_name(record))
            vcf_path = _save_upload(vcf, folder, _vcf_name(vcf)) if vcf is not None else None
            try:
                patient = read_patient(source, vcf=None, check_vcf=False)
                if vcf_path is not None:
                    patient.vcf = vcf_path
                _check_contained(patient, folder)  # before any attached file is opened
                attach_vcf(patient, None, sample)
            except GenmedError as exc:
                audit(who, "plan.create", None, purpose, "failure", {"reason": exc.title})
                raise InputError(exc.message, hint=exc.hint, source="record") from None
            plan_id = f"pl-{secrets.token_hex(8)}"
            out = plans_dir / plan_id
            try:
                run = run_plan(patient=patient, out_dir=out, formats=fmts, deidentify=True,
                               actor=who.name, role=who.role, purpose=purpose, audit_log=audit_log)
            except BaseException:
                shutil.rmtree(out, ignore_errors=True)  # nothing half-written
                raise
        plan = run.plan
        links = {f: f"/v1/plans/{plan_id}" + (f"/{_ROUTE[f]}" if _ROUTE[f] else "") for f in fmts}
        return {"id": plan_id, "plan_id": plan.plan_id, "subject": plan.subject, "partial": plan.partial,
                "links": links, "plan": plan.model_dump(mode="json")}

    def _plan_file(plan_id: str, fmt: str, who: Principal, purpose: str) -> Path:
        from genmed.core.errors import DataNotFoundError
        from genmed.plan.runner import FILES, load_plan

        if not _PLAN_ID.match(plan_id) or not (plans_dir / plan_id / "plan.json").is_file():
            audit(who, "plan.read", None, purpose, "failure", {"reason": "no such plan"})
            raise DataNotFoundError(f"no plan {plan_id!r}")
        subject = load_plan(plans_dir / plan_id).subject
        path = plans_dir / plan_id / FILES[fmt]
        if not path.is_file():
            audit(who, "plan.read", subject, purpose, "failure", {"reason": f"no {fmt} output"})
            raise DataNotFoundError(f"plan {plan_id} was made without the {fmt} output")
        audit(who, "plan.read", subject, purpose, "success", {"id": plan_id, "format": fmt})
        return path

    @app.get("/v1/plans/{plan_id}")
    def get_plan(plan_id: str, access: Annotated[tuple[Principal, str], Depends(allowed("plan:read", "plan.read"))]):
        """The plan as genmed JSON (``plan.json``)."""
        return FileResponse(_plan_file(plan_id, "json", *access), media_type="application/json")

    @app.get("/v1/plans/{plan_id}/careplan")
    def get_careplan(plan_id: str,
                     access: Annotated[tuple[Principal, str], Depends(allowed("plan:read", "plan.read"))]):
        """The plan as a FHIR R4 Bundle with a CarePlan (``careplan.json``)."""
        return FileResponse(_plan_file(plan_id, "fhir", *access), media_type="application/fhir+json")

    @app.get("/v1/plans/{plan_id}/report")
    def get_report(plan_id: str, access: Annotated[tuple[Principal, str], Depends(allowed("plan:read", "plan.read"))]):
        """The clinician-readable HTML report."""
        return FileResponse(_plan_file(plan_id, "html", *access), media_type="text/html")

    @app.get("/v1/plans/{plan_id}/pdf")
    def get_pdf(plan_id: str, access: Annotated[tuple[Principal, str], Depends(allowed("plan:read", "plan.read"))]):
        """The PDF report (only for plans made with the pdf format)."""
        return FileResponse(_plan_file(plan_id, "pdf", *access), media_type="application/pdf")

    @app.post("/v1/pgx/calls")
    def pgx_calls(
        access: Annotated[tuple[Principal, str], Depends(allowed("pgx:call", "pgx.call"))],
        vcf: Annotated[UploadFile, File(description="VCF (plain or gzip), GRCh38")],
        sample: Annotated[str | None, Form()] = None,
        drugs: Annotated[str, Form(description="comma-separated drugs for recommendations (empty: all)")] = "",
        co_medications: Annotated[str, Form(description="comma-separated current drugs (phenoconversion)")] = "",
    ) -> dict[str, Any]:
        """Diplotypes, phenotypes and CPIC/DPWG recommendations for one VCF sample."""
        from genmed.core.logging import pseudonym
        from genmed.pgx import call_vcf, recommend

        who, purpose = access
        with tempfile.TemporaryDirectory(prefix="genmed-req-") as tmp:
            path = _save_upload(vcf, Path(tmp), _vcf_name(vcf))
            try:
                result = call_vcf(path, sample=sample or None)
            except GenmedError as exc:
                audit(who, "pgx.call", None, purpose, "failure", {"reason": exc.title})
                raise InputError(exc.message, hint=exc.hint, source="vcf") from None
        subject = pseudonym(result.sample, prefix="sample")
        wanted = [d.strip() for d in drugs.split(",") if d.strip()] or None
        recs = recommend(result, wanted, co_medications=[d.strip() for d in co_medications.split(",") if d.strip()])
        audit(who, "pgx.call", subject, purpose, "success", {"genes": len(result.genes)})
        calls = result.to_dict() | {"sample": subject, "input": None}
        return {"subject": subject, "calls": calls, "recommendations": [r.to_dict() for r in recs]}

    @app.post("/v1/privacy/deidentify")
    def deidentify(
        bundle: dict[str, Any],
        access: Annotated[tuple[Principal, str], Depends(allowed("privacy:deidentify", "deidentify"))],
        keep_year: bool = False,
    ) -> dict[str, Any]:
        """HIPAA Safe Harbor de-identification of a FHIR Bundle (JSON body); returns the bundle and the report."""
        from genmed.privacy import DeidOptions, deidentify_bundle
        from genmed.privacy.fhir_deid import load_key

        who, purpose = access
        key, source = load_key(deid_key_file)
        try:
            res = deidentify_bundle(bundle, key=key, options=DeidOptions(keep_year=keep_year), key_source=source)
        except GenmedError as exc:
            audit(who, "deidentify", None, purpose, "failure", {"reason": exc.title})
            raise
        report = res.report.to_dict()
        audit(who, "deidentify", None, purpose, "success",
              {"entries_in": res.report.entries_in, "patients": res.report.patients})
        return {"bundle": res.bundle, "report": report}

    @app.get("/v1/audit/verify")
    def audit_verify(access: Annotated[tuple[Principal, str], Depends(allowed("audit:verify", "audit.verify"))]):
        """Verify the access log's hash chain (names the first broken line)."""
        from genmed.privacy.audit import default_log_path, verify_log

        who, purpose = access
        res = verify_log(audit_log or default_log_path())
        audit(who, "audit.verify", None, purpose, "success" if res.ok else "failure")
        return res.to_dict()

    return app


_ROUTE = {"json": "", "fhir": "careplan", "html": "report", "pdf": "pdf"}
