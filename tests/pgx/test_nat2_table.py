"""PharmCAT's NAT2 expectation table (haplotype_tests/NAT2/tests.tsv): unphased genotypes at the five key NAT2
SNPs, other positions reference, some positions missing -> expected call, ambiguity list and CPIC pick."""

from genmed.pgx.validation import nat2_table_results


def test_nat2_expectation_table(haplo):
    ok, total, failures = nat2_table_results(haplo)
    assert total == 75
    assert not failures, f"{len(failures)}/{total} rows differ:\n" + "\n".join(failures[:10])
