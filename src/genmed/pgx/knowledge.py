"""genmed's pharmacogenomics knowledge pack: build it from the reference data, load it at run time.

The engine never reads PharmCAT/pypgx files directly: ``build_knowledge(src_dir)`` distils them into one gzipped
JSON (``data/knowledge.json.gz`` in this package) where every record keeps its ``source`` and ``version``. That
makes the knowledge version explicit (it is stamped on every call and recommendation) and keeps run time free of
large parsing work.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import hashlib
import html
import json
import re
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from genmed.core.errors import DataNotFoundError, InputError

PACK_SCHEMA = 1
PACK_PATH = Path(__file__).with_name("data") / "knowledge.json.gz"

#: The 19 genes PharmCAT calls from VCF, plus CYP2D6 whose definitions are kept for SNV-level research calls.
VCF_GENES = (
    "ABCG2", "CACNA1S", "CFTR", "CYP2B6", "CYP2C19", "CYP2C9", "CYP3A4", "CYP3A5", "CYP4F2", "DPYD", "G6PD",
    "IFNL3", "NAT2", "NUDT15", "RYR1", "SLCO1B1", "TPMT", "UGT1A1", "VKORC1",
)
#: Genes that only come in as outside calls (PharmCAT does not call them from VCF).
OUTSIDE_GENES = ("CYP2D6", "HLA-A", "HLA-B", "MT-RNR1")


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):  # noqa: ARG002 - HTMLParser API
        if tag in {"p", "h1", "h2", "h3", "h4", "li", "br", "tr"}:
            self.parts.append("\n")

    def handle_data(self, data):
        self.parts.append(data)


def html_to_text(fragment: str | None) -> str:
    """Guideline text comes as HTML; keep readable plain text (headings become their own lines)."""
    if not fragment:
        return ""
    p = _TextExtractor()
    p.feed(fragment)
    text = html.unescape("".join(p.parts))
    lines = [re.sub(r"[ \t]+", " ", ln).strip() for ln in text.splitlines()]
    return "\n".join(ln for ln in lines if ln)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataNotFoundError("file not found", source=str(path)) from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON ({exc.msg} at line {exc.lineno})", source=str(path)) from exc


def _build_definitions(pc: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    exemptions = _read_json(pc / "definitions" / "exemptions.json")
    genes: dict[str, Any] = {}
    for f in sorted((pc / "definitions").glob("*_translation.json")):
        d = _read_json(f)
        gene = d["gene"]
        variants = [
            {
                "pos": v["position"],
                "cpic_pos": v.get("cpicPosition"),
                "rsid": v.get("rsid"),
                "ref": v["ref"],
                "alts": v.get("alts") or [],
                "hgvs": v.get("chromosomeHgvsName"),
            }
            for v in d["variants"]
        ]
        alleles = [
            {
                "name": a["name"],
                "id": a.get("id"),
                "reference": bool(a.get("reference")),
                "alleles": a["alleles"],
                "structural": bool(a.get("structuralVariant")),
            }
            for a in d["namedAlleles"]
        ]
        ex = exemptions.get(gene, {})
        genes[gene] = {
            "source": f"PharmCAT allele definitions ({d.get('source')})",
            "version": d.get("version"),
            "modified": d.get("modificationDate"),
            "chromosome": d["chromosome"],
            "build": d.get("genomeBuild"),
            "variants": variants,
            "alleles": alleles,
            "exemption": {
                "required_positions": ex.get("requiredPositions") or [],
                "ignored_positions": [p["position"] for p in ex.get("ignoredPositions") or []],
                "ignored_alleles": ex.get("ignoredAlleles") or [],
                "extra_positions": [
                    {"pos": p["position"], "rsid": p.get("rsid"), "ref": p["ref"], "alts": p.get("alts") or []}
                    for p in ex.get("extraPositions") or []
                ],
                "amp1_alleles": ex.get("amp1Alleles") or [],
                "unphased_priorities": [
                    {"list": p["list"], "pick": p["pick"]} for p in ex.get("unphasedDiplotypePriorities") or []
                ],
            },
        }
    return genes, {"source": "PharmCAT definitions/exemptions.json"}


def pair_key(names: list[str] | tuple[str, ...]) -> str:
    """Order-free key of a diplotype (or haplotype) for phenotype lookups."""
    return "\t".join(sorted(names))


def _build_phenotypes(pc: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in sorted((pc / "phenotypes").glob("*.json")):
        d = _read_json(f)
        gene = d["gene"]
        alleles = {
            a["name"]: {"function": a.get("functionValue"), "activity": a.get("activityValue")}
            for a in d.get("namedAlleles") or []
        }
        dips: dict[str, list[Any]] = {}
        for dp in d.get("diplotypes") or []:
            names: list[str] = []
            for n, c in (dp.get("diplotypekey") or {}).items():
                names += [n] * int(c)
            dips[pair_key(names)] = [dp.get("phenotype") or dp.get("generesult"), dp.get("activityScore"),
                                     dp.get("lookupkey")]
        out[gene] = {"source": "PharmCAT gene phenotypes (CPIC)", "version": d.get("version"),
                     "alleles": alleles, "diplotypes": dips}
    return out


def _build_guidelines(pc: Path) -> list[dict[str, Any]]:
    out = []
    for f in sorted((pc / "guidelines").glob("*.json")):
        d = _read_json(f)
        g = d["guideline"]
        recs = []
        for r in d.get("recommendations") or []:
            recs.append({
                "id": r.get("id"),
                "drugs": [c["name"] for c in r.get("relatedChemicals") or []],
                "population": r.get("population"),
                "classification": (r.get("classification") or {}).get("term"),
                "text": html_to_text((r.get("text") or {}).get("html")),
                "implications": r.get("implications") or [],
                "lookup": r.get("lookupKey") or {},
                "dosing": bool(r.get("dosingInformation")),
                "alternate_drug": bool(r.get("alternateDrugAvailable")),
                "other_guidance": bool(r.get("otherPrescribingGuidance")),
            })
        out.append({
            "id": g.get("id"),
            "file": f.name,
            "name": g.get("name"),
            "source": g.get("source"),
            "annotation_version": g.get("version"),
            "version": d.get("version"),
            "url": g.get("url"),
            "drugs": [c["name"] for c in g.get("relatedChemicals") or []],
            "genes": [c["symbol"] for c in g.get("relatedGenes") or [] if c.get("symbol")],
            "has_recommendations": bool(g.get("recommendation")),
            "citations": [
                {"pmid": c.get("pmid"), "title": c.get("title"), "year": c.get("year"), "journal": c.get("journal")}
                for c in d.get("citations") or []
            ],
            "recommendations": recs,
        })
    return out


def _read_csv(path: Path) -> list[dict[str, str]]:
    import csv

    if not path.exists():
        raise DataNotFoundError("file not found", source=str(path))
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _build_pypgx(pp: Path) -> dict[str, Any]:
    alleles: dict[str, dict[str, Any]] = {}
    for row in _read_csv(pp / "allele-table.csv"):
        if row["Gene"] in {"CYP2D6", "G6PD"}:
            alleles.setdefault(row["Gene"], {})[row["StarAllele"]] = {
                "activity": None if row["ActivityScore"] in {"N/A", ""} else row["ActivityScore"],
                "function": row["Function"],
            }
    equations = [r for r in _read_csv(pp / "equation-table.csv")]
    # GRCh38 -> GRCh37 positions for the variants pypgx knows (dual coordinates; used for GRCh37 input).
    liftover: dict[str, dict[str, list[Any]]] = {}
    for row in _read_csv(pp / "variant-table.csv"):
        try:
            p38, p37 = int(row["GRCh38Position"]), int(row["GRCh37Position"])
        except ValueError:
            continue
        chrom = row["Chromosome"].removeprefix("chr")
        liftover.setdefault(chrom, {})[str(p38)] = [p37, row["GRCh37Allele"], row["GRCh38Allele"], row["rsID"]]
    return {"source": "pypgx 0.27.0 api/data tables", "version": "0.27.0", "alleles": alleles,
            "activity_equations": equations, "grch38_to_grch37": liftover}


def build_knowledge(src_dir: str | Path, out: str | Path | None = None) -> dict[str, Any]:
    """Build the pack from ``$GENMED_DATA_DIR/pgx`` and write it (default: inside the package).

    Returns a summary dict (path, size, counts, digest). Re-running on the same inputs gives the same content.
    """
    src = Path(src_dir)
    pc, pp = src / "pharmcat", src / "pypgx"
    for p in (pc / "definitions", pc / "phenotypes", pc / "guidelines", pp):
        if not p.is_dir():
            raise DataNotFoundError("expected folder is missing", source=str(p),
                                    hint="point --from at the pgx reference data (see its SOURCE.md)")
    genes, _ = _build_definitions(pc)
    phenotypes = _build_phenotypes(pc)
    guidelines = _build_guidelines(pc)
    pypgx = _build_pypgx(pp)
    source_md = (src / "SOURCE.md").read_text(encoding="utf-8") if (src / "SOURCE.md").exists() else ""
    versions = sorted({g["version"] for g in genes.values() if g.get("version")})
    gl_versions = sorted({g["version"] for g in guidelines if g.get("version")})
    body = {
        "genes": genes,
        "phenotypes": phenotypes,
        "guidelines": guidelines,
        "pypgx": pypgx,
    }
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]
    pack = {
        "schema": PACK_SCHEMA,
        "version": f"genmed-pgx-kb {versions[-1] if versions else 'unknown'}+{digest}",
        "built_at": _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "sources": {
            "allele_definitions": {"source": "PharmGKB/PharmCAT v3.1.1-2 (MPL-2.0; data CPIC CC0, ClinPGx)",
                                   "versions": versions},
            "guidelines": {"source": "PharmGKB/PharmCAT reporter guidelines (CPIC, DPWG annotations)",
                           "versions": gl_versions},
            "pypgx": {"source": pypgx["source"], "version": pypgx["version"]},
            "source_md": source_md,
        },
        **body,
    }
    target = Path(out) if out else PACK_PATH
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    raw = json.dumps(pack, separators=(",", ":"), sort_keys=True).encode()
    with open(tmp, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(raw)
    tmp.replace(target)
    load_knowledge.cache_clear()
    return {
        "path": str(target), "bytes": target.stat().st_size, "version": pack["version"],
        "genes": len(genes), "phenotype_genes": len(phenotypes), "guidelines": len(guidelines),
        "recommendations": sum(len(g["recommendations"]) for g in guidelines),
    }


@lru_cache(maxsize=4)
def load_knowledge(path: str | None = None) -> dict[str, Any]:
    """Load (and cache) the pack; a missing pack says how to build it."""
    p = Path(path) if path else PACK_PATH
    try:
        with gzip.open(p, "rb") as fh:
            pack = json.loads(fh.read())
    except FileNotFoundError as exc:
        raise DataNotFoundError("pharmacogenomics knowledge pack not found", source=str(p),
                                hint="run `genmed pgx build-knowledge --from $GENMED_DATA_DIR/pgx`") from exc
    except (OSError, EOFError, json.JSONDecodeError) as exc:
        raise DataNotFoundError(f"knowledge pack is unreadable ({exc})", source=str(p),
                                hint="rebuild it with `genmed pgx build-knowledge`") from exc
    if pack.get("schema") != PACK_SCHEMA:
        raise DataNotFoundError(f"knowledge pack schema {pack.get('schema')} != {PACK_SCHEMA}", source=str(p),
                                hint="rebuild it with `genmed pgx build-knowledge`")
    return pack
