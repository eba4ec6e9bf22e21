"""`genmed plan`: the main job — a personalized treatment plan from a FHIR record (+ VCF)."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperGroup

from genmed.cli._common import emit


class _DefaultRun(TyperGroup):
    """`genmed plan PATIENT ...` is `genmed plan run PATIENT ...` (the form the issue and README use)."""

    def parse_args(self, ctx, args):
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(help="Personalized treatment plan: FHIR R4 record + VCF -> report.html/pdf, plan.json, careplan.json. "
                  "`genmed plan PATIENT` is short for `genmed plan run PATIENT`.", no_args_is_help=True, cls=_DefaultRun)


def _report(run, as_json: bool) -> None:
    plan = run.plan
    data = {"run_id": run.run_id, "out_dir": str(run.out_dir), "files": {k: str(v) for k, v in run.files.items()},
            "subject": plan.subject, "summary": plan.summary, "missing": plan.missing, "seconds": run.seconds}
    lines = [f"plan for {plan.subject} ({run.seconds:.1f} s) -> {run.out_dir}"]
    lines += [f"  - {s}" for s in plan.summary]
    if plan.missing:
        lines.append(f"  partial plan: {len(plan.missing)} item(s) missing (see report)")
    lines += [f"  {k}: {v}" for k, v in data["files"].items()]
    emit(data, as_json, "\n".join(lines))


@app.command("run")
def run_cmd(
    patient: Path = typer.Argument(..., help="FHIR R4 Bundle (JSON), compact record (YAML/JSON), or a folder holding one."),
    vcf: Path | None = typer.Option(None, "--vcf", help="Genotype VCF (overrides the record's reference)."),
    sample: str | None = typer.Option(None, "--sample", help="VCF sample column (default: the record's, or the only one)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output folder (default: a new run folder under runs/)."),
    fmt: str = typer.Option("html,pdf,json,fhir", "--format", "-f", help="Comma-separated: html, pdf, json, fhir."),
    deidentify: bool = typer.Option(False, "--deidentify", help="Leave HIPAA Safe Harbor identifiers out of the report."),
    strict: bool = typer.Option(False, "--strict", help="Refuse a bundle with any schema error instead of skipping the entry."),
    seed: int = typer.Option(0, "--seed", help="Seed for sampled digital-twin trajectories."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Plan for one patient and write the outputs (the run is recorded: `genmed runs list`)."""
    from genmed.plan import run_plan

    run = run_plan(patient, out_dir=out, vcf=vcf, sample=sample, formats=fmt, deidentify=deidentify, strict=strict,
                   seed=seed)
    _report(run, as_json)


@app.command("batch")
def batch_cmd(
    folder: Path = typer.Argument(..., help="Folder of patient files (FHIR bundles / compact records)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: one sub-folder per pseudonym + batch.csv."),
    fmt: str = typer.Option("json,fhir", "--format", "-f", help="Comma-separated: html, pdf, json, fhir."),
    identified: bool = typer.Option(False, "--identified", help="Keep identifiers in the HTML reports (default: de-identified)."),
    strict: bool = typer.Option(False, "--strict", help="Refuse bundles with any schema error."),
    workers: int = typer.Option(1, "--workers", "-j", min=1, help="Local worker processes."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Plan for every patient in a folder (a cohort export); a bad file is reported, not fatal."""
    from genmed.plan import run_batch

    rows = run_batch(folder, out, formats=fmt, deidentify=not identified, strict=strict, workers=workers)
    ok = sum(r["status"] == "ok" for r in rows)
    lines = [f"{ok}/{len(rows)} planned -> {out} (batch.csv)"]
    lines += [f"  #{r['index']}: {r['error']}" for r in rows if r["status"] != "ok"]
    emit(rows, as_json, "\n".join(lines))
    if ok == 0:
        raise typer.Exit(2)


@app.command("example")
def example_cmd(
    name: str = typer.Argument("breast-cyp2d6-pm", help="Example patient (see `genmed plan examples`)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output folder."),
    fmt: str = typer.Option("html,pdf,json,fhir", "--format", "-f", help="Comma-separated: html, pdf, json, fhir."),
    deidentify: bool = typer.Option(False, "--deidentify", help="Leave identifiers out of the report."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Plan for a bundled, made-up example patient."""
    from genmed.plan import run_example

    _report(run_example(name, out_dir=out, formats=fmt, deidentify=deidentify), as_json)


@app.command("examples")
def examples_cmd(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """List the bundled example patients."""
    from genmed.patient.examples import example_dir, list_examples

    data = {n: {"description": d, "path": str(example_dir(n))} for n, d in list_examples().items()}
    emit(data, as_json, "\n".join(f"{n:22} {d}" for n, d in list_examples().items()))


@app.command("knowledge")
def knowledge_cmd(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Show the options knowledge file: version, conditions, options and their sources."""
    from genmed.plan import load_knowledge

    kb = load_knowledge()
    data = {"version": kb.version, "released": kb.released,
            "conditions": {k: [{"id": o.id, "tier": o.tier, "sources": o.sources} for o in c.options]
                           for k, c in kb.conditions.items()}}
    lines = [f"options knowledge {kb.version} ({kb.released})"]
    for k, c in kb.conditions.items():
        lines.append(f"  {k}: " + ", ".join(f"{o.id} (tier {o.tier})" for o in c.options))
    emit(data, as_json, "\n".join(lines))
