"""Readers and scale detection on the bundled real data, plus bad input: each fails with a message naming it."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
import scipy.io
import scipy.sparse as sp

from genmed.core.errors import DataNotFoundError, InputError
from genmed.omics import io


def test_kang_is_log_normalised(kang):
    rep = io.detect_scale(kang.X)
    assert rep.kind == "log-normalised" and rep.likelihoods == ("gauss", "zig")
    assert kang.shape == (1975, 6998)
    assert set(kang.obs["cell_type"]) >= {"CD4T", "B", "NK"}


def test_pbmc_is_counts_with_proteins(pbmc):
    rep = io.detect_scale(pbmc.X)
    assert rep.kind == "counts" and "nb" in rep.likelihoods
    pf = io.protein_frame(pbmc)
    assert pf.shape == (200, 14) and "CD3_TotalSeqB" in pf.columns


def test_eccite_prefix_removed_and_proteins(data_dir):
    a = io.load_dataset("eccite-pbmc")
    assert not any(g.startswith("hg19_") for g in a.var_names[:100])
    assert io.protein_frame(a).shape == (500, 49)


def test_detect_scale_other():
    assert io.detect_scale(np.array([[-1.0, 0.5]])).kind == "other"
    assert io.detect_scale(np.array([[30.5, 100.2]])).kind == "other"


def test_empty_h5ad(tmp_path):
    p = tmp_path / "empty.h5ad"
    p.write_bytes(b"")
    with pytest.raises(InputError, match="empty.h5ad: file is empty"):
        io.read_h5ad(p)


def test_truncated_h5ad(tmp_path, data_dir):
    src = data_dir / "omics" / "pbmc10k_protein_200.h5ad"
    p = tmp_path / "trunc.h5ad"
    p.write_bytes(src.read_bytes()[:5000])
    with pytest.raises(InputError, match="trunc.h5ad: not a readable .h5ad"):
        io.read_h5ad(p)


def test_missing_file(tmp_path):
    with pytest.raises(DataNotFoundError):
        io.read_expression(tmp_path / "nope.h5ad")


def test_nan_and_negative_values(tmp_path):
    import anndata as ad

    a = ad.AnnData(X=np.array([[1.0, np.nan], [2.0, 3.0]], np.float32))
    p = tmp_path / "nan.h5ad"
    a.write_h5ad(p)
    with pytest.raises(InputError, match="NaN"):
        io.read_h5ad(p)
    a = ad.AnnData(X=np.array([[1.0, -2.0], [2.0, 3.0]], np.float32))
    p2 = tmp_path / "neg.h5ad"
    a.write_h5ad(p2)
    with pytest.raises(InputError, match="negative"):
        io.read_h5ad(p2)


def _write_10x(folder, pbmc, gz=True):
    folder.mkdir()
    x = sp.csr_matrix(pbmc.X[:, :50])
    prot = io.protein_frame(pbmc).iloc[:, :3]
    full = sp.hstack([x, sp.csr_matrix(prot.to_numpy())]).T.tocoo()  # features x cells
    opener = gzip.open if gz else open
    sfx = ".gz" if gz else ""
    with opener(folder / f"matrix.mtx{sfx}", "wb") as fh:
        scipy.io.mmwrite(fh, full)
    feats = [(f"ENSG{i}", g, "Gene Expression") for i, g in enumerate(pbmc.var_names[:50])]
    feats += [(f"AB{i}", p, "Antibody Capture") for i, p in enumerate(prot.columns)]
    with opener(folder / f"features.tsv{sfx}", "wt") as fh:
        fh.write("\n".join("\t".join(f) for f in feats) + "\n")
    with opener(folder / f"barcodes.tsv{sfx}", "wt") as fh:
        fh.write("\n".join(pbmc.obs_names) + "\n")


def test_read_10x_with_antibody_capture(tmp_path, pbmc):
    _write_10x(tmp_path / "10x", pbmc)
    a = io.read_expression(tmp_path / "10x")
    assert a.shape == (200, 50)
    np.testing.assert_allclose(io.dense(a.X), io.dense(pbmc.X[:, :50]))
    assert list(io.protein_frame(a).columns) == list(io.protein_frame(pbmc).columns[:3])


def test_read_10x_missing_barcodes(tmp_path, pbmc):
    _write_10x(tmp_path / "10x", pbmc, gz=False)
    (tmp_path / "10x" / "barcodes.tsv").unlink()
    with pytest.raises(InputError, match="lacks barcodes.tsv"):
        io.read_10x_mtx(tmp_path / "10x")


def test_csv_table_both_orientations(tmp_path, pbmc):
    df = pd.DataFrame(io.dense(pbmc.X[:20, :100]), index=pbmc.obs_names[:20], columns=pbmc.var_names[:100])
    df.to_csv(tmp_path / "cells_by_genes.csv")
    df.T.to_csv(tmp_path / "genes_by_cells.tsv", sep="\t")
    a = io.read_expression(tmp_path / "cells_by_genes.csv")
    b = io.read_expression(tmp_path / "genes_by_cells.tsv")
    assert a.shape == b.shape == (20, 100)
    assert io.detect_scale(a.X).kind == "counts"


def test_csv_non_numeric(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("cell,g1,g2\nc1,1,abc\nc2,2,3\n")
    with pytest.raises(InputError, match="bad.csv: non-numeric columns"):
        io.read_table(p)


def test_adt_table_attach_and_mismatch(tmp_path, pbmc):
    a = pbmc[:, :100].copy()
    del a.obsm["protein_expression"]
    adt = io.protein_frame(pbmc)
    adt.T.to_csv(tmp_path / "adt.csv")  # proteins x cells, the R layout
    io.attach_adt(a, tmp_path / "adt.csv")
    assert io.protein_frame(a).shape == (200, 14)
    adt.iloc[:150].to_csv(tmp_path / "adt_short.csv")
    with pytest.raises(InputError, match="50 of 200 cells have no protein counts"):
        io.attach_adt(a, tmp_path / "adt_short.csv")


def test_unknown_dataset():
    with pytest.raises(InputError, match="unknown data set"):
        io.load_dataset("no-such-set")


def test_hvg_selection_prefers_variable_genes(kang):
    genes = io.select_hvg(kang, 500, scale="log-normalised")
    x = io.dense(kang.X)
    hv = np.isin(kang.var_names, genes)
    assert len(genes) == 500 and len(set(genes)) == 500
    # HVGs are over-dispersed relative to the rest (variance / mean on the linear scale)
    lin = np.expm1(x)
    disp = lin.var(0) / np.maximum(lin.mean(0), 1e-9)
    assert np.median(disp[hv]) > 1.5 * np.median(disp[~hv & (lin.mean(0) > 0)])
