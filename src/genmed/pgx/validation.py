"""Expected calls for the PharmCAT haplotype test VCFs (file names encode the diplotype), shared by tests and
`genmed bench pgx`."""

# (file, expected top calls or a set the top calls must contain, mode). Names in today's nomenclature: the test
# VCFs predate CYP2C19 *38 (reference) and the merge of *4A/*4B, *60, *5 (CYP3A5).
EXACT = [
    ("CYP2B6/s1s1.vcf", "CYP2B6", {"*1/*1"}), ("CYP2B6/s1s34.vcf", "CYP2B6", {"*1/*34"}),
    ("IFNL3/rs12979860CC.vcf", "IFNL3", {"rs12979860 reference (C)/rs12979860 reference (C)"}),
    ("IFNL3/rs12979860TT.vcf", "IFNL3", {"rs12979860 variant (T)/rs12979860 variant (T)"}),
    ("NUDT15/s2ref.vcf", "NUDT15", {"*1/*2"}), ("NUDT15/s3ref.vcf", "NUDT15", {"*1/*3"}),
    ("SLCO1B1/s1s15.vcf", "SLCO1B1", {"*1/*15"}), ("SLCO1B1/s5s15.vcf", "SLCO1B1", {"*5/*15"}),
    ("SLCO1B1/s1s44.vcf", "SLCO1B1", {"*1/*44"}), ("SLCO1B1/SLCO1B1_s1_s14_t1.vcf", "SLCO1B1", {"*1/*14"}),
    ("SLCO1B1/SLCO1B1_s1_s15_t1.vcf", "SLCO1B1", {"*1/*15"}),
    ("SLCO1B1/s1as15s1bs5missing.vcf", "SLCO1B1", {"*1/*15"}),
    ("TPMT/s1s1.vcf", "TPMT", {"*1/*1"}), ("TPMT/s1s1s.vcf", "TPMT", {"*1/*1"}),
    ("TPMT/hom1s_het3a.vcf", "TPMT", {"*1/*3A"}), ("TPMT/s3as3b.vcf", "TPMT", {"*3A/*3B"}),
    ("UGT1A1/s6s6.vcf", "UGT1A1", {"*6/*6"}), ("UGT1A1/s1s28s60s80unphased.vcf", "UGT1A1", {"*1/*80+*28"}),
    ("UGT1A1/s1s37s80s60phased.vcf", "UGT1A1", {"*1/*80+*37"}),
    ("UGT1A1/s28s80s6s60phased.vcf", "UGT1A1", {"*6/*80+*28"}),
    ("UGT1A1/s28s80s6s60unphased.vcf", "UGT1A1", {"*6/*80+*28"}),
    ("VKORC1/-1639A-1639A.vcf", "VKORC1", {"rs9923231 variant (T)/rs9923231 variant (T)"}),
    ("VKORC1/-1639G-1639G.vcf", "VKORC1", {"rs9923231 reference (C)/rs9923231 reference (C)"}),
    ("cyp2c19/s1s2.vcf", "CYP2C19", {"*1/*2"}), ("cyp2c19/s2s2.vcf", "CYP2C19", {"*2/*2"}),
    ("cyp2c19/s2s3.vcf", "CYP2C19", {"*2/*3"}), ("cyp2c19/s4bs17.vcf", "CYP2C19", {"*4/*17"}),
    ("cyp2c19/s1s4b.vcf", "CYP2C19", {"*1/*4"}), ("cyp2c19/rs12769205missingrs4244285het.vcf", "CYP2C19", {"*1/*2"}),
    ("cyp2c9/s2s3.vcf", "CYP2C9", {"*2/*3"}), ("cyp2c9/s24s24.vcf", "CYP2C9", {"*24/*24"}),
    ("cyp2c9/s2s24.vcf", "CYP2C9", {"*2/*24"}), ("cyp2c9/s1s61.vcf", "CYP2C9", {"*1/*61"}),
    ("cyp3a5/s1s7.vcf", "CYP3A5", {"*1/*7"}), ("cyp3a5/s3s9.vcf", "CYP3A5", {"*3/*9"}),
    ("cyp4f2/s1s1.vcf", "CYP4F2", {"*1/*1"}),
]
# Unphased, several equally good explanations: the named pair must be among the top calls.
CONTAINS = [
    ("SLCO1B1/SLCO1B1_s14_s19_t1.vcf", "SLCO1B1", "*14/*19"), ("SLCO1B1/SLCO1B1_s37_s40_t1.vcf", "SLCO1B1", "*37/*40"),
    ("SLCO1B1/SLCO1B1_s5_s14_t1.vcf", "SLCO1B1", "*5/*14"), ("cyp2c19/s15s28.vcf", "CYP2C19", "*15/*28"),
    ("cyp2c19/s1s17.vcf", "CYP2C19", "*1/*17"), ("cyp2c19/s1s35.vcf", "CYP2C19", "*1/*35"),
]
# Also from PharmCAT's NamedAlleleMatcher*Test (current): files with no call expected.
NO_CALL = [("UGT1A1/HG00436.vcf", "UGT1A1"), ("cyp2c19/sUnks17.vcf", "CYP2C19")]
# PharmCAT's tests that list *all* viable diplotypes (not only the top ones): our viable set must contain them
# (SLCO1B1 *52/*56/*57 postdate that test, so extra candidates are allowed there).
ALL_CANDIDATES = [
    ("UGT1A1/s1s28s60s80unphased.vcf", "UGT1A1", {"*1/*80+*28", "*28/*80"}, True),
    ("TPMT/s3bs3c.vcf", "TPMT", {"*1/*3A", "*3B/*3C"}, True),
    ("SLCO1B1/s5s15.vcf", "SLCO1B1", {"*5/*15"}, True),
    ("SLCO1B1/s1s15.vcf", "SLCO1B1", {"*1/*15", "*5/*37"}, False),
]


