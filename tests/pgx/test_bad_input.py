"""Bad inputs: a clear one-line error naming the input, non-zero exit, nothing half-written."""

import gzip

import pytest
from typer.testing import CliRunner

from genmed.core.errors import DataNotFoundError, InputError
from genmed.pgx import call_vcf, load_result
from genmed.pgx.engine import parse_outside_calls

HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
REC = "chr10\t94781859\trs4244285\tG\tA\t.\tPASS\t.\tGT\t0/1\n"


def _w(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_missing_file(tmp_path):
    with pytest.raises(DataNotFoundError, match="not found"):
        call_vcf(tmp_path / "nope.vcf")


def test_not_a_vcf(tmp_path):
    with pytest.raises(InputError, match="not a VCF"):
        call_vcf(_w(tmp_path, "x.vcf", "hello world\n"))


def test_no_gt_field(tmp_path):
    p = _w(tmp_path, "x.vcf", HEADER + REC.replace("\tGT\t0/1", "\tDP\t12"))
    with pytest.raises(InputError, match="no GT"):
        call_vcf(p)


def test_bad_gt_index_is_a_no_call_with_warning(tmp_path):
    res = call_vcf(_w(tmp_path, "x.vcf", HEADER + REC.replace("0/1", "0/3")))
    assert any("allele 3" in w and "x.vcf:3" in w for w in res.warnings)
    c = res.genes["CYP2C19"]
    assert c.status == "not_called" and any(m["position"] == 94781859 for m in c.missing_positions)


def test_non_integer_gt_is_a_no_call(tmp_path):
    res = call_vcf(_w(tmp_path, "x.vcf", HEADER + REC.replace("0/1", "A/B")))
    assert any("invalid GT" in w for w in res.warnings)


def test_truncated_gzip(tmp_path):
    raw = gzip.compress((HEADER + REC * 2000).encode())
    p = tmp_path / "x.vcf.gz"
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match="truncated|corrupt"):
        call_vcf(p)


def test_unknown_sample(tmp_path):
    with pytest.raises(InputError, match="'NOPE' is not in the VCF"):
        call_vcf(_w(tmp_path, "x.vcf", HEADER + REC), sample="NOPE")


def test_multisample_needs_choice(example):
    with pytest.raises(InputError, match="choose one"):
        call_vcf(example / "multisample.vcf")


def test_wrong_build_header(tmp_path):
    p = _w(tmp_path, "x.vcf", HEADER.replace("#CHROM", "##contig=<ID=1,length=249250621>\n#CHROM") + REC)
    with pytest.raises(InputError, match="GRCh37"):
        call_vcf(p)


def test_wrong_contig_names(tmp_path):
    with pytest.raises(InputError, match="contig"):
        call_vcf(_w(tmp_path, "x.vcf", HEADER + REC.replace("chr10", "scaffold_10")))


def test_outside_calls_unknown_gene(tmp_path):
    p = _w(tmp_path, "o.tsv", "CYP2D6\t*1/*4\nFOO1\t*1/*2\n")
    with pytest.raises(InputError, match=r"o.tsv:2: unknown gene 'FOO1'"):
        parse_outside_calls(p)


def test_outside_calls_bad_activity_and_duplicates(tmp_path):
    with pytest.raises(InputError, match="not a number"):
        parse_outside_calls(_w(tmp_path, "a.tsv", "CYP2D6\t\t\tabc\n"))
    with pytest.raises(InputError, match="twice"):
        parse_outside_calls(_w(tmp_path, "b.tsv", "CYP2D6\t*1/*1\nCYP2D6\t*1/*4\n"))


def test_outside_call_unknown_allele_is_not_called(tmp_path, example):
    o = _w(tmp_path, "o.tsv", "CYP2D6\t*1/*999\n")
    res = call_vcf(example / "pharmcat.example.vcf", outside_calls=o)
    assert res.genes["CYP2D6"].status == "not_called" and "*999" in res.genes["CYP2D6"].reason


def test_load_result_rejects_other_json(tmp_path):
    with pytest.raises(InputError, match="not a genmed calls.json"):
        load_result(_w(tmp_path, "c.json", '{"a": 1}'))


def test_cli_bad_input_exits_nonzero_and_writes_nothing(tmp_path):
    from genmed.cli.pgx import app

    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["call", str(_w(tmp_path, "x.vcf", "garbage\n")), "--out", str(out)])
    assert r.exit_code == 2
    assert "not a VCF" in r.output
    assert not out.exists()
    o = _w(tmp_path, "o.tsv", "NOTAGENE\t*1/*1\n")
    r = CliRunner().invoke(app, ["call", str(_w(tmp_path, "y.vcf", HEADER + REC)), "--out", str(out),
                                 "--outside-calls", str(o)])
    assert r.exit_code == 2 and "unknown gene" in r.output and not out.exists()


def test_wrong_build_detected_from_ref_alleles(tmp_path, example):
    """A GRCh37 file without build headers: REF alleles at PGx sites disagree with GRCh38 -> clear error."""
    lines = []
    for ln in (example / "pharmcat.example.vcf").read_text().splitlines():
        if ln.startswith("##contig") or ln.startswith("##reference"):
            continue
        if not ln.startswith("#"):
            cols = ln.split("\t")
            if len(cols[3]) == 1:
                cols[3] = {"A": "C", "C": "G", "G": "T", "T": "A"}[cols[3]]
            ln = "\t".join(cols)
        lines.append(ln)
    p = _w(tmp_path, "shifted.vcf", "\n".join(lines) + "\n")
    with pytest.raises(InputError, match="wrong genome build"):
        call_vcf(p)


def test_polyploid_gt_is_a_no_call(tmp_path):
    res = call_vcf(_w(tmp_path, "x.vcf", HEADER + REC.replace("0/1", "0/1/1")))
    c = res.genes["CYP2C19"]
    assert any("not haploid/diploid" in w for w in c.warnings)
    assert any(m["position"] == 94781859 for m in c.missing_positions)
