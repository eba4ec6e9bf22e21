"""`genmed privacy`: de-identify FHIR bundles and DICOM, DP synthetic cohorts, the tamper-evident access log.

Thin: every command calls :mod:`genmed.privacy`; heavy libraries are imported inside the commands.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from genmed.cli._common import emit

app = typer.Typer(help="De-identification, DP synthetic cohorts, privacy audit, access log.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident access log (hash-chained JSON lines).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(
    log: Path = typer.Argument(None, help="Access log (default: $GENMED_HOME/audit/access.jsonl)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Verify the hash chain; exit 1 and name the first broken line if anything was edited, removed or moved."""
    from genmed.privacy.audit import default_log_path, verify_log

    res = verify_log(log or default_log_path())
    human = (f"OK: {res.lines} lines, chain intact; head sha256 {res.head_sha256}" if res.ok
             else f"BROKEN at line {res.first_broken_line} of {res.lines}: {res.reason}")
    emit(res.to_dict(), as_json, human)
    if not res.ok:
        raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
    log: Path = typer.Argument(None, help="Access log (default: $GENMED_HOME/audit/access.jsonl)."),
    out: Path = typer.Option(..., "--out", help="Where to write the FHIR R4B Bundle of AuditEvent resources."),
) -> None:
    """Export the log as FHIR AuditEvent resources (validated against R4B)."""
    from genmed.privacy.audit import default_log_path, to_fhir_audit_events

    bundle = to_fhir_audit_events(log or default_log_path())
    tmp = out.with_name(out.name + ".part")
    tmp.write_text(json.dumps(bundle, indent=1))
    tmp.replace(out)
    typer.echo(f"wrote {len(bundle['entry'])} AuditEvent resources to {out}")


@app.command("keygen")
def keygen(out: Path = typer.Option(..., "--out", help="Where to write the new secret key (mode 0600).")) -> None:
    """Create a secret key for pseudonyms and date shifts; keep it apart from the data you release."""
    from genmed.core.errors import InputError
    from genmed.privacy.fhir_deid import write_key

    if out.exists():
        raise InputError("refusing to overwrite an existing key file", source=str(out))
    write_key(out)
    typer.echo(f"wrote a 256-bit key to {out} (mode 0600)")


@app.command("deidentify")
def deidentify(
    bundle: Path = typer.Argument(..., help="FHIR R4 Bundle (JSON), e.g. a Synthea export."),
    out: Path = typer.Option(..., "--out", help="Output directory: bundle.deid.json + deid_report.json."),
    keep_year: bool = typer.Option(False, "--keep-year", help="Reduce dates to the year instead of shifting them."),
    key_file: Path = typer.Option(None, "--date-shift-key-file", "--key-file",
                                  help="Secret key for pseudonyms and date shifts (default: per-install key)."),
    no_validate: bool = typer.Option(False, "--no-validate", help="Skip R4B validation of the output."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """De-identify a FHIR Bundle (HIPAA Safe Harbor): names, contacts, addresses, dates, ids, free text."""
    from genmed.privacy.fhir_deid import DeidOptions, deidentify_file

    target, report = deidentify_file(bundle, out, key_file=key_file,
                                     options=DeidOptions(keep_year=keep_year, validate=not no_validate))
    d = report.to_dict()
    removed = sum(n for acts in d["actions_by_path"].values() for n in acts.values())
    human = (f"wrote {target} ({report.entries_out}/{report.entries_in} entries, {report.patients} patient(s), "
             f"{removed} changes, {report.elapsed_s:.2f} s; {report.validation})\n"
             + "\n".join(f"warning: {w}" for w in report.warnings))
    emit(d, as_json, human)
