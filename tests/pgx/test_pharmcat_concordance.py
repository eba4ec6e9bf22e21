"""Concordance with PharmCAT's own expected outputs and the haplotype test VCFs shipped with it."""

import json

import pytest

from genmed.pgx import call_vcf
from genmed.pgx.knowledge import VCF_GENES
from genmed.pgx.matcher import gene_definition, match_gene
from genmed.pgx.report import to_tsv
from genmed.pgx.vcf import read_vcf


def _report_rows(path):
    lines = path.read_text().splitlines()
    header = lines[1].split("\t")
    return {r[0]: dict(zip(header, r, strict=False)) for r in (ln.split("\t") for ln in lines[2:]) if r and r[0]}


@pytest.fixture(scope="module")
def example_result(example):
    return call_vcf(example / "pharmcat.example.vcf", outside_calls=example / "pharmcat.example.outsideCall.tsv")


def test_example_reproduces_pharmcat_report_tsv(example, example_result):
    expected = _report_rows(example / "pharmcat.example.report.tsv")
    ours = {r[0]: r for r in (ln.split("\t") for ln in to_tsv(example_result).splitlines()[2:])}
    assert set(expected) <= set(ours)
    for gene, row in expected.items():
        mine = ours[gene]
        assert mine[1] == row["Source Diplotype"], gene
        assert mine[2].strip() == row["Phenotype"].strip(), gene
        assert mine[3] == row["Activity Score"], gene
        assert mine[10] == row["Outside Call"], gene
        assert mine[12] == row["Missing positions"], gene
        if row["Outside Call"] == "no":
            assert mine[11] == row["Match Score"], gene


def test_example_matches_match_json(example, example_result):
    doc = json.loads((example / "pharmcat.example.match.json").read_text())
    for r in doc["results"]:
        names = sorted(d["name"] for d in r["diplotypes"])
        assert sorted(d.name for d in example_result.genes[r["gene"]].diplotypes) == names, r["gene"]


def test_example_phenotypes_match_phenotype_json(example, example_result):
    doc = json.loads((example / "pharmcat.example.phenotype.json").read_text())
    checked = 0
    for gene, gr in doc["geneReports"].items():
        if gene not in example_result.genes or not gr.get("sourceDiplotypes"):
            continue
        sd = gr["sourceDiplotypes"][0]
        mine = example_result.genes[gene]
        if gene != "CFTR":  # the phenotyper relabels CFTR's reference sequence "Reference" for display only
            assert mine.diplotype == sd["label"], gene
        if gene.startswith("HLA"):  # PharmCAT lists one phenotype per risk allele; ours are the lookup keys
            assert set(sd["phenotypes"]) <= set(mine.lookup_keys)
        elif sd.get("phenotypes") and sd["phenotypes"] != ["n/a"]:
            assert mine.phenotype in sd["phenotypes"], gene
        if sd.get("activityScore"):
            assert mine.activity_score == sd["activityScore"], gene
        checked += 1
    assert checked >= 19


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


def _match(path, gene):
    d = gene_definition(gene)
    v = read_vcf(path, {(d.chrom, loc.pos) for loc in d.loci})
    return match_gene(d, v.calls[v.samples[0]])


@pytest.mark.parametrize("rel,gene,expected", EXACT, ids=[e[0] for e in EXACT])
def test_haplotype_vcf_exact(haplo, rel, gene, expected):
    assert {c.name for c in _match(haplo / rel, gene).top} == expected


@pytest.mark.parametrize("rel,gene,expected", CONTAINS, ids=[e[0] for e in CONTAINS])
def test_haplotype_vcf_ambiguous(haplo, rel, gene, expected):
    m = _match(haplo / rel, gene)
    assert expected in {c.name for c in m.top}
    assert not m.phased


def test_tpmt_unphased_3b3c_prefers_longest_allele(haplo):
    """PharmCAT documents that unphased *3B/*3C is reported as *1/*3A (the longer definition wins)."""
    m = _match(haplo / "TPMT/s3bs3c.vcf", "TPMT")
    assert [c.name for c in m.top] == ["*1/*3A"]
    assert "*3B/*3C" in {c.name for c in m.candidates}


def test_undocumented_variant_is_not_called(haplo):
    m = _match(haplo / "cyp2c19/sUnks17.vcf", "CYP2C19")
    assert not m.top and "undocumented" in m.reason


@pytest.mark.parametrize("rel,expected", [
    ("DPYD/c1156het.vcf", "Reference/c.1156G>T (*12)"),
    ("DPYD/c557c703.vcf", "c.557A>G/c.703C>T (*8)"),
    ("DPYD/c1679c1156.vcf", "c.1156G>T (*12)/c.1679T>G (*13)"),
    ("DPYD/s1s2b.vcf", "c.1627A>G (*5)/c.1905+1G>A (*2A)"),
])
def test_dpyd_vcfs(haplo, rel, expected):
    res = call_vcf(haplo / rel)
    c = res.genes["DPYD"]
    assert c.diplotype == expected
    assert c.activity_score is not None


def test_every_gene_reported_with_missing_positions(example):
    res = call_vcf(example / "pharmcat.example.vcf")
    assert set(VCF_GENES) <= set(res.genes)
    assert all(c.missing_positions == [] for c in res.genes.values())
