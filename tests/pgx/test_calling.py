"""Calling behaviour: missing positions, --assume-ref, phasing, multi-allelic records, G6PD, DPYD, GRCh37."""

import json

from typer.testing import CliRunner

from genmed.pgx import call_vcf, call_vcf_samples
from genmed.pgx.exhaustive import run_gene, write_vcf
from genmed.pgx.matcher import gene_definition

HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"


def _vcf(tmp_path, records, name="x.vcf"):
    p = tmp_path / name
    p.write_text(HEADER + "".join("\t".join(map(str, r)) + "\n" for r in records))
    return p


def _rec(chrom, pos, ref, alt, gt, fmt="GT", rsid="."):
    return [chrom, pos, rsid, ref, alt, ".", "PASS", ".", fmt, gt]


def test_missing_positions_are_no_calls_and_listed(tmp_path):
    # only CYP2C19*2 site present
    res = call_vcf(_vcf(tmp_path, [_rec("chr10", 94781859, "G", "A", "0/1")]))
    c = res.genes["CYP2C19"]
    assert len(c.missing_positions) == len(gene_definition("CYP2C19").loci) - 1
    assert c.assumed_reference_positions == []
    assert "*2" in c.diplotype
    assert res.genes["TPMT"].status == "not_called" and "no data" in res.genes["TPMT"].reason


def test_assume_ref_fills_absent_positions(tmp_path):
    # rs3758581 (94842866) is non-reference in most people: *1 and *2 carry G there, the reference *38 carries A
    # *2 = rs4244285 + rs12769205 (+ rs3758581 G)
    p = _vcf(tmp_path, [_rec("chr10", 94781859, "G", "A", "0/1"), _rec("chr10", 94842866, "A", "G", "1/1"),
                        _rec("chr10", 94775367, "A", "G", "0/1")])
    c = call_vcf(p, assume_ref=True).genes["CYP2C19"]
    assert c.missing_positions == []
    assert c.diplotype == "*1/*2" and c.status == "called"
    assert c.phenotype == "Intermediate Metabolizer"
    assert call_vcf(p, assume_ref=True).genes["TPMT"].diplotype == "*1/*1"


def test_every_pair_vcf_roundtrip_phased_and_unphased(tmp_path):
    for gene, a, b in [("CYP2C19", "*2", "*17"), ("TPMT", "*3B", "*3C"), ("NUDT15", "*3", "*5"),
                       ("UGT1A1", "*28", "*80+*28"), ("CYP2C9", "*2", "*3")]:
        p = write_vcf(gene, a, b, tmp_path / f"{gene}.vcf", phased=True)
        assert call_vcf(p).genes[gene].diplotype == "/".join(sorted([a, b], key=lambda n: (len(n), n))) or \
            set(call_vcf(p).genes[gene].diplotype.split("/")) == {a, b}


def test_unphased_ambiguity_is_ranked_and_stated(tmp_path):
    p = write_vcf("CYP2C19", "*2", "*17", tmp_path / "u.vcf", phased=False)
    c = call_vcf(p).genes["CYP2C19"]
    assert c.status == "called" and c.diplotype == "*2/*17"
    p = write_vcf("SLCO1B1", "*5", "*14", tmp_path / "s.vcf", phased=False)
    c = call_vcf(p).genes["SLCO1B1"]
    assert c.status == "ambiguous" and {d.name for d in c.diplotypes} >= {"*5/*14"}
    assert any("equally" in w for w in c.warnings)


def test_phase_sets_split_strands(tmp_path):
    # *2 (94781859) and *17 (94761900) phased in different phase sets: orientation between them unknown
    s1 = _rec("chr10", 94842866, "A", "G", "1|1:1", "GT:PS")
    recs = [_rec("chr10", 94761900, "C", "T", "0|1:1", "GT:PS"), _rec("chr10", 94781859, "G", "A", "0|1:2", "GT:PS"),
            s1, _rec("chr10", 94775367, "A", "G", "0|1:2", "GT:PS")]
    c = call_vcf(_vcf(tmp_path, recs), assume_ref=True).genes["CYP2C19"]
    assert c.diplotype == "*2/*17"
    recs = [_rec("chr10", 94761900, "C", "T", "0|1:1", "GT:PS"), _rec("chr10", 94781859, "G", "A", "0|1:1", "GT:PS"),
            s1]
    c2 = call_vcf(_vcf(tmp_path, recs, "y.vcf"), assume_ref=True).genes["CYP2C19"]
    assert c2.status == "not_called"  # *2 and *17 on the same strand is no named allele


