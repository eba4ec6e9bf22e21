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