def haplotype_vcf_results(haplo_dir) -> tuple[int, int, list[str]]:
    """(agreeing, total, failing files) over EXACT + CONTAINS + NO_CALL + ALL_CANDIDATES."""
    from genmed.pgx.matcher import gene_definition, match_gene
    from genmed.pgx.vcf import read_vcf

    ok, total, bad = 0, 0, []
    cases = ([(r, g, e, "exact") for r, g, e in EXACT] + [(r, g, {e}, "contains") for r, g, e in CONTAINS]
             + [(r, g, set(), "none") for r, g in NO_CALL])
    for rel, gene, expected, mode in cases:
        d = gene_definition(gene)
        v = read_vcf(haplo_dir / rel, {(d.chrom, loc.pos) for loc in d.loci})
        top = {c.name for c in match_gene(d, v.calls[v.samples[0]]).top}
        good = top == expected if mode != "contains" else expected <= top
        total += 1
        ok += good
        if not good:
            bad.append(f"{rel}: {sorted(top)}")
    for rel, gene, expected, exact in ALL_CANDIDATES:
        d = gene_definition(gene)
        v = read_vcf(haplo_dir / rel, {(d.chrom, loc.pos) for loc in d.loci})
        viable = {c.name for c in match_gene(d, v.calls[v.samples[0]]).candidates}
        good = viable == expected if exact else expected <= viable
        total += 1
        ok += good
        if not good:
            bad.append(f"{rel} (all candidates): {sorted(viable)}")
    return ok, total, bad


def _nat2_calls(header, row):
    import re

    from genmed.pgx.matcher import gene_definition
    from genmed.pgx.vcf import SampleCall

    d = gene_definition("NAT2")
    missing = set(re.findall(r"rs\d+", row[0]))
    geno = {header[i]: row[i] for i in range(2, 7)}
    calls = {}
    for loc in d.loci:
        if loc.rsid in missing:
            continue
        alleles = tuple(geno[loc.rsid].split("/")) if loc.rsid in geno else (loc.ref, loc.ref)
        calls[(d.chrom, loc.pos)] = SampleCall(d.chrom, loc.pos, loc.ref, list(loc.alts), alleles, False)
    return d, calls


