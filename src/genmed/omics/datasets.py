"""External omics data for `genmed data fetch` (users with internet; tests never fetch).

Bundled small sets live in ``$GENMED_DATA_DIR/omics`` (see ``shared/data/omics/SOURCE.md``); these are the full
versions. Checksums are not pinned where the providers publish none; the manifest records source and licence.
"""

from __future__ import annotations

from genmed.core.datasets import DataSource, RemoteFile, register_dataset

register_dataset(DataSource(
    name="omics-kang2018-full",
    description="Kang et al. 2018 IFN-beta PBMC, raw counts (~25k cells, ~15k genes), pertpy/liana's processed file",
    files=(RemoteFile("https://figshare.com/ndownloader/files/34464122", "omics/kang_counts_25k.h5ad"),),
    license="GEO GSE96583 (public data)",
    citation="Kang HM, et al. Nat Biotechnol 2018;36:89-94",
))
register_dataset(DataSource(
    name="omics-pbmc10k-protein",
    description="10x Genomics PBMC 10k CITE-seq (TotalSeq-B), filtered feature-barcode matrix (10x HDF5)",
    files=(RemoteFile(
        "https://cf.10xgenomics.com/samples/cell-exp/3.0.0/pbmc_10k_protein_v3/pbmc_10k_protein_v3_filtered_feature_bc_matrix.h5",
        "omics/pbmc_10k_protein_v3_filtered_feature_bc_matrix.h5"),),
    license="CC BY 4.0 (10x Genomics)",
    citation="10x Genomics, PBMC 10k with TotalSeq-B antibodies (2018)",
    notes=["read with anndata/scanpy's 10x HDF5 reader, or export to a matrix.mtx folder for genmed's reader"],
))
register_dataset(DataSource(
    name="omics-norman2019",
    description="Norman et al. 2019 Perturb-seq combinatorial CRISPRa (GEARS/CPA benchmark), scPerturb h5ad",
    files=(RemoteFile("https://zenodo.org/record/7041849/files/NormanWeissman2019_filtered.h5ad",
                      "omics/norman2019.h5ad"),),
    license="CC BY 4.0 (scPerturb, Zenodo 7041849)",
    citation="Norman TM, et al. Science 2019;365:786-793; Peidli S, et al. (scPerturb) Nat Methods 2024",
))
