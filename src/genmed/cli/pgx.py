"""`genmed pgx`: build the knowledge pack, call genes from a VCF, look up recommendations, dose warfarin."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from genmed.cli._common import emit, fail
from genmed.core.errors import GenmedError, InputError

app = typer.Typer(help="Pharmacogenomics: VCF -> diplotypes, phenotypes, CPIC/DPWG recommendations, dosing.",
                  no_args_is_help=True)


@app.command("build-knowledge")
def build_knowledge_cmd(
    src: Path = typer.Option(None, "--from", help="pgx reference data folder (default $GENMED_DATA_DIR/pgx)."),
    out: Path = typer.Option(None, "--out", help="Where to write the pack (default: inside the package)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Distil PharmCAT definitions/phenotypes/guidelines + pypgx tables into genmed's versioned pack."""
    from genmed.core.data import data_path
    from genmed.pgx.knowledge import build_knowledge

    try:
        info = build_knowledge(src or data_path("pgx"), out)
    except GenmedError as exc:
        fail(exc)
    emit(info, as_json, f"wrote {info['path']} ({info['bytes'] / 1e6:.2f} MB, {info['version']}): "
                        f"{info['genes']} genes, {info['guidelines']} guidelines, "
                        f"{info['recommendations']} recommendations")


@app.command("call")
def call_cmd(
    vcf: Path = typer.Argument(..., help="VCF or VCF.gz (GRCh38 unless --build GRCh37)."),
    out: Path = typer.Option(..., "--out", help="Output directory (calls.json, calls.tsv, calls.fhir.json, "
                                                "report.html, run.json)."),
    sample: list[str] = typer.Option(None, "--sample", help="Sample to call (repeatable)."),
    all_samples: bool = typer.Option(False, "--all-samples", help="Call every sample in the VCF."),
    outside_calls: Path = typer.Option(None, "--outside-calls", help="PharmCAT outside-call TSV (CYP2D6, HLA...)."),
    assume_ref: bool = typer.Option(False, "--assume-ref", help="Treat positions absent from the VCF as reference."),
    build: str = typer.Option("GRCh38", "--build", help="GRCh38 or GRCh37."),
    research_cyp2d6: bool = typer.Option(False, "--research-cyp2d6",
                                         help="SNV-only CYP2D6 call from the VCF (research use; misses *5/CNVs)."),
    drugs: str = typer.Option(None, "--drugs", help="Also write recommendations.json for these drugs "
                                                    "(comma-separated, or 'all'); shown in report.html."),
    co_medications: str = typer.Option("", "--co-medications", help="Co-medications for phenoconversion."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Call the 19 PharmCAT genes (+ outside calls) and write calls.json / calls.tsv / report.html."""
    from genmed.core.provenance import run_directory
    from genmed.pgx import call_vcf_samples
    from genmed.pgx.report import summary_text, to_html, to_tsv
    from genmed.pgx.vcf import vcf_samples

    try:
        if not sample and not all_samples:
            names = vcf_samples(vcf)
            if len(names) > 1:
                raise InputError(f"VCF has {len(names)} samples", source=str(vcf),
                                 hint="pass --sample ID or --all-samples")
        results = call_vcf_samples(vcf, samples=sample or None, outside_calls=outside_calls, assume_ref=assume_ref,
                                   build=build, research_cyp2d6=research_cyp2d6)
        recs_by_sample = {}
        if drugs:
            from genmed.pgx import recommend

            dl = None if drugs.strip().lower() == "all" else [d for d in drugs.split(",") if d.strip()]
            meds = [m for m in co_medications.split(",") if m.strip()]
            recs_by_sample = {r.sample: recommend(r, dl, co_medications=meds) for r in results}
    except GenmedError as exc:
        fail(exc)
    # Everything computed: only now write files (nothing half-written on bad input).
    config = {"vcf": str(vcf), "samples": sample, "all_samples": all_samples, "outside_calls": str(outside_calls or ""),
              "drugs": drugs, "co_medications": co_medications,
              "assume_ref": assume_ref, "build": build, "research_cyp2d6": research_cyp2d6}
    with run_directory("pgx-call", out=out, config=config) as run:
        docs = [r.to_dict() for r in results]
        payload = docs[0] if len(docs) == 1 else {"results": docs}
        run.file("calls.json").write_text(json.dumps(payload, indent=1))
        from genmed.pgx.fhir import to_fhir_bundle

        bundles = [to_fhir_bundle(r) for r in results]
        run.file("calls.fhir.json").write_text(json.dumps(bundles[0] if len(bundles) == 1 else bundles, indent=1))
        if recs_by_sample:
            rec_docs = {s: [x.to_dict() for x in v] for s, v in recs_by_sample.items()}
            run.file("recommendations.json").write_text(
                json.dumps(next(iter(rec_docs.values())) if len(rec_docs) == 1 else rec_docs, indent=1))
        if len(results) == 1:
            run.file("calls.tsv").write_text(to_tsv(results[0]))
            run.file("report.html").write_text(to_html(results[0], recs_by_sample.get(results[0].sample)))
        else:
            tsv = "".join(to_tsv(r) for r in results)
            run.file("calls.tsv").write_text(tsv)
            run.file("report.html").write_text("\n".join(to_html(r, recs_by_sample.get(r.sample))
                                                         for r in results[:50]))
        run.summary = {"samples": len(results), "knowledge_version": results[0].knowledge_version}
    human = "\n\n".join(summary_text(r) for r in results[:5]) + f"\n\nwrote {out}/calls.json, calls.tsv, report.html"
    emit(payload, as_json, human)


@app.command("recommend")
def recommend_cmd(
    calls: Path = typer.Argument(..., help="calls.json written by `genmed pgx call`."),
    drugs: str = typer.Option("all", "--drugs", help="Comma-separated drug names, or 'all'."),
    co_medications: str = typer.Option("", "--co-medications", help="Comma-separated co-medications "
                                       "(strong/moderate CYP2D6/CYP2C19 inhibitors phenoconvert)."),
    source: str = typer.Option("CPIC,DPWG", "--source", help="Guideline sources."),
    out: Path = typer.Option(None, "--out", help="Write recommendations.json here."),
    html: Path = typer.Option(None, "--html", help="Write a report.html with calls and recommendations here."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """CPIC/DPWG recommendation per drug with strength, guideline version and implications."""
    from genmed.pgx import load_result, recommend

    try:
        res = load_result(calls)
        dl = None if drugs.strip().lower() == "all" else [d for d in drugs.split(",") if d.strip()]
        recs = recommend(res, dl, co_medications=[m for m in co_medications.split(",") if m.strip()],
                         sources=[s.strip() for s in source.split(",") if s.strip()])
    except GenmedError as exc:
        fail(exc)
    data = [r.to_dict() for r in recs]
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(data, indent=1))
    if html:
        from genmed.pgx.report import to_html

        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(to_html(res, recs))
    lines = []
    for r in recs:
        text = (r.recommendation or r.reason or "").split("\n")[0]
        genes = ", ".join(f"{k}={v}" for k, v in r.genes.items())
        lines.append(f"{r.drug:14s} {r.source or '-':5s} {r.status:17s} {genes} [{r.classification or ''}] {text}")
        lines += [f"{'':20s}! {p}" for p in r.phenoconversion]
    emit(data, as_json, "\n".join(lines))


@app.command("warfarin")
def warfarin_cmd(
    age: float = typer.Option(..., "--age", help="Age in years."),
    height: float = typer.Option(..., "--height", help="Height in cm."),
    weight: float = typer.Option(..., "--weight", help="Weight in kg."),
    calls: Path = typer.Option(None, "--calls", help="calls.json (CYP2C9/VKORC1/CYP4F2 taken from it)."),
    cyp2c9: str = typer.Option(None, "--cyp2c9", help="CYP2C9 diplotype, e.g. '*1/*3' (if no --calls)."),
    vkorc1: str = typer.Option(None, "--vkorc1", help="VKORC1 -1639 genotype G/G, A/G, A/A (if no --calls)."),
    race: str = typer.Option(None, "--race", help="white, asian, black (omit = missing/mixed)."),
    enzyme_inducer: bool = typer.Option(False, "--enzyme-inducer", help="Carbamazepine/phenytoin/rifampin."),
    amiodarone: bool = typer.Option(False, "--amiodarone"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Warfarin weekly dose by the IWPC pharmacogenetic algorithm with CPIC 2017 adjustments."""
    from genmed.pgx import load_result, warfarin_dose, warfarin_dose_iwpc

    try:
        if calls:
            est = warfarin_dose(load_result(calls), age_years=age, height_cm=height, weight_kg=weight, race=race,
                                enzyme_inducer=enzyme_inducer, amiodarone=amiodarone)
        else:
            est = warfarin_dose_iwpc(age_years=age, height_cm=height, weight_kg=weight, cyp2c9=cyp2c9,
                                     vkorc1=vkorc1, race=race, enzyme_inducer=enzyme_inducer, amiodarone=amiodarone)
    except GenmedError as exc:
        fail(exc)
    human = (f"warfarin {est.weekly_dose_mg} mg/week ({est.daily_dose_mg} mg/day), range {est.range_weekly_mg}\n"
             f"inputs: {est.inputs}\n" + "".join(f"adjust: {a}\n" for a in est.adjustments)
             + "".join(f"warning: {w}\n" for w in est.warnings) + f"source: {est.citation}")
    emit(est.to_dict(), as_json, human)


@app.command("drugs")
def drugs_cmd(as_json: bool = typer.Option(False, "--json")) -> None:
    """List drugs with a CPIC/DPWG guideline in the knowledge pack."""
    from genmed.pgx.recommend import list_drugs

    d = list_drugs()
    emit(d, as_json, ", ".join(d))
