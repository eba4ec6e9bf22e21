"""PharmCAT's DPYD/HapB3 expectation table (haplotype_tests/DPYD/hapb3.tsv).

Columns: c.1236G>A (exonic HapB3), c.1129-5923C>G (intronic HapB3), c.61C>T, c.2846A>T, c.85T>C, c.1314T>G,
c.557A>G genotypes ('/' unphased, '|' phased, 'missing'); then the expected phased call and lookup, the expected
unphased call (variant list) and lookup. We check the variants found and the activity score of the lookup
diplotype (ties between equal-function variants make the lookup *name* arbitrary, the score is not).
"""

from genmed.pgx.validation import dpyd_table_results


def test_dpyd_hapb3_table(haplo):
    ok, n, skipped, failures = dpyd_table_results(haplo)
    assert n >= 80 and skipped < 25
    assert not failures, f"{len(failures)}/{n}\n" + "\n".join(failures[:15])
