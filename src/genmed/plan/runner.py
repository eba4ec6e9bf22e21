"""Running a plan end to end: read -> plan -> write outputs, recorded as a run (pseudonym only)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from genmed.core.errors import InputError
from genmed.core.logging import get_logger
from genmed.plan.model import TreatmentPlan

log = get_logger("genmed.plan")
FORMATS = ("html", "pdf", "json", "fhir")
FILES = {"html": "report.html", "pdf": "report.pdf", "json": "plan.json", "fhir": "careplan.json"}


@dataclass
class PlanRun:
    plan: TreatmentPlan
    out_dir: Path
    files: dict[str, Path] = field(default_factory=dict)
    run_id: str = ""
    seconds: float = 0.0


def parse_formats(formats: str | list[str] | tuple[str, ...] | None) -> list[str]:
    if formats is None:
        return list(FORMATS)
    items = formats.split(",") if isinstance(formats, str) else list(formats)
    out = [f.strip().lower() for f in items if f.strip()]
    bad = [f for f in out if f not in FORMATS]
    if bad or not out:
        raise InputError(f"unknown output format(s) {', '.join(bad) or '(none)'}", hint=f"choose from {', '.join(FORMATS)}")
    return out


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_outputs(plan: TreatmentPlan, out_dir: Path, formats: list[str], *, identity=None,
                  deidentify: bool = False) -> dict[str, Path]:
    """Render everything in memory first, then write each file atomically: nothing half-written on failure."""
    from genmed.report import careplan_bundle, render_html, render_pdf

    rendered: dict[str, bytes] = {}
    html = None
    if "html" in formats or "pdf" in formats:
        html = render_html(plan, identity=None if deidentify else identity)
    if "html" in formats:
        rendered["html"] = html.encode()
    if "pdf" in formats:
        # the PDF never carries identifiers: it is rendered from the de-identified HTML
        pdf_html = html if (deidentify or identity is None) else render_html(plan, identity=None)
        rendered["pdf"] = render_pdf(pdf_html)
    if "json" in formats:
        rendered["json"] = plan.model_dump_json(indent=2).encode()
    if "fhir" in formats:
        rendered["fhir"] = json.dumps(careplan_bundle(plan), indent=2).encode()
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for fmt in formats:
        path = out_dir / FILES[fmt]
        _atomic_write(path, rendered[fmt])
        files[fmt] = path
    return files


def run_plan(source: str | Path | None = None, *, patient=None, out_dir: str | Path | None = None, vcf: str | Path | None = None,
             sample: str | None = None, formats: str | list[str] | None = None, deidentify: bool = False,
             strict: bool = False, seed: int = 0, record: bool = True, actor: str | None = None,
             role: str = "clinician", purpose: str = "treatment", audit_log: str | Path | None = None) -> PlanRun:
    """Read a patient (bundle, compact record or folder), plan, write the outputs into a recorded run directory.

    The patient is read and checked *before* the run directory is created: bad input leaves nothing behind.
    ``actor``/``role``/``purpose`` go to the access log (default: the operating-system user, as a clinician, for
    treatment); the service passes the API key's name and role and the request's purpose of use, and its log.
    ``patient``: a record already read and checked (VCF attached) instead of ``source``; it is not read again.
    """
    import time

    from genmed.core.provenance import run_directory
    from genmed.patient import read_patient
    from genmed.plan.engine import build_plan

    t0 = time.perf_counter()
    fmts = parse_formats(formats)
    if patient is None:
        if source is None:
            raise InputError("no patient record given")
        patient = read_patient(source, vcf=vcf, sample=sample, strict=strict)
    config = {"formats": fmts, "deidentify": deidentify, "strict": strict, "input_format": patient.source_format,
              "has_vcf": patient.vcf is not None}
    with run_directory("plan", out=out_dir, config=config, seed=seed, subject=patient.pseudonym,
                       record=record) as run:
        try:
            with run.timed("plan"):
                plan = build_plan(patient, seed=seed)
            with run.timed("render"):
                files = write_outputs(plan, run.path, fmts, identity=patient.identity, deidentify=deidentify)
        except Exception:
            _audit(patient.pseudonym, "failure", run.run_id, fmts, actor, role, purpose, audit_log)
            raise
        _audit(patient.pseudonym, "success", run.run_id, fmts, actor, role, purpose, audit_log)
        run.outputs.extend(p.name for p in files.values())
        run.summary.update({
            "plan_id": plan.plan_id, "conditions": [c.condition for c in plan.conditions],
            "top_options": {c.condition: c.options[0].id for c in plan.conditions if c.options},
            "partial": plan.partial, "missing": len(plan.missing), "knowledge": plan.knowledge,
        })
    log.info("plan run %s for %s written to %s", run.run_id, patient.pseudonym, run.path)
    return PlanRun(plan=plan, out_dir=run.path, files=files, run_id=run.run_id, seconds=round(time.perf_counter() - t0, 2))


def _audit(subject: str, outcome: str, run_id: str, formats: list[str], actor: str | None = None,
           role: str = "clinician", purpose: str = "treatment", log_path: str | Path | None = None) -> None:
    """Reading a record to plan is an access to patient data: log it (pseudonym only) in the privacy audit log."""
    try:
        from genmed.privacy import record_access
    except ImportError:  # privacy capability absent from this build
        return
    record_access(actor, role, "plan.create", subject, purpose, outcome,
                  detail={"run_id": run_id, "outputs": formats}, log_path=log_path)


def run_example(name: str | None = None, out_dir: str | Path | None = None, *, formats: str | list[str] | None = None,
                deidentify: bool = False, seed: int = 0, record: bool = True) -> PlanRun:
    """Plan for a bundled example patient (default: the breast cancer / CYP2D6 case); what `make demo` runs."""
    from genmed.patient.examples import DEFAULT_EXAMPLE, example_dir

    folder = example_dir(name or DEFAULT_EXAMPLE)
    return run_plan(folder / "bundle.json", out_dir=out_dir, formats=formats, deidentify=deidentify, seed=seed,
                    record=record)


def load_plan(path: str | Path) -> TreatmentPlan:
    """Read a plan.json back (for `genmed report`)."""
    from pydantic import ValidationError

    p = Path(path)
    if p.is_dir():
        p = p / "plan.json"
    try:
        return TreatmentPlan.model_validate_json(p.read_text())
    except FileNotFoundError:
        raise InputError("plan file not found", source=str(p)) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        raise InputError(f"not a genmed plan.json ({where}: {first['msg']})", source=str(p)) from None


def _batch_one(args: tuple[int, str, str, list[str], bool, bool]) -> dict:
    """One patient of a batch (runs in a worker process). Errors become a row, never abort the batch."""
    from genmed.core.errors import GenmedError
    from genmed.core.logging import scrub
    from genmed.patient import read_patient

    index, source, out_root, fmts, deidentify, strict = args
    try:
        subject = read_patient(source, strict=strict, check_vcf=False).pseudonym
        run = run_plan(source, out_dir=Path(out_root) / subject, formats=fmts, deidentify=deidentify, strict=strict)
        plan = run.plan
        return {"index": index, "subject": subject, "status": "ok", "seconds": run.seconds,
                "partial": plan.partial, "missing": len(plan.missing),
                "top_options": "; ".join(f"{c.condition}={c.options[0].id}" for c in plan.conditions if c.options),
                "error": ""}
    except GenmedError as exc:
        msg = scrub(str(exc).replace(str(source), f"input #{index}"))
        return {"index": index, "subject": "", "status": "error", "seconds": 0.0, "partial": None, "missing": None,
                "top_options": "", "error": msg}


def run_batch(folder: str | Path, out_dir: str | Path, *, formats: str | list[str] | None = "json,fhir",
              deidentify: bool = True, strict: bool = False, workers: int = 1) -> list[dict]:
    """Plan for every patient file in ``folder`` (FHIR bundles or compact records, ``*.json``/``*.yaml``).

    Each patient gets ``out_dir/<pseudonym>/``; ``out_dir/batch.csv`` lists one row per input *by index* (input
    file names often carry names, so they are not repeated). A bad file is a row with its error, not a stopped
    batch. ``workers`` > 1 uses a local process pool.
    """
    import csv
    from concurrent.futures import ProcessPoolExecutor

    folder, out = Path(folder), Path(out_dir)
    if not folder.is_dir():
        raise InputError("not a folder", source=str(folder))
    files = sorted(p for p in folder.iterdir() if p.suffix in (".json", ".yaml", ".yml") and p.is_file())
    if not files:
        raise InputError("no patient files (*.json, *.yaml) in the folder", source=str(folder))
    fmts = parse_formats(formats)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(i, str(p), str(out), fmts, deidentify, strict) for i, p in enumerate(files)]
    if workers > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            rows = list(pool.map(_batch_one, jobs))
    else:
        rows = [_batch_one(j) for j in jobs]
    with open(out / "batch.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    log.info("batch: %d patient file(s), %d planned, %d failed", len(rows),
             sum(r["status"] == "ok" for r in rows), sum(r["status"] != "ok" for r in rows))
    return rows