def test_multiallelic_record_and_split_records(tmp_path):
    # CYP2C19 *3 site 94780653 G>A; write as multi-allelic with an extra unused alt
    s1 = _rec("10", 94842866, "A", "G", "1/1")
    c = call_vcf(_vcf(tmp_path, [_rec("10", 94780653, "G", "C,A", "0/2"), s1]), assume_ref=True).genes["CYP2C19"]
    assert c.diplotype == "*1/*3"
    recs = [_rec("chr10", 94781859, "G", "A", "0/1"), _rec("chr10", 94781859, "G", "T", "0/0"), s1,
            _rec("chr10", 94775367, "A", "G", "0/1")]
    c = call_vcf(_vcf(tmp_path, recs, "s.vcf"), assume_ref=True).genes["CYP2C19"]
    assert c.diplotype == "*1/*2"


def test_g6pd_hemizygous_male(tmp_path):
    d = gene_definition("G6PD")
    h = d.names.index("A- 202A_376G")
    seq = d.seqs[h]
    recs = []
    for i, loc in enumerate(d.loci):
        if seq[i] is not None and seq[i] != loc.ref:
            recs.append(_rec("chrX", loc.pos, loc.ref, seq[i], "1"))
    res = call_vcf(_vcf(tmp_path, recs), assume_ref=True)
    g = res.genes["G6PD"]
    assert g.haploid and g.diplotype == "A- 202A_376G" and g.phenotype == "Deficient"
    assert res.sex.startswith("male")


def test_dpyd_unphased_two_lowest_and_hapb3(tmp_path):
    # c.1905+1G>A (*2A, AS 0) het + c.2846A>T (AS 0.5) het + HapB3 het, unphased -> lowest two: *2A + c.2846
    d = gene_definition("DPYD")
    by = {loc.rsid: loc for loc in d.loci}
    recs = [_rec("chr1", by["rs3918290"].pos, by["rs3918290"].ref, by["rs3918290"].alts[0], "0/1"),
            _rec("chr1", by["rs67376798"].pos, by["rs67376798"].ref, by["rs67376798"].alts[0], "0/1"),
            _rec("chr1", by["rs75017182"].pos, by["rs75017182"].ref, by["rs75017182"].alts[0], "0/1"),
            _rec("chr1", by["rs56038477"].pos, by["rs56038477"].ref, by["rs56038477"].alts[0], "0/1")]
    c = call_vcf(_vcf(tmp_path, recs), assume_ref=True).genes["DPYD"]
    assert c.activity_score == "0.5" and c.phenotype == "Poor Metabolizer"
    assert len(c.extra["dpyd_variants_present"]) == 3
    # HapB3 exonic site alone with the intronic site missing -> HapB3 inferred, with PharmCAT's warning
    recs2 = [_rec("chr1", by["rs56038477"].pos, by["rs56038477"].ref, by["rs56038477"].alts[0], "0/1")]
    c2 = call_vcf(_vcf(tmp_path, recs2, "h.vcf")).genes["DPYD"]
    assert c2.diplotype == "Reference/c.1129-5923C>G, c.1236G>A (HapB3)"
    assert any("exonic-only" in w for w in c2.warnings)


