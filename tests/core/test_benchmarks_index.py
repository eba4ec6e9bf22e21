"""BENCHMARKS.md keeps a generated contents table: every section, grouped by capability, idempotent."""

from genmed.core.benchmarks import update_section, with_index


def test_update_section_maintains_a_grouped_contents_table(tmp_path):
    path = tmp_path / "BENCHMARKS.md"
    update_section("privacy", "### Privacy: DP cohorts\n\nnumbers", path=path, command="genmed bench privacy")
    update_section("pgx", "Pharmacogenomics against PharmCAT. More text.", path=path, command="genmed bench pgx")
    update_section("design-pmo-mol-ga", "### PMO — mol-ga\n\n| a |", path=path, command="genmed bench pmo")
    text = path.read_text()
    assert text.count("<!-- bench-index:start -->") == 1 and text.index("## Contents") < text.index("bench:privacy")
    rows = [ln for ln in text.split("<!-- bench-index:end -->")[0].splitlines() if ln.startswith("| ") and "`" in ln]
    # grouped in the patient-flow order, whatever order the sections were written in
    assert [r.split(" | ")[0] for r in rows] == ["| Pharmacogenomics", "| Molecule design", "| Privacy"]
    assert "Pharmacogenomics against PharmCAT |" in rows[0] and "PMO — mol-ga" in rows[1]
    assert with_index(text) == text
    update_section("pgx", "### PGx v2", path=path, command="genmed bench pgx")
    text = path.read_text()
    assert "| Pharmacogenomics | PGx v2 | `pgx` |" in text and text.count("## Contents") == 1
