"""PharmCAT reference data for `genmed data fetch pgx-pharmcat` (then `genmed pgx build-knowledge`).

The shipped knowledge pack already holds everything the engine needs; fetching is only for rebuilding it.
Files come from the PharmCAT repository at tag ``v3.1.1`` (the shared snapshot is v3.1.1-2, commit 5431bf11;
a rebuilt pack records the definition versions it actually read). Guideline JSON and pypgx tables are not
fetched here: PharmCAT removed the guideline folder after commit ae6ea63a and pypgx ships its tables inside its
wheel (``pip download pypgx==0.27.0``; ``pypgx/api/data/*.csv``).
"""

from __future__ import annotations

from genmed.core.datasets import DataSource, RemoteFile, register_dataset

RAW = "https://raw.githubusercontent.com/PharmGKB/PharmCAT/v3.1.1"
RES = f"{RAW}/src/main/resources/org/pharmgkb/pharmcat"
DEF_GENES = ("ABCG2", "CACNA1S", "CFTR", "CYP2B6", "CYP2C19", "CYP2C9", "CYP2D6", "CYP3A4", "CYP3A5", "CYP4F2",
             "DPYD", "G6PD", "IFNL3", "NAT2", "NUDT15", "RYR1", "SLCO1B1", "TPMT", "UGT1A1", "VKORC1")
PHENO_GENES = ("ABCG2", "CACNA1S", "CFTR", "CYP2B6", "CYP2C19", "CYP2C9", "CYP3A4", "CYP3A5", "DPYD", "IFNL3",
               "MT_RNR1", "NAT2", "NUDT15", "SLCO1B1", "TPMT", "UGT1A1", "VKORC1")
EXAMPLES = ("pharmcat.example.vcf", "pharmcat.example.match.json", "pharmcat.example.phenotype.json",
            "pharmcat.example.report.tsv", "pharmcat.example.outsideCall.tsv", "multisample.vcf")

_files = [RemoteFile(f"{RES}/definition/alleles/{g}_translation.json", f"pgx/pharmcat/definitions/{g}_translation.json")
          for g in DEF_GENES]
_files.append(RemoteFile(f"{RES}/definition/alleles/exemptions.json", "pgx/pharmcat/definitions/exemptions.json"))
_files += [RemoteFile(f"{RES}/phenotype/{g}.json", f"pgx/pharmcat/phenotypes/{g}.json") for g in PHENO_GENES]
_files += [RemoteFile(f"{RAW}/docs/examples/{f}", f"pgx/pharmcat/examples/{f}") for f in EXAMPLES]

register_dataset(DataSource(
    name="pgx-pharmcat",
    description="PharmCAT allele definitions, gene phenotypes and worked example (input to build-knowledge)",
    files=tuple(_files),
    license="MPL-2.0 (data: CPIC CC0, PharmGKB/ClinPGx)",
    citation="Sangkuhl K, et al. PharmCAT: a pharmacogenomics clinical annotation tool. "
             "Clin Pharmacol Ther 2020;107:203-10.",
    notes=["guideline JSON (56 CPIC + 62 DPWG) and pypgx tables must be copied in; see genmed/pgx/datasets.py"],
))