def test_multisample_and_cli_outputs(example, tmp_path):
    res = call_vcf_samples(example / "multisample.vcf")
    assert [r.sample for r in res] == ["Sample_1", "Sample_2"]
    from genmed.cli.pgx import app

    out = tmp_path / "o"
    r = CliRunner().invoke(app, ["call", str(example / "pharmcat.example.vcf"), "--out", str(out),
                                 "--outside-calls", str(example / "pharmcat.example.outsideCall.tsv")])
    assert r.exit_code == 0, r.output
    assert {"calls.json", "calls.tsv", "report.html", "run.json"} <= {p.name for p in out.iterdir()}
    doc = json.loads((out / "calls.json").read_text())
    assert doc["genes"]["CYP2D6"]["status"] == "outside_call"
    r = CliRunner().invoke(app, ["recommend", str(out / "calls.json"), "--drugs", "codeine", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)[0]["genes"] == {"CYP2D6": "1.0"}


def test_grch37_input_via_dual_coordinates(tmp_path):
    # CYP2C19*2 rs4244285: GRCh37 chr10:96541616
    p = tmp_path / "b37.vcf"
    p.write_text(HEADER.replace("#CHROM", "##contig=<ID=1,length=249250621>\n#CHROM")
                 + "10\t96541616\trs4244285\tG\tA\t.\tPASS\t.\tGT\t1/1\n")
    c = call_vcf(p, build="GRCh37").genes["CYP2C19"]
    assert c.diplotype == "*2/*2"


def test_exhaustive_sample_zero_failures():
    for gene in ("CYP2C19", "TPMT", "NUDT15", "UGT1A1", "CYP3A5", "SLCO1B1"):
        t = run_gene(gene, sample=150, seed=1)
        assert t.failures == 0, (gene, t.failed_examples)
        assert t.phased_top == t.phased_cases


def test_mt_rnr1_from_chrM_and_research_cyp2d6(tmp_path, example):
    recs = [_rec("chrM", 1555, "A", "G", "1"), _rec("chrM", 827, "A", "G", "0")]
    res = call_vcf(_vcf(tmp_path, recs))
    mt = res.genes["MT-RNR1"]
    assert mt.status == "called" and mt.diplotype == "m.1555A>G"
    assert mt.phenotype.startswith("Increased risk") and mt.missing_positions
    from genmed.pgx import recommend

    amik = [r for r in recommend(res, ["amikacin"]) if r.source == "CPIC"][0]
    assert amik.status == "recommendation" and "avoid" in amik.recommendation.lower()
    r2 = call_vcf(example / "pharmcat.example.vcf", research_cyp2d6=True).genes["CYP2D6"]
    assert r2.extra.get("research") and "RESEARCH ONLY" in r2.warnings[0]


def test_fhir_bundle_validates(example):
    from fhir.resources.R4B.bundle import Bundle

    from genmed.pgx import to_fhir_bundle

    res = call_vcf(example / "pharmcat.example.vcf", outside_calls=example / "pharmcat.example.outsideCall.tsv")
    doc = to_fhir_bundle(res, patient_reference="Patient/p1")
    b = Bundle.model_validate(doc) if hasattr(Bundle, "model_validate") else Bundle.parse_obj(doc)
    assert b.type == "collection"
    codes = [e["resource"]["code"]["coding"][0]["code"] for e in doc["entry"]]
    assert codes.count("84413-4") == len(res.genes)
    absent = [e["resource"] for e in doc["entry"] if "dataAbsentReason" in e["resource"]]
    assert {o["code"]["text"] for o in absent} == {"HLA-A genotype"}


def test_cli_recommend_html_warfarin_drugs(example, tmp_path):
    from genmed.cli.pgx import app

    out = tmp_path / "o"
    r = CliRunner().invoke(app, ["call", str(example / "pharmcat.example.vcf"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, ["recommend", str(out / "calls.json"), "--drugs", "clopidogrel,warfarin",
                                 "--co-medications", "omeprazole", "--html", str(tmp_path / "r.html")])
    assert r.exit_code == 0 and "phenoconversion" in r.output.lower() or "->" in r.output
    assert "clopidogrel" in (tmp_path / "r.html").read_text()
    r = CliRunner().invoke(app, ["warfarin", "--age", "60", "--height", "170", "--weight", "70", "--calls",
                                 str(out / "calls.json"), "--race", "asian", "--json"])
    assert r.exit_code == 0 and json.loads(r.output)["inputs"]["vkorc1_1639"] == "G/G"
    r = CliRunner().invoke(app, ["warfarin", "--age", "60", "--height", "1700", "--weight", "70"])
    assert r.exit_code == 2 and "height_cm" in r.output
    r = CliRunner().invoke(app, ["recommend", str(tmp_path / "missing.json")])
    assert r.exit_code == 3 and "not found" in r.output
    r = CliRunner().invoke(app, ["drugs"])
    assert r.exit_code == 0 and "clopidogrel" in r.output


def test_slco1b1_falls_back_to_rs4149056(tmp_path):
    # rs4149056 het plus an undocumented SLCO1B1 variant -> no diplotype; PharmCAT's rule gives *1/*5
    d = gene_definition("SLCO1B1")
    loc = next(x for x in d.loci if x.rsid == "rs4149056")
    other = next(x for x in d.loci if x.rsid != "rs4149056" and len(x.ref) == 1)
    odd = next(b for b in "ACGT" if b != other.ref and b not in other.alts)
    recs = [_rec("chr12", loc.pos, loc.ref, "C", "0/1"), _rec("chr12", other.pos, other.ref, odd, "0/1")]
    c = call_vcf(_vcf(tmp_path, recs), assume_ref=True).genes["SLCO1B1"]
    assert c.status == "called" and c.diplotype == "*1/*5" and c.extra["inferred_from"] == "rs4149056"
    assert c.phenotype == "Decreased Function"


def test_unphased_lower_scoring_alternatives_are_kept(haplo):
    c = call_vcf(haplo / "TPMT" / "s3bs3c.vcf").genes["TPMT"]
    assert c.diplotype == "*1/*3A" and c.phenotype == "Intermediate Metabolizer"
    alts = {a["name"]: a["phenotype"] for a in c.extra["other_viable_diplotypes"]}
    assert alts == {"*3B/*3C": "Poor Metabolizer"}
    assert any("*3B/*3C (Poor Metabolizer)" in w for w in c.warnings)


def test_cli_call_with_drugs_writes_recommendations(example, tmp_path):
    from genmed.cli.pgx import app

    out = tmp_path / "o"
    r = CliRunner().invoke(app, ["call", str(example / "pharmcat.example.vcf"), "--out", str(out),
                                 "--drugs", "clopidogrel,codeine", "--co-medications", "paroxetine"])
    assert r.exit_code == 0, r.output
    recs = json.loads((out / "recommendations.json").read_text())
    assert {x["drug"] for x in recs} == {"clopidogrel", "codeine"}
    assert "Recommendations" in (out / "report.html").read_text()


def test_random_pairs_through_the_vcf_path(tmp_path):
    """A sample of the exhaustive suite, written as real VCF files and read back through the reader."""
    import random

    from genmed.pgx.exhaustive import write_vcf
    from genmed.pgx.knowledge import VCF_GENES
    from genmed.pgx.matcher import natural_key

    rng = random.Random(7)
    checked = 0
    for gene in VCF_GENES:
        d = gene_definition(gene)
        for i in range(3):
            a, b = rng.choice(d.names), rng.choice(d.names)
            p = write_vcf(gene, a, b, tmp_path / f"{gene}{i}.vcf", phased=True)
            c = call_vcf(p).genes[gene]
            want = "/".join(sorted((a, b), key=natural_key))
            if gene == "DPYD":
                assert c.status == "called" and c.activity_score is not None
            else:
                assert want in {dp.name for dp in c.diplotypes}, (gene, want, c.diplotype, c.reason)
            checked += 1
    assert checked == 3 * len(VCF_GENES)


def test_grch37_lift_reproduces_grch38_calls(example):
    """The PharmCAT example moved to GRCh37 coordinates gives the same 19 calls with --build GRCh37."""
    from genmed.pgx.engine import grch37_map
    from genmed.pgx.validation import grch37_roundtrip

    assert grch37_roundtrip(example) == (19, 19)
    assert len(grch37_map()) >= 1046


def test_gvcf_reference_blocks_cover_positions(tmp_path):
    """gVCF: positions inside <NON_REF> reference blocks are homozygous reference, not missing."""
    recs = [
        ["chr10", 94700000, ".", "A", "<NON_REF>", ".", "PASS", "END=94775366", "GT:DP", "0/0:30"],
        _rec("chr10", 94775367, "A", "G,<NON_REF>", "0/1"),
        ["chr10", 94775368, ".", "T", "<NON_REF>", ".", "PASS", "END=94781858", "GT", "0/0"],
        _rec("chr10", 94781859, "G", "A,<NON_REF>", "0/1"),
        ["chr10", 94781860, ".", "C", "<*>", ".", "PASS", "END=94842865", "GT", "0/0"],
        _rec("chr10", 94842866, "A", "G,<NON_REF>", "1/1"),
        ["chr10", 94842867, ".", "C", "<NON_REF>", ".", "PASS", "END=94900000", "GT", "0/0"],
    ]
    c = call_vcf(_vcf(tmp_path, recs)).genes["CYP2C19"]
    assert c.missing_positions == []
    assert c.diplotype == "*1/*2" and c.phenotype == "Intermediate Metabolizer"
    # a no-call block gives no information
    recs[0][-1] = "./.:0"
    c2 = call_vcf(_vcf(tmp_path, recs, "b.vcf")).genes["CYP2C19"]
    assert c2.missing_positions
