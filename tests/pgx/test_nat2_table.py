"""PharmCAT's NAT2 expectation table (haplotype_tests/NAT2/tests.tsv): unphased genotypes at the five key NAT2
SNPs, other positions reference, some positions missing -> expected call, ambiguity list and CPIC pick."""

import re

from genmed.pgx.matcher import gene_definition, match_gene
from genmed.pgx.vcf import SampleCall


def _rows(haplo):
    lines = (haplo / "NAT2" / "tests.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    return header, [ln.split("\t") for ln in lines[1:] if ln.strip()]


def _calls(header, row):
    d = gene_definition("NAT2")
    by_rsid = {loc.rsid: loc for loc in d.loci}
    missing = set(re.findall(r"rs\d+", row[0]))
    geno = {header[i]: row[i] for i in range(2, 7)}
    calls = {}
    for loc in d.loci:
        if loc.rsid in missing:
            continue
        alleles = tuple(geno[loc.rsid].split("/")) if loc.rsid in geno else (loc.ref, loc.ref)
        calls[(d.chrom, loc.pos)] = SampleCall(d.chrom, loc.pos, loc.ref, list(loc.alts), alleles, False)
    assert set(geno) <= set(by_rsid)
    return d, calls


def test_nat2_expectation_table(haplo):
    """The top call equals PharmCAT's expected output (its CPIC "Pick" where the rule applies) on every row."""
    header, rows = _rows(haplo)
    failures = []
    for row in rows:
        d, calls = _calls(header, row)
        m = match_gene(d, calls)
        top = {c.name for c in m.top}
        output = row[7].strip()
        pick = row[8].strip() if len(row) > 8 else ""
        listed = set() if output == "not called" else {x.strip() for x in output.split(" or ")}
        if output == "not called":
            ok = not top
        elif pick and row[0] == "none":
            ok = top == {pick}
        else:
            ok = top in ({pick}, listed)
        if not ok:
            failures.append(f"{row[:9]} -> {sorted(top)}")
    assert not failures, f"{len(failures)}/{len(rows)} rows differ:\n" + "\n".join(failures[:10])