def nat2_table_results(haplo_dir) -> tuple[int, int, list[str]]:
    """PharmCAT's NAT2 expectation table (NAT2/tests.tsv): top call must equal the expected output, or the CPIC
    "Pick" when PharmCAT applies its unphased-priority rule (rows without missing positions)."""
    from genmed.pgx.matcher import match_gene

    lines = (haplo_dir / "NAT2" / "tests.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    rows = [ln.split("\t") for ln in lines[1:] if ln.strip()]
    ok, failures = 0, []
    for row in rows:
        d, calls = _nat2_calls(header, row)
        top = {c.name for c in match_gene(d, calls).top}
        output = row[7].strip()
        pick = row[8].strip() if len(row) > 8 else ""
        listed = set() if output == "not called" else {x.strip() for x in output.split(" or ")}
        if output == "not called":
            good = not top
        elif pick and row[0] == "none":
            good = top == {pick}
        else:
            good = top in ({pick}, listed)
        ok += good
        if not good:
            failures.append(f"{row[:9]} -> {sorted(top)}")
    return ok, len(rows), failures


DPYD_RSIDS = ["rs56038477", "rs75017182", "rs72549310", "rs67376798", "rs1801265", "rs186169810", "rs115232898"]
_DPYD_ALIAS = {"ref": "Reference", "Reference": "Reference", "HapB3": "c.1129-5923C>G, c.1236G>A (HapB3)",
               "HapB3Intron": "c.1129-5923C>G"}


def _dpyd_name(x: str) -> str:
    x = x.strip().strip("[]")
    return _DPYD_ALIAS.get(x, x)


def _dpyd_calls(cols):
    import re

    from genmed.pgx.matcher import gene_definition
    from genmed.pgx.vcf import SampleCall

    d = gene_definition("DPYD")
    by = {loc.rsid: loc for loc in d.loci}
    calls = {(d.chrom, loc.pos): SampleCall(d.chrom, loc.pos, loc.ref, list(loc.alts), (loc.ref, loc.ref), True)
             for loc in d.loci}
    phased = all("|" in cols[i] or cols[i] in {"0/0", "1/1", "missing"} for i in range(7))
    for i, rs in enumerate(DPYD_RSIDS):
        loc = by[rs]
        g = cols[i].strip()
        if g == "missing":
            del calls[(d.chrom, loc.pos)]
            continue
        idx = [int(x) for x in re.split(r"[/|]", g)]
        alleles = tuple(loc.ref if x == 0 else loc.alts[0] for x in idx)
        calls[(d.chrom, loc.pos)] = SampleCall(d.chrom, loc.pos, loc.ref, list(loc.alts), alleles,
                                               "|" in g or (phased and idx[0] == idx[1]))
    return d, calls


def _dpyd_expected(cols) -> tuple[list[str], float]:
    from genmed.pgx.engine import _haplotype_info

    phased_call, phased_lookup, unphased_call, unphased_lookup = (c.strip() for c in cols[7:11])
    unphased = any("/" in cols[i] and cols[i].strip() not in {"0/0", "1/1"} for i in range(7))
    if unphased and unphased_call:
        variants = []
        for part in unphased_call.split(", "):
            hom = "(homozygous)" in part
            nm = _dpyd_name(part.replace("(homozygous)", "").strip())
            if nm != "Reference":
                variants += [nm] * (2 if hom else 1)
        lookup = unphased_lookup or phased_lookup or phased_call
    else:
        variants = [_dpyd_name(x) for side in phased_call.split("/") for x in side.strip("[]").split("+")]
        variants = [v for v in variants if v != "Reference"]
        lookup = phased_lookup or phased_call
    score = sum(float(_haplotype_info("DPYD", _dpyd_name(x)).activity_value) for x in lookup.split("/"))
    return sorted(variants), score


def dpyd_table_results(haplo_dir) -> tuple[int, int, int, list[str]]:
    """PharmCAT's DPYD/HapB3 table (DPYD/hapb3.tsv): variants found and the lookup activity score must agree.

    Returns (agreeing, compared, skipped, failures). Rows with c.1314T>G are skipped: it was "non-PGx" when the
    table was written; today's CPIC allele table (in the knowledge pack) gives it decreased function.
    """
    from genmed.pgx.engine import _dpyd_call
    from genmed.pgx.matcher import match_gene

    ok, n, skipped, failures = 0, 0, 0, []
    for line_no, line in enumerate((haplo_dir / "DPYD" / "hapb3.tsv").read_text().splitlines()[3:], 4):
        cols = line.split("\t")
        if len(cols) < 11 or not cols[0].strip():
            continue
        if cols[5].strip() not in {"0/0", "0|0"}:
            skipped += 1
            continue
        d, calls = _dpyd_calls(cols)
        c = _dpyd_call(match_gene(d, calls), calls)
        want_vars, want_as = _dpyd_expected(cols)
        got_vars = sorted(c.extra.get("dpyd_variants_present", []))
        good = (got_vars == want_vars and c.activity_score is not None
                and abs(float(c.activity_score) - want_as) < 1e-9)
        n += 1
        ok += good
        if not good:
            failures.append(f"row {line_no} {cols[:7]}: want {want_vars} AS {want_as}; got {got_vars} "
                            f"AS {c.activity_score}")
    return ok, n, skipped, failures


def example_recommendation_results(examples_dir) -> dict[str, list[str]]:
    """Compare our CPIC/DPWG recommendations for PharmCAT's example (VCF + outside calls) with PharmCAT's own
    ``report.json``. Buckets: ``identical`` (same populations and texts), ``text_differs`` (same number of rows,
    wording changed between guideline snapshots), ``not_in_snapshot`` (guideline newer than our 2024-03 guideline
    data), ``only_ours`` (we recommend, PharmCAT does not), ``only_pharmcat``."""
    import json
    import re

    from genmed.pgx import call_vcf, recommend
    from genmed.pgx.knowledge import html_to_text

    def norm(t):
        return re.sub(r"\s+", " ", html_to_text(t or "")).strip().lower()

    res = call_vcf(examples_dir / "pharmcat.example.vcf",
                   outside_calls=examples_dir / "pharmcat.example.outsideCall.tsv")
    report = json.loads((examples_dir / "pharmcat.example.report.json").read_text())
    out: dict[str, list[str]] = {k: [] for k in ("identical", "text_differs", "not_in_snapshot", "only_ours",
                                                  "only_pharmcat")}
    for section, src in (("CPIC Guideline Annotation", "CPIC"), ("DPWG Guideline Annotation", "DPWG")):
        for drug, entry in report["drugs"].get(section, {}).items():
            theirs = {(norm(a.get("population")), norm(a.get("drugRecommendation")))
                      for g in entry["guidelines"] for a in g["annotations"] if a.get("drugRecommendation")}
            recs = recommend(res, [drug], sources=[src])
            ours = {(norm(r.population), norm(r.recommendation)) for r in recs if r.status == "recommendation"}
            key = f"{src} {drug}"
            if theirs == ours:
                out["identical"].append(key)
            elif any(r.status == "no_guideline" for r in recs):
                out["not_in_snapshot"].append(key)
            elif theirs and ours and len(theirs) == len(ours):
                out["text_differs"].append(key)
            elif ours and not theirs:
                out["only_ours"].append(key)
            else:
                out["only_pharmcat"].append(key)
    return out


def grch37_roundtrip(examples_dir) -> tuple[int, int]:
    """PharmCAT's example moved to GRCh37 coordinates and called with build GRCh37: genes whose diplotype equals
    the GRCh38 call."""
    import tempfile
    from pathlib import Path

    from genmed.pgx import call_vcf
    from genmed.pgx.engine import grch37_map
    from genmed.pgx.knowledge import VCF_GENES

    to37 = {v[0]: k for k, v in grch37_map().items()}
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=1,length=249250621>"]
    for ln in (examples_dir / "pharmcat.example.vcf").read_text().splitlines():
        if ln.startswith("##"):
            continue
        if not ln.startswith("#"):
            cols = ln.split("\t")
            key = (cols[0].removeprefix("chr"), int(cols[1]))
            if key not in to37:
                continue
            cols[0], cols[1] = key[0], str(to37[key][1])
            ln = "\t".join(cols)
        lines.append(ln)
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "b37.vcf"
        p.write_text("\n".join(lines) + "\n")
        r37 = call_vcf(p, build="GRCh37")
    r38 = call_vcf(examples_dir / "pharmcat.example.vcf")
    same = sum(r37.genes[g].diplotype == r38.genes[g].diplotype and not r37.genes[g].missing_positions
               for g in VCF_GENES)
    return same, len(VCF_GENES)
