"""From matcher output (or outside calls) to gene calls with phenotypes, activity scores and provenance."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from genmed.core.errors import InputError
from genmed.pgx.knowledge import OUTSIDE_GENES, VCF_GENES, load_knowledge, pair_key
from genmed.pgx.matcher import MatchResult, gene_definition, match_gene, natural_key
from genmed.pgx.models import Diplotype, GeneCall, HaplotypeInfo, PgxResult
from genmed.pgx.vcf import SampleCall, read_vcf

ENGINE_VERSION = "genmed-pgx 0.1.0"

# CPIC consensus CYP2D6 activity score -> phenotype (Caudle KE et al., Clin Transl Sci 2020;13:116-24).
CYP2D6_AS_RULES = ((0.0, 0.0, "Poor Metabolizer"), (0.25, 1.0, "Intermediate Metabolizer"),
                   (1.25, 2.25, "Normal Metabolizer"), (2.5, 99.0, "Ultrarapid Metabolizer"))
HLA_LOOKUP_ALLELES = {"HLA-A": ("*31:01",), "HLA-B": ("*15:02", "*57:01", "*58:01", "*15:11")}
DPYD_HAPB3_INTRONIC = "rs75017182"  # c.1129-5923C>G, the causal HapB3 variant
DPYD_HAPB3_EXONIC = "rs56038477"  # c.1236G>A, in linkage with it


def _fmt_score(x: float) -> str:
    return f"{x:.1f}" if abs(x * 10 - round(x * 10)) < 1e-9 else f"{x:g}"


def _phenotype_info(gene: str) -> dict[str, Any] | None:
    return load_knowledge()["phenotypes"].get(gene)


def _haplotype_info(gene: str, name: str) -> HaplotypeInfo:
    ph = _phenotype_info(gene)
    if ph and name in ph["alleles"]:
        a = ph["alleles"][name]
        return HaplotypeInfo(name, a.get("function"), a.get("activity"))
    if gene in {"G6PD", "CYP2D6"}:
        a = load_knowledge()["pypgx"]["alleles"].get(gene, {}).get(name)
        if a:
            return HaplotypeInfo(name, a.get("function"), a.get("activity"))
    return HaplotypeInfo(name)


def _g6pd_phenotype(names: list[str]) -> tuple[str, str | None]:
    """CPIC G6PD (2022) phenotype from WHO classes (pypgx table). Hemizygous when one name is given."""
    classes = []
    for n in names:
        f = (_haplotype_info("G6PD", n).function or "").lower()
        if "class iv" in f or "class v" in f.replace("class vi", ""):
            classes.append("normal")
        elif "class i " in f + " " or f.startswith("class i ("):
            classes.append("cnsha")
        elif "class ii" in f or "class iii" in f:
            classes.append("deficient")
        else:
            return "Indeterminate", f"no WHO class for G6PD allele {n!r} in the knowledge pack"
    if len(classes) == 1:  # hemizygous
        return {"normal": "Normal", "deficient": "Deficient", "cnsha": "Deficient with CNSHA"}[classes[0]], None
    s = sorted(classes)
    if s == ["normal", "normal"]:
        return "Normal", None
    if "normal" in s:
        return "Variable", None
    if "cnsha" in s:
        return "Deficient with CNSHA", None
    return "Deficient", None


def describe_diplotype(gene: str, names: list[str], score: int | None = None, rank: int = 1) -> Diplotype:
    """Attach function, phenotype and activity score to a diplotype (or haploid call) from the knowledge pack."""
    haps = [_haplotype_info(gene, n) for n in names]
    d = Diplotype("/".join(names), haps, score=score, rank=rank)
    ph = _phenotype_info(gene)
    if gene == "G6PD":
        d.phenotype, why = _g6pd_phenotype(names)
        d.lookup_key = d.phenotype
        if why:
            d.note = why
    elif gene == "RYR1":
        # CPIC: no MHS-associated variant found -> "Uncertain Susceptibility". The allele-level MHS table is not in
        # the knowledge sources, so any other RYR1 diplotype stays indeterminate.
        d.phenotype = "Uncertain Susceptibility" if all(n == "Reference" for n in names) else "Indeterminate"
        d.lookup_key = d.phenotype
    elif gene == "CYP2D6":
        d.activity_score, d.phenotype = _cyp2d6_activity(names)
        d.lookup_key = d.activity_score if d.activity_score is not None else d.phenotype
    elif ph is not None:
        key = pair_key(names if len(names) == 2 else names * 2 if gene != "G6PD" else names)
        hit = ph["diplotypes"].get(key)
        if not ph["diplotypes"]:
            pass  # no CPIC phenotype defined for this gene (e.g. IFNL3): phenotype stays empty, as in PharmCAT
        elif hit:
            d.phenotype, d.activity_score, d.lookup_key = hit[0], hit[1], hit[2]
        else:
            d.phenotype = "Indeterminate"
            d.lookup_key = "Indeterminate"
    return d


def _cyp2d6_activity(names: list[str]) -> tuple[str | None, str]:
    total = 0.0
    for n in names:
        m = re.fullmatch(r"(\*\d+[A-Z]?(?:\.\d+)?)(?:[x×](\d+|N|≥3|>=3))?", n.strip())
        if not m:
            return None, "Indeterminate"
        base, mult = m.group(1), m.group(2)
        a = _haplotype_info("CYP2D6", base).activity_value
        if a is None:
            return None, "Indeterminate"
        k = 1 if mult is None else (3 if not mult.isdigit() else int(mult))
        total += float(a) * k
    for lo, hi, label in CYP2D6_AS_RULES:
        if lo - 1e-9 <= total <= hi + 1e-9:
            return _fmt_score(total), label
    return _fmt_score(total), "Indeterminate"


def _finish(call: GeneCall) -> GeneCall:
    top = [d for d in call.diplotypes if d.rank == 1] or call.diplotypes
    phens = {d.phenotype for d in top}
    if len(phens) == 1:
        call.phenotype = next(iter(phens))
    scores = {d.activity_score for d in top}
    if len(scores) == 1:
        call.activity_score = next(iter(scores))
    call.lookup_keys = sorted({d.lookup_key for d in top if d.lookup_key is not None})
    return call


def _gene_source(gene: str) -> dict[str, Any]:
    kb = load_knowledge()
    out: dict[str, Any] = {"knowledge_version": kb["version"]}
    if gene in kb["genes"]:
        g = kb["genes"][gene]
        out["definitions"] = {"source": g["source"], "version": g["version"]}
    if gene in kb["phenotypes"]:
        p = kb["phenotypes"][gene]
        out["phenotypes"] = {"source": p["source"], "version": p["version"]}
    elif gene in {"G6PD", "CYP2D6"}:
        out["phenotypes"] = {"source": kb["pypgx"]["source"], "version": kb["pypgx"]["version"],
                             "rule": "CPIC G6PD 2022 classes" if gene == "G6PD" else "CPIC 2020 CYP2D6 AS consensus"}
    return out


def _informative_evidence(m: MatchResult) -> list[dict[str, Any]]:
    d = gene_definition(m.gene)
    refs = {loc.pos: loc.ref for loc in d.loci}
    return [e for e in m.evidence if e["alleles"] is None or any(a != refs.get(e["position"]) for a in e["alleles"])]


def gene_call_from_match(m: MatchResult) -> GeneCall:
    d = gene_definition(m.gene)
    call = GeneCall(
        gene=m.gene, status="not_called",
        missing_positions=[{"position": loc.pos, "rsid": loc.rsid, "chrom": d.chrom} for loc in m.missing],
        assumed_reference_positions=m.assumed_reference, evidence=_informative_evidence(m),
        undocumented_variants=m.undocumented, phased=m.phased, haploid=m.haploid, warnings=list(m.warnings),
        source=_gene_source(m.gene),
    )
    missing_required = sorted(p for p in d.required_positions if p in {loc.pos for loc in m.missing})
    if missing_required:
        call.reason = f"required position(s) missing: {', '.join(map(str, missing_required))}"
        return call
    if not m.top:
        call.reason = m.reason or "no call"
        return call
    for i, c in enumerate(m.top):
        call.diplotypes.append(describe_diplotype(m.gene, list(c.alleles), c.score, rank=1 if c.score == m.top[0].score
                                                  else i + 1))
    call.status = "called" if len(m.top) == 1 else "ambiguous"
    if call.status == "ambiguous":
        call.warnings.append(f"{len(m.top)} diplotypes fit equally well (unphased or missing data); all are listed, "
                             "in name order (the knowledge sources carry no population allele frequencies to rank "
                             "them)")
        phens = {d.phenotype for d in call.diplotypes}
        if len(phens) > 1:
            call.warnings.append("the candidates imply different phenotypes: phenotype is indeterminate")
    if m.missing:
        call.warnings.append(f"{len(m.missing)} defining position(s) missing (no-call); alleles defined only there "
                             "could not be assessed")
    top_names = {c.name for c in m.top}
    others = [c for c in m.candidates if c.name not in top_names]
    if others and not m.effectively_phased:
        # Lower-scoring diplotypes that also explain unphased data (e.g. TPMT *3B/*3C behind *1/*3A): PharmCAT drops
        # them; we keep them and say when one would change the phenotype.
        alts = [describe_diplotype(m.gene, list(c.alleles), c.score, rank=2) for c in others[:20]]
        call.extra["other_viable_diplotypes"] = [{"name": a.name, "phenotype": a.phenotype, "score": a.score,
                                                  "activity_score": a.activity_score} for a in alts]
        top_ph = {d.phenotype for d in call.diplotypes}
        differ = [a for a in alts if a.phenotype not in top_ph and a.phenotype not in (None, "Indeterminate")]
        if differ:
            call.warnings.append("phase unknown: " + ", ".join(f"{a.name} ({a.phenotype})" for a in differ[:5])
                                 + " also fit the genotype with a lower match score; phased data would resolve it")
    return _finish(call)


# --------------------------------------------------------------------------------------------------- DPYD
def _dpyd_call(m: MatchResult, calls: dict[tuple[str, int], SampleCall]) -> GeneCall:
    """CPIC DPYD calling, following PharmCAT's DPYD rules.

    * Each DPYD named allele is one variant (HapB3 is two: the causal intronic c.1129-5923C>G and the exonic
      c.1236G>A in linkage with it). Intronic without exonic is the allele "c.1129-5923C>G"; exonic without
      intronic is not HapB3 (warning); exonic with the intronic site missing is called HapB3 (warning).
    * Phased (or at most one heterozygous site): each strand's value is its lowest-function variant, strands with
      several variants are reported as combinations ``[A+B]``.
    * Unphased with several variants: the activity score comes from the two lowest-function variant copies
      (CPIC); all variants present are listed.
    """
    d = gene_definition("DPYD")
    base = gene_call_from_match(m)
    if base.reason and (base.reason.startswith("required") or base.reason.startswith("no data")):
        return base
    missing_pos = {loc.pos for loc in m.missing}
    assumed = set(m.assumed_reference)
    ref_name = d.names[d.reference]
    hap_name = next((n for n in d.names if "HapB3" in n), None)
    intronic_name = next((n for n in d.names if n.startswith("c.1129-5923C>G") and n != hap_name), None)
    by_rsid = {loc.rsid: loc for loc in d.loci}
    intr, exo = by_rsid.get(DPYD_HAPB3_INTRONIC), by_rsid.get(DPYD_HAPB3_EXONIC)

    def alleles_at(loc) -> tuple[str, ...] | None:
        if loc is None or loc.pos in missing_pos:
            return None
        if loc.pos in assumed:
            return (loc.ref, loc.ref)
        c = calls.get((d.chrom, loc.pos))
        if c is None or c.is_missing or any(a is None for a in c.alleles):
            return None
        return c.alleles if len(c.alleles) == 2 else (c.alleles[0], c.alleles[0])

    # single-variant alleles: (name, locus, alt)
    singles = []
    for h, name in enumerate(d.names):
        if h == d.reference or name in {hap_name, intronic_name}:
            continue
        defined = [(i, a) for i, a in enumerate(d.seqs[h]) if a is not None and a != d.loci[i].ref]
        if len(defined) == 1:
            singles.append((name, d.loci[defined[0][0]], defined[0][1]))
    ai, ae = alleles_at(intr), alleles_at(exo)
    warnings = base.warnings
    phased = m.effectively_phased

    def hapb3_on(strands: list[int]) -> list[str]:
        """HapB3 / intronic-only names for the given strand indexes (0/1)."""
        out = []
        for k in strands:
            i_alt = None if ai is None else ai[k] != intr.ref
            e_alt = None if ae is None else ae[k] != exo.ref
            if i_alt:
                out.append(hap_name if e_alt else intronic_name)
            elif i_alt is None and e_alt:
                out.append(hap_name)
        return out

    if ae is not None and any(a != exo.ref for a in ae):
        if ai is None:
            warnings.append("HapB3 inferred from c.1236G>A alone: c.1129-5923C>G (rs75017182) is missing "
                            "(pcat-dpyd-hapB3-exonic-only)")
        elif sum(a != exo.ref for a in ae) > sum(a != intr.ref for a in ai):
            warnings.append("c.1236G>A without c.1129-5923C>G on a chromosome: not HapB3 "
                            "(pcat-dpyd-hapB3-intronic-mismatch-exonic)")

    strand_vars: list[list[str]] = [[], []]
    for name, loc, alt in singles:
        al = alleles_at(loc)
        if al is None:
            continue
        for k in (0, 1):
            if al[k] == alt:
                strand_vars[k].append(name)
    for k in (0, 1):
        strand_vars[k] += [x for x in hapb3_on([k]) if x]
    copies = strand_vars[0] + strand_vars[1]

    def act(n: str) -> float:
        v = _haplotype_info("DPYD", n).activity_value
        return float(v) if v not in (None, "n/a") else 1.0

    def order(names: list[str]) -> list[str]:
        return sorted(names, key=lambda n: (act(n), natural_key(n)))

    base.extra["dpyd_variants_present"] = sorted(copies, key=natural_key)
    base.status, base.reason = "called", None
    if phased:
        labels, lows = [], []
        for k in (0, 1):
            v = order(strand_vars[k])
            lows.append(v[0] if v else ref_name)
            vs = sorted(strand_vars[k], key=natural_key)
            labels.append(ref_name if not vs else vs[0] if len(vs) == 1 else "[" + "+".join(vs) + "]")
        pair = sorted(zip(labels, lows, strict=True), key=lambda x: natural_key(x[0]))
        dip = describe_diplotype("DPYD", sorted(lows, key=natural_key))
        dip.name = "/".join(lab for lab, _ in pair)
        dip.score = m.top[0].score if m.top and m.top[0].name == dip.name else None
        if any(lab.startswith("[") for lab, _ in pair):
            dip.note = "lookup from the lowest-function variant on each chromosome"
            warnings.append(f"combination on one chromosome; lookup diplotype {'/'.join(sorted(lows))}")
        base.diplotypes = [dip]
        return _finish(base)
    low2 = (order(copies) + [ref_name, ref_name])[:2]
    dip = describe_diplotype("DPYD", sorted(low2, key=natural_key))
    dip.note = "phase unknown: lookup from the two lowest-function variants"
    base.diplotypes = [dip]
    if len(copies) > 2 or len(set(copies)) > 1:
        warnings.append("phase unknown: activity score from the two lowest-function DPYD variants "
                        f"({', '.join(low2)}) among {', '.join(sorted(copies, key=natural_key))} (CPIC DPYD rule)")
    return _finish(base)


# --------------------------------------------------------------------------------------------------- outside
def parse_outside_calls(path: str | Path) -> dict[str, dict[str, str]]:
    """Read a PharmCAT outside-call TSV: ``GENE<TAB>DIPLOTYPE[<TAB>PHENOTYPE[<TAB>ACTIVITY]]``; '#' comments."""
    p = Path(path)
    if not p.exists():
        from genmed.core.errors import DataNotFoundError

        raise DataNotFoundError("outside-call file not found", source=str(p))
    known = set(VCF_GENES) | set(OUTSIDE_GENES)
    out: dict[str, dict[str, str]] = {}
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError("outside-call file is not UTF-8 text", source=str(p)) from exc
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = [c.strip() for c in line.split("\t")]
        gene = cols[0].upper().replace("_", "-")
        if gene not in known:
            raise InputError(f"unknown gene {cols[0]!r} in outside calls", source=f"{p}:{n}",
                             hint=f"known genes: {', '.join(sorted(known))}")
        if gene in out:
            raise InputError(f"gene {gene} listed twice in outside calls", source=f"{p}:{n}")
        dip = cols[1] if len(cols) > 1 else ""
        phen = cols[2] if len(cols) > 2 else ""
        act = cols[3] if len(cols) > 3 else ""
        if not (dip or phen or act):
            raise InputError(f"outside call for {gene} has no diplotype, phenotype or activity score",
                             source=f"{p}:{n}")
        if act:
            try:
                float(act)
            except ValueError as exc:
                raise InputError(f"activity score {act!r} for {gene} is not a number", source=f"{p}:{n}") from exc
        if dip and gene not in {"MT-RNR1"} and gene not in {"HLA-A", "HLA-B"} and dip.count("/") > 1:
            raise InputError(f"diplotype {dip!r} for {gene} is not 'A/B'", source=f"{p}:{n}")
        out[gene] = {"diplotype": dip, "phenotype": phen, "activity_score": act, "line": str(n)}
    return out


def outside_gene_call(gene: str, rec: dict[str, str], source: str) -> GeneCall:
    call = GeneCall(gene=gene, status="outside_call", source={"outside_call": source,
                                                             "knowledge_version": load_knowledge()["version"]})
    dip, phen, act = rec["diplotype"], rec["phenotype"], rec["activity_score"]
    if gene in HLA_LOOKUP_ALLELES:
        # accept "HLA-B*57:01:01", "*57:01:01:02" ... : risk alleles are defined at two-field resolution
        alleles = []
        for a in (dip.split("/") if dip else []):
            a = re.sub(r"^HLA-[A-Z]+", "", a.strip())
            if a:
                fields = a.lstrip("*").split(":")
                alleles.append("*" + ":".join(fields[:2]))
        d = Diplotype(dip, [HaplotypeInfo(a) for a in alleles])
        keys = []
        for a in HLA_LOOKUP_ALLELES[gene]:
            keys.append(f"{a} {'positive' if a in alleles else 'negative'}")
        d.phenotype = phen or ", ".join(k for k in keys if k.endswith("positive")) or "no risk allele"
        call.diplotypes = [d]
        call.lookup_keys = keys if alleles else []
        call.phenotype = d.phenotype
        if not alleles:
            call.status, call.reason = "not_called", "HLA outside call without alleles"
        return call
    if gene == "MT-RNR1":
        mt = _phenotype_info("MT-RNR1") or {}
        name = dip if dip.startswith("m.") or not dip else f"m.{dip}"
        hap = _haplotype_info("MT-RNR1", name)
        hap.name = dip  # keep the label as given (PharmCAT reports "1555A>G")
        d = Diplotype(dip, [hap])
        risk = phen or (mt and hap.function)
        if not risk and dip:
            risk = "Indeterminate"
            call.warnings.append(f"MT-RNR1 variant {name} not in the knowledge pack")
        d.phenotype, d.lookup_key = risk, (risk or "").lower() or None
        call.diplotypes = [d]
        return _finish(call)
    if dip:
        names = [x.strip() for x in dip.split("/")]
        if gene in gene_names_with_definitions():
            unknown = [x for x in names if not _allele_known(gene, x)]
            if unknown and not (phen or act):
                call.status, call.reason = "not_called", f"unknown allele(s) {', '.join(unknown)} for {gene}"
                return call
            if unknown:
                call.warnings.append(f"unknown allele(s) {', '.join(unknown)} for {gene}: the given phenotype/"
                                     "activity score is used as stated")
                d = Diplotype(dip, [HaplotypeInfo(n) for n in names])
            else:
                d = describe_diplotype(gene, names)
        else:
            d = describe_diplotype(gene, names)
    else:
        d = Diplotype("", [])
    if phen and d.phenotype and d.phenotype != phen and d.phenotype != "Indeterminate":
        call.warnings.append(f"outside phenotype {phen!r} differs from the one genmed derives for {dip} "
                             f"({d.phenotype!r}); the outside phenotype is used")
    if phen:
        d.phenotype = phen
        d.lookup_key = phen if not act else d.lookup_key
    if act:
        d.activity_score = _fmt_score(float(act))
        d.lookup_key = d.activity_score
    call.diplotypes = [d]
    return _finish(call)


def gene_names_with_definitions() -> set[str]:
    return set(load_knowledge()["genes"])


def _allele_known(gene: str, name: str) -> bool:
    base = re.sub(r"[x×](\d+|N|≥3|>=3)$", "", name)
    kb = load_knowledge()
    if base in {a["name"] for a in kb["genes"][gene]["alleles"]}:
        return True
    return base in kb["pypgx"]["alleles"].get(gene, {})


# --------------------------------------------------------------------------------------------------- API
def _slco1b1_fallback(gc: GeneCall, d, calls: dict[tuple[str, int], SampleCall]) -> None:
    """PharmCAT's SLCO1B1 rule: when no diplotype fits, rs4149056 (c.521T>C) alone gives the lookup diplotype
    (T/T -> *1/*1, T/C -> *1/*5, C/C -> *5/*5), stated as such."""
    loc = next((x for x in d.loci if x.rsid == "rs4149056"), None)
    c = calls.get((d.chrom, loc.pos)) if loc else None
    if c is None or c.is_missing or any(a is None for a in c.alleles) or len(c.alleles) != 2:
        return
    n_c = sum(1 for a in c.alleles if a == "C")
    if n_c + sum(1 for a in c.alleles if a == "T") != 2:
        return
    names = {0: ["*1", "*1"], 1: ["*1", "*5"], 2: ["*5", "*5"]}[n_c]
    dip = describe_diplotype("SLCO1B1", names)
    dip.note = f"lookup diplotype inferred from rs4149056 {'/'.join(c.alleles)} only"
    gc.diplotypes = [dip]
    gc.status = "called"
    gc.warnings.append(f"no SLCO1B1 diplotype fits ({gc.reason}); phenotype inferred from rs4149056 "
                       f"{'/'.join(c.alleles)} alone (PharmCAT's SLCO1B1 rule); other SLCO1B1 variants unassessed")
    gc.extra["inferred_from"] = "rs4149056"
    gc.reason = None
    _finish(gc)


_MT_NAME = re.compile(r"m\.(\d+)([ACGT]+)>([ACGT]+)$")
_MT_RANK = {"increased": 3, "uncertain": 2, "normal": 1}


def mt_rnr1_positions() -> dict[int, tuple[str, str, str]]:
    """MT-RNR1 variants named in the phenotype data: position -> (name, ref, alt) (rCRS = GRCh37/38 chrM)."""
    out = {}
    for name in (_phenotype_info("MT-RNR1") or {}).get("alleles", {}):
        m = _MT_NAME.match(name)
        if m:
            out[int(m.group(1))] = (name, m.group(2), m.group(3))
    return out


def mt_rnr1_from_vcf(calls: dict[tuple[str, int], SampleCall]) -> GeneCall:
    """Call MT-RNR1 from chrM records (PharmCAT needs an outside call for it). Heteroplasmy is flagged."""
    call = GeneCall(gene="MT-RNR1", status="not_called", source={
        "phenotypes": {"source": "PharmCAT gene phenotypes (CPIC)",
                       "version": (_phenotype_info("MT-RNR1") or {}).get("version")},
        "knowledge_version": load_knowledge()["version"], "method": "chrM VCF records (genmed; not in PharmCAT)"})
    sites = mt_rnr1_positions()
    seen, found = 0, []
    for pos, (name, _ref, alt) in sorted(sites.items()):
        c = calls.get(("M", pos))
        if c is None or c.is_missing:
            call.missing_positions.append({"position": pos, "rsid": None, "chrom": "M"})
            continue
        seen += 1
        alts = [a for a in c.alleles if a is not None and a != c.ref]
        if alt in alts:
            found.append(name)
            call.evidence.append({"position": pos, "call": c.raw_gt, "alleles": list(c.alleles)})
            if len(set(c.alleles)) > 1:
                call.warnings.append(f"{name}: heteroplasmic call {c.raw_gt}; risk may depend on heteroplasmy level")
    if not seen:
        call.reason = "no chrM records at MT-RNR1 positions (use an outside call)"
        return call
    if call.missing_positions:
        call.warnings.append(f"{len(call.missing_positions)} MT-RNR1 positions missing (no-call)")
    names = found or ["Reference"]
    haps = [_haplotype_info("MT-RNR1", n) for n in names]
    worst = max(haps, key=lambda h: _MT_RANK.get((h.function or "").split()[0].lower(), 0))
    d = Diplotype(" + ".join(names), haps, phenotype=worst.function,
                  lookup_key=(worst.function or "").lower() or None)
    call.diplotypes, call.status, call.haploid = [d], "called", True
    return _finish(call)


_OUTSIDE_REASON = {
    "CYP2D6": "CYP2D6 needs an outside call (copy number, deletions and hybrids are not visible in a VCF); "
              "--research-cyp2d6 gives an SNV-only research call",
    "HLA-A": "HLA-A needs HLA typing (outside call)",
    "HLA-B": "HLA-B needs HLA typing (outside call)",
}


def call_sample_calls(calls: dict[tuple[str, int], SampleCall], *, sample: str, assume_ref: bool = False,
                      genes: tuple[str, ...] = VCF_GENES, outside: dict[str, dict[str, str]] | None = None,
                      outside_source: str = "", input_name: str | None = None, build: str = "GRCh38",
                      warnings: list[str] | None = None, research_cyp2d6: bool = False) -> PgxResult:
    kb = load_knowledge()
    result = PgxResult(sample=sample, genes={}, input=input_name, build=build, knowledge_version=kb["version"],
                       engine_version=ENGINE_VERSION, warnings=list(warnings or []))
    outside = outside or {}
    for gene in genes:
        d = gene_definition(gene)
        m = match_gene(d, calls, assume_ref=assume_ref)
        gc = _dpyd_call(m, calls) if gene == "DPYD" else gene_call_from_match(m)
        if gene == "CYP2C9":
            for ep in d.extra_positions:  # rs12777823, used by the warfarin algorithm
                c = calls.get((d.chrom, ep["pos"]))
                gc.extra[ep["rsid"] or str(ep["pos"])] = None if c is None or c.is_missing else "/".join(
                    a or "." for a in c.alleles)
        if gene == "SLCO1B1" and not gc.diplotypes:
            _slco1b1_fallback(gc, d, calls)
        if gene == "G6PD" and gc.haploid:
            result.sex = "male (hemizygous X calls)"
        result.genes[gene] = gc
    if "MT-RNR1" not in outside:
        result.genes["MT-RNR1"] = mt_rnr1_from_vcf(calls)
    if "CYP2D6" not in outside and research_cyp2d6:
        gc = gene_call_from_match(match_gene(gene_definition("CYP2D6"), calls, assume_ref=assume_ref))
        gc.warnings.insert(0, "RESEARCH ONLY: SNV-based CYP2D6 call; gene deletion (*5), duplications and "
                              "CYP2D6/2D7 hybrids are not detected; do not use for prescribing")
        gc.extra["research"] = True
        result.genes["CYP2D6"] = gc
    for gene, why in _OUTSIDE_REASON.items():
        if gene not in outside and gene not in result.genes:
            result.genes[gene] = GeneCall(gene=gene, status="not_called", reason=why,
                                          source={"knowledge_version": kb["version"]})
    for gene, rec in outside.items():
        if gene in result.genes:
            result.genes[gene].warnings.append("replaced by outside call")
            result.warnings.append(f"{gene}: outside call overrides the VCF-based call")
        result.genes[gene] = outside_gene_call(gene, rec, outside_source)
    return result


def positions_of_interest(genes: tuple[str, ...] = VCF_GENES, *, research_cyp2d6: bool = False
                          ) -> set[tuple[str, int]]:
    out = {("M", p) for p in mt_rnr1_positions()}
    if research_cyp2d6:
        genes = (*genes, "CYP2D6")
    for g in genes:
        d = gene_definition(g)
        out |= {(d.chrom, loc.pos) for loc in d.loci}
        out |= {(d.chrom, ep["pos"]) for ep in d.extra_positions}
    return out


@lru_cache(maxsize=2)
def grch37_map() -> dict[tuple[str, int], tuple[tuple[str, int], str]]:
    """GRCh37 (chrom, pos) -> (GRCh38 (chrom, pos), expected REF) for every position the genes use.

    pypgx's dual coordinates give GRCh37 positions for about 60% of PharmCAT's positions; within each gene they all
    differ from GRCh38 by one constant offset (checked here), so that offset places the remaining positions. A
    gene whose mapped positions disagree on the offset keeps only its directly mapped positions. Every record's REF
    is still checked against the definition when calls are lifted.
    """
    lift = load_knowledge()["pypgx"]["grch38_to_grch37"]
    out: dict[tuple[str, int], tuple[tuple[str, int], str]] = {}
    for g in VCF_GENES:
        d = gene_definition(g)
        m = lift.get(d.chrom, {})
        positions = [(loc.pos, loc.ref) for loc in d.loci] + [(ep["pos"], ep["ref"]) for ep in d.extra_positions]
        offsets = {p - m[str(p)][0] for p, _ in positions if str(p) in m}
        for p38, ref in positions:
            if str(p38) in m:
                p37 = int(m[str(p38)][0])
            elif len(offsets) == 1:
                p37 = p38 - next(iter(offsets))
            else:
                continue
            out[(d.chrom, p37)] = ((d.chrom, p38), ref)
    return out


def lift_calls_to_grch38(calls: dict[tuple[str, int], SampleCall]) -> tuple[dict, list[str]]:
    """Move GRCh37 calls onto GRCh38 positions (see :func:`grch37_map`); a REF that disagrees is a no-call."""
    back = grch37_map()
    out = {key: c for key, c in calls.items() if key[0] == "M"}
    bad = []
    for key, c in calls.items():
        hit = back.get(key)
        if hit is None:
            continue
        new, ref = hit
        if c.ref != ref and not c.ref_block:
            bad.append(f"{key[0]}:{key[1]}")
            continue
        out[new] = SampleCall(c.chrom, new[1], c.ref, c.alts, c.alleles, c.phased, c.phase_set, c.rsid,
                              c.filter, c.raw_gt, c.ref_block)
    warns = [f"GRCh37 input: {len(out)} PGx records lifted to GRCh38 (pypgx dual coordinates + per-gene offset)"]
    if bad:
        warns.append(f"GRCh37 REF disagrees with the allele definition at {len(bad)} position(s) "
                     f"({', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}): treated as no-calls")
    return out, warns


def grch37_positions() -> set[tuple[str, int]]:
    return set(grch37_map())


def check_build(vcf_build: str | None, requested: str, contigs: set[str], path: str) -> None:
    if requested not in {"GRCh38", "GRCh37"}:
        raise InputError(f"unsupported build {requested!r}", source=path, hint="use GRCh38 or GRCh37")
    if vcf_build and vcf_build != requested:
        raise InputError(f"VCF header says {vcf_build} but --build is {requested}", source=path,
                         hint=f"pass --build {vcf_build} (or fix the header)")
    wanted = {"1", "2", "4", "6", "7", "8", "10", "12", "13", "16", "19", "22", "X", "M"}
    if contigs and not (contigs & wanted):
        raise InputError(f"no record on a pharmacogene chromosome (contigs seen: {', '.join(sorted(contigs)[:8])})",
                         source=path, hint="contig names must be 1..22/X/MT or chr1..chr22/chrX/chrM")


def _ref_table() -> dict[tuple[str, int], str]:
    out = {}
    for g in VCF_GENES:
        d = gene_definition(g)
        for loc in d.loci:
            if len(loc.ref) == 1:
                out[(d.chrom, loc.pos)] = loc.ref
    return out


def check_reference_alleles(calls: dict[tuple[str, int], SampleCall], path: str, build: str) -> None:
    """Records whose REF disagrees with the reference genome at most SNV sites mean a wrong build (or a liftover
    error): refuse, rather than call from shifted positions."""
    refs = _ref_table()
    checked = mismatched = 0
    for key, c in calls.items():
        exp = refs.get(key)
        if exp is None or len(c.ref) != 1 or c.ref_block:
            continue
        checked += 1
        mismatched += c.ref != exp
    if checked >= 5 and mismatched > checked / 2:
        raise InputError(f"REF alleles disagree with {build} at {mismatched} of {checked} pharmacogene SNV sites",
                         source=path, hint="wrong genome build? pass --build GRCh37 for GRCh37/hg19 input")


def call_vcf_all(vcf_path: str | Path, *, samples: list[str] | None = None, outside_calls: str | Path | None = None,
                 assume_ref: bool = False, build: str = "GRCh38", research_cyp2d6: bool = False) -> list[PgxResult]:
    path = str(vcf_path)
    outside = parse_outside_calls(outside_calls) if outside_calls else None
    if build == "GRCh38":
        pos = positions_of_interest(research_cyp2d6=research_cyp2d6)
    else:
        pos = grch37_positions() | {("M", p) for p in mt_rnr1_positions()}
    v = read_vcf(path, pos, samples=samples)
    check_build(v.build, build, v.contigs, path)
    if build == "GRCh38" and v.samples:
        check_reference_alleles(v.calls[v.samples[0]], path, build)
    results = []
    for s in v.samples:
        calls = v.calls[s]
        warns = list(v.warnings)
        if build == "GRCh37":
            calls, w = lift_calls_to_grch38(calls)
            warns += w
        results.append(call_sample_calls(calls, sample=s, assume_ref=assume_ref, outside=outside,
                                         outside_source=str(outside_calls or ""), input_name=Path(path).name,
                                         build=build, warnings=warns, research_cyp2d6=research_cyp2d6))
    return results
