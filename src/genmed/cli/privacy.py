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


@app.command("deidentify-dicom")
def deidentify_dicom_cmd(
    src: Path = typer.Argument(..., help="A DICOM file or a directory of them."),
    out: Path = typer.Option(..., "--out", help="Output directory (<study>/<instance>.dcm + dicom_deid_report.json)."),
    dates: str = typer.Option("remove", "--dates",
                              help="remove (profile default) | keep (retain full dates) | shift (keyed per-patient shift)."),
    retain_device_identity: bool = typer.Option(False, "--retain-device-identity",
                                                help="Keep device serial numbers, station names, device UIDs."),
    key_file: Path = typer.Option(None, "--key-file", help="Secret key for UIDs/pseudonyms (default: per-install key)."),
    force: bool = typer.Option(False, "--force", help="Read files that lack a DICOM File Meta header."),
    skip_invalid: bool = typer.Option(False, "--skip-invalid", help="Skip (and list) unreadable files instead of stopping."),
    no_pixel_check: bool = typer.Option(False, "--no-pixel-check", help="Skip the burned-in text check of the corners."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """De-identify DICOM (PS3.15 Basic Profile): attributes, private tags, UIDs; flags burned-in text."""
    from genmed.core.errors import InputError
    from genmed.privacy.dicom_deid import DicomDeidOptions, deidentify_dicom
    from genmed.privacy.fhir_deid import load_key

    if dates not in ("remove", "keep", "shift"):
        raise InputError(f"--dates must be remove, keep or shift, not {dates!r}")
    key, _ = load_key(key_file)
    opt = DicomDeidOptions(longitudinal=dates, retain_device_identity=retain_device_identity,
                           check_pixels=not no_pixel_check, force=force)
    summary = deidentify_dicom(src, out, key=key, options=opt, skip_invalid=skip_invalid)
    human = (f"wrote {summary['files_out']}/{summary['files_in']} files to {out}; actions {summary['actions']}; "
             f"burned-in risk {summary['burned_in_risk']}\n" + "\n".join(f"warning: {w}" for w in summary["warnings"]))
    emit(summary, as_json, human)


@app.command("synthesize")
def synthesize_cmd(
    dataset: str = typer.Option(..., "--dataset", help="actg320 | flchain | gbsg2 | veterans | path to a CSV."),
    epsilon: float = typer.Option(..., "--epsilon", help="Privacy loss ε of the release (> 0)."),
    delta: float = typer.Option(1e-9, "--delta", help="δ, in (0, 1/n)."),
    method: str = typer.Option("structured", "--method", help="structured (default) | mst | aim | independent."),
    schema: str = typer.Option(None, "--schema", help="For a CSV: the declared schema (public bins) to use."),
    out: Path = typer.Option(None, "--out", help="Run directory (default: runs/<id>)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split and of genmed's noise (smartnoise cannot be seeded)."),
    no_baselines: bool = typer.Option(False, "--no-baselines",
                                      help="Skip the independent-marginals baseline (it spends ε too)."),
    floor_draws: int = typer.Option(None, "--floor-draws", min=0,
                                    help="Refits on 75% of the training rows that measure how much of the membership "
                                    "AUC is the split itself (audit only, never released; 0 = skip; default 3 for "
                                    "genmed's methods, 1 for smartnoise's, which take 10-60 s per refit)."),
    accept_measured_risk: bool = typer.Option(
        False, "--accept-measured-risk",
        help="Release even if genmed's shadow-model attack measured this engine above the 0.55 bar at this ε "
        "or a smaller one (e.g. smartnoise MST at ε = 10 on ACTG 320); recorded in run.json and the access log."),
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
) -> None:
    """Release a DP synthetic cohort with its privacy/utility audit (privacy_report.html).

    Every release says what genmed's shadow-model membership attack measured for its engine at its ε; an
    engine measured above the 0.55 bar is refused unless --accept-measured-risk."""
    from genmed.privacy.release import synthesize

    res = synthesize(dataset, epsilon=epsilon, delta=delta, method=method, out=out, seed=seed,
                     schema_name=schema, baselines=not no_baselines, floor_draws=floor_draws,
                     accept_measured_risk=accept_measured_risk)
    m = res["methods"][method]

    def f(v):
        return "indeterminate" if v is None else f"{v:.3f}"

    fl = res.get("membership_floor") or {}

    def pm(key):
        se = fl.get(f"{key}_auc_se")
        return f"{fl[f'{key}_auc_mean']:+.3f}" + (f" ± {se:.3f} (SE over {fl['draws']} refits)" if se else "")

    floor = (f"         rows the generator never saw score {fl['unseen_auc_mean']:.3f} on this split (its floor); "
             f"the generator's own signal is {pm('excess')}\n") if "unseen_auc_mean" in fl else \
        (f"         split floor not measured: {fl['not_measured']}\n" if fl else "")
    human = (f"released {res['n_train']} synthetic rows ({method}, ε={epsilon:g}) to {res['run_dir']}\n"
             f"privacy: MIA AUC {m['mia_auc']:.3f} (0.5 = no leak), exact copies {m['exact_copy_rate']:.3f}\n"
             + floor +
             f"utility: analysis-clique TVD {m['tvd_analysis']:.3f}, TSTR C-index {f(m['tstr'].get('c_index'))}, "
             f"HR {f(m['tstr'].get('hazard_ratio'))} (real: C {f(res['real'].get('c_index'))}, "
             f"HR {f(res['real'].get('hazard_ratio'))})\n"
             f"budget: ε charged {res['epsilon_charged']:g}"
             + (f" ({epsilon:g} for this release + {res['epsilon_charged'] - epsilon:g} for the independent baseline "
                "fitted on the same rows; --no-baselines charges the release alone)"
                if res["epsilon_charged"] > epsilon else "")
             + f", left {res['budget']['epsilon_left']:g}\n"
             + ("warning: " if res["shadow_evidence"]["refuse"] or res["shadow_evidence"]["status"] == "above the bar"
                else "")
             + res["shadow_evidence"]["summary"])
    emit({k: v for k, v in res.items()}, as_json, human)


@app.command("evidence")
def evidence_cmd(
    method: str = typer.Option(None, "--method", help="One engine (structured, independent, mst, aim, ...); "
                               "default: every engine the attack has measured."),
    epsilon: float = typer.Option(None, "--epsilon", help="Say what a release at this ε would be told, and whether "
                                  "it would be refused (needs --method)."),
    delta: float = typer.Option(1e-9, "--delta", help="δ of that release (the games ran at 1e-9)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """What genmed's shadow-model membership attack measured per engine and ε, and which releases it refuses.

    Check this before `genmed privacy synthesize`: an engine measured above the 0.55 bar at an ε (or at a smaller
    one) is refused there unless --accept-measured-risk. Numbers come from the shipped table that
    `genmed bench privacy` and `genmed bench privacy-shadow` rebuild (worst over data sets and games)."""
    from genmed.core.errors import InputError
    from genmed.privacy import evidence
    from genmed.privacy.synth import SYNTHESIZERS

    if method is not None and method not in SYNTHESIZERS.names():
        raise InputError(f"unknown --method {method!r}; known: {', '.join(SYNTHESIZERS.names())}")
    if not 0 < delta < 1:
        raise InputError(f"--delta must be in (0, 1), got {delta:g}")
    if epsilon is not None:
        if method is None:
            raise InputError("--epsilon needs --method: the evidence is per engine")
        if not epsilon > 0:
            raise InputError(f"--epsilon must be > 0, got {epsilon:g}")
        ev = evidence.evidence_for(method, epsilon, None, delta)
        verdict = ("never made (not differentially private: a leak control)" if not getattr(
            SYNTHESIZERS.get(method), "private", True) else
            "REFUSED unless --accept-measured-risk" if ev["refuse"] else "allowed")
        emit({k: v for k, v in ev.items() if k != "failing"} | {"failing": ev["failing"]}, as_json,
             f"{method} at ε = {evidence.epsilon_text(epsilon)}, δ = {delta:g}: release {verdict}.\n{ev['summary']}")
        return
    lines = evidence.overview(method, delta)
    human = [f"shadow-model MIA AUC (0.5 = no leak; bar {evidence.BAR}), worst over data sets and games; "
             f"release at δ = {delta:g}:"]
    for r in lines:
        lo, hi = r["worst_ci95"]
        old = f", {r['outdated']} of an earlier engine/attack" if r["outdated"] else ""
        eps = f"ε={evidence.epsilon_text(r['epsilon'])}" if r["private"] else "not DP"
        verdict = (f"{r['status']}; " + ("REFUSED" if r["refuse"] else "allowed")) if r["private"] else (
            "leak control, " + ("flagged" if r["worst_auc"] >= 0.75 else "NOT flagged") + " (bar 0.75); never released")
        human.append(f"  {r['method']:<13} {eps:<8} {r['worst_auc']:.3f} [{lo:.3f}, {hi:.3f}] on "
                     f"{r['worst_dataset']} ({r['games']} game(s) on {', '.join(r['datasets'])}{old}): {verdict}")
    if not lines:
        human.append("  (no measurement" + (f" for {method}" if method else "") + ")")
    human.append("An ε not listed has not been attacked: a release there is told so, and is refused only if a "
                 "smaller ε failed.")
    emit(lines, as_json, "\n".join(human))


budget_app = typer.Typer(help="Privacy budget per data set (ε ledger in the embedded store).", no_args_is_help=True)
app.add_typer(budget_app, name="budget")


@budget_app.command("show")
def budget_show(dataset: str = typer.Argument(...), as_json: bool = typer.Option(False, "--json")) -> None:
    """ε total, spent and left for a data set, with its release history."""
    from genmed.privacy import budget

    st = {**budget.status(dataset), "history": budget.history(dataset)}
    emit(st, as_json, f"{dataset}: ε spent {st['epsilon_spent']:g} of {st['epsilon_total']:g}, "
                      f"left {st['epsilon_left']:g} ({len(st['history'])} charges)")


@budget_app.command("set")
def budget_set(dataset: str = typer.Argument(...), epsilon_total: float = typer.Option(..., "--epsilon-total")) -> None:
    """Set a data set's total ε budget (a deliberate, recorded decision of the data steward)."""
    from genmed.core.errors import InputError
    from genmed.privacy import budget

    if not epsilon_total > 0:
        raise InputError(f"--epsilon-total must be > 0, got {epsilon_total:g}")
    budget.set_budget(dataset, epsilon_total)
    typer.echo(f"{dataset}: total ε budget set to {epsilon_total:g}")
