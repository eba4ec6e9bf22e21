import gzip
import json

from genmed.pgx.knowledge import PACK_PATH, VCF_GENES, build_knowledge, html_to_text, load_knowledge


def test_shipped_pack_is_compact_and_versioned():
    assert PACK_PATH.exists()
    assert PACK_PATH.stat().st_size < 5_000_000
    kb = load_knowledge()
    assert kb["version"].startswith("genmed-pgx-kb ")
    for gene in VCF_GENES:
        g = kb["genes"][gene]
        assert g["source"] and g["version"], gene
    for p in kb["phenotypes"].values():
        assert p["source"] and p["version"]
    assert len(kb["guidelines"]) == 118
    for gl in kb["guidelines"]:
        assert gl["source"] in {"CPIC", "DPWG"} and gl["version"] and gl["url"].startswith("https://")


def test_rebuild_is_reproducible(pgx_dir, tmp_path):
    info = build_knowledge(pgx_dir, tmp_path / "kb.json.gz")
    assert info["version"] == load_knowledge()["version"], "shipped pack is stale: run genmed pgx build-knowledge"
    with gzip.open(tmp_path / "kb.json.gz") as fh:
        assert json.load(fh)["genes"]["CYP2C19"]["alleles"][0]["name"] == "*38"


def test_build_from_wrong_dir_is_clear(tmp_path):
    import pytest

    from genmed.core.errors import DataNotFoundError

    with pytest.raises(DataNotFoundError, match="definitions"):
        build_knowledge(tmp_path)
    assert not list(tmp_path.iterdir())


def test_html_to_text():
    assert html_to_text("<p>Use <b>standard</b> dose</p>\n<h4>Other</h4><p>x &amp; y</p>") == \
        "Use standard dose\nOther\nx & y"
