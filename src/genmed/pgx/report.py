"""Writers for gene calls: PharmCAT-style ``report.tsv`` rows, a plain-text summary and a small HTML page."""

from __future__ import annotations

import html
from typing import Any

from genmed.pgx.models import DrugRecommendation, GeneCall, PgxResult

TSV_COLUMNS = [
    "Gene", "Source Diplotype", "Phenotype", "Activity Score", "Haplotype 1", "Haplotype 1 Function",
    "Haplotype 1 Activity Value", "Haplotype 2", "Haplotype 2 Function", "Haplotype 2 Activity Value",
    "Outside Call", "Match Score", "Missing positions", "Recommendation Lookup Diplotype",
    "Recommendation Lookup Phenotype", "Recommendation Lookup Activity Score",
]


def _s(x: Any) -> str:
    return "" if x is None else str(x)


def tsv_rows(result: PgxResult) -> list[list[str]]:
    """One row per diplotype (PharmCAT writes one row per top diplotype; a no-call gets one row)."""
    rows = []
    for gene, c in result.genes.items():
        missing = "yes" if c.missing_positions else "no"
        outside = "yes" if c.status == "outside_call" else "no"
        if not c.diplotypes:
            rows.append([gene, "Unknown/Unknown", "n/a", "", "", "", "", "", "", "", outside, "", missing, "", "", ""])
            continue
        for d in c.diplotypes:
            h = d.haplotypes + [None] * (2 - len(d.haplotypes))
            row = [gene, d.name, _s(d.phenotype), _s(d.activity_score)]
            for hap in h[:2]:
                row += [hap.name, _s(hap.function), _s(hap.activity_value)] if hap else ["", "", ""]
            row += [outside, _s(d.score if d.score is not None else 0), missing, d.name, _s(d.phenotype),
                    _s(d.activity_score)]
            rows.append(row)
    return rows


def to_tsv(result: PgxResult) -> str:
    lines = [f"{result.engine_version} | knowledge {result.knowledge_version} | sample {result.sample}",
             "\t".join(TSV_COLUMNS)]
    lines += ["\t".join(r) for r in tsv_rows(result)]
    return "\n".join(lines) + "\n"


def _gene_line(c: GeneCall) -> str:
    if not c.diplotypes:
        return f"{c.gene:8s} not called: {c.reason}"
    dips = " | ".join(d.name for d in c.diplotypes)
    extra = []
    if c.activity_score:
        extra.append(f"AS {c.activity_score}")
    if c.status == "ambiguous":
        extra.append("ambiguous")
    if c.status == "outside_call":
        extra.append("outside call")
    if c.missing_positions:
        extra.append(f"{len(c.missing_positions)} positions missing")
    tail = f" ({', '.join(extra)})" if extra else ""
    return f"{c.gene:8s} {dips} -> {c.phenotype or 'no phenotype defined'}{tail}"


def summary_text(result: PgxResult) -> str:
    lines = [f"sample {result.sample} ({result.input}, {result.build}); knowledge {result.knowledge_version}"]
    lines += [_gene_line(c) for c in result.genes.values()]
    return "\n".join(lines)


def to_html(result: PgxResult, recs: list[DrugRecommendation] | None = None) -> str:
    e = html.escape
    rows = []
    for c in result.genes.values():
        dips = "<br>".join(e(d.name) for d in c.diplotypes) or f"<i>not called: {e(c.reason or '')}</i>"
        if c.extra.get("dpyd_variants_present"):
            dips += "<br><small>variants: " + e(", ".join(c.extra["dpyd_variants_present"])) + "</small>"
        if c.extra.get("other_viable_diplotypes"):
            dips += "<br><small>also possible: " + e(", ".join(
                f"{a['name']} ({a['phenotype']})" for a in c.extra["other_viable_diplotypes"][:5])) + "</small>"
        ev = [x for x in c.evidence if x.get("alleles")][:8]
        if ev:
            dips += "<br><small>evidence: " + e("; ".join(
                f"{x['position']} {x.get('rsid') or ''} {x['call']}".strip() for x in ev)) + "</small>"
        miss = ", ".join(f"{m['position']} ({m.get('rsid') or '-'})" for m in c.missing_positions[:12])
        if len(c.missing_positions) > 12:
            miss += f" … (+{len(c.missing_positions) - 12})"
        warn = "<br>".join(e(w) for w in c.warnings)
        rows.append(f"<tr class='{e(c.status)}'><td>{e(c.gene)}</td><td>{dips}</td><td>{e(c.phenotype or '')}</td>"
                    f"<td>{e(c.activity_score or '')}</td><td>{e(c.status)}</td><td>{e(miss)}</td>"
                    f"<td class='w'>{warn}</td></tr>")
    rec_html = ""
    if recs:
        rr = []
        for r in recs:
            rr.append(f"<tr><td>{e(r.drug)}</td><td>{e(r.source or '')}</td><td>{e(r.status)}</td>"
                      f"<td>{e(', '.join(f'{k}: {v}' for k, v in r.genes.items()))}</td>"
                      f"<td>{e(r.classification or '')}</td>"
                      f"<td>{e(r.recommendation or r.reason or '').replace(chr(10), '<br>')}"
                      f"{''.join('<br><i>' + e(p) + '</i>' for p in r.phenoconversion)}</td>"
                      f"<td><a href='{e(r.guideline_url or '')}'>{e(r.guideline_version or '')}</a></td></tr>")
        rec_html = ("<h2>Recommendations</h2><table><tr><th>Drug</th><th>Source</th><th>Status</th><th>Genes</th>"
                    "<th>Strength</th><th>Recommendation</th><th>Guideline version</th></tr>" + "".join(rr)
                    + "</table>")
    return f"""<!doctype html><html><head><meta charset='utf-8'><title>genmed pgx: {e(result.sample)}</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;
padding:4px 8px;vertical-align:top;font-size:13px}}tr.not_called{{background:#fde}}tr.ambiguous{{background:#ffd}}
td.w{{color:#666;font-size:11px}}</style></head><body>
<h1>Pharmacogenomic calls: {e(result.sample)}</h1>
<p>Input {e(result.input or '')} ({e(result.build)}); engine {e(result.engine_version)};
knowledge {e(result.knowledge_version)}. Missing positions are no-calls, not reference.</p>
<table><tr><th>Gene</th><th>Diplotype(s)</th><th>Phenotype</th><th>Activity score</th><th>Status</th>
<th>Missing positions</th><th>Warnings</th></tr>{''.join(rows)}</table>{rec_html}
<p style='font-size:11px'>Allele definitions and guideline data: PharmGKB/PharmCAT (CPIC, DPWG, ClinPGx); pypgx tables.
Not a substitute for clinical judgement.</p></body></html>"""
