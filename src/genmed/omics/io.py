"""Reading expression data: ``.h5ad``, 10x ``matrix.mtx(.gz)`` folders, CSV/TSV count tables, CITE-seq ADT tables.

Everything comes back as an :class:`anndata.AnnData` (cells x genes, float32 CSR or dense) with protein counts, when
present, in ``obsm["protein_expression"]`` (a DataFrame, so protein names travel with the values). Readers fail
with an :class:`InputError` that names the file; they never return a half-read object.

:func:`detect_scale` tells raw counts from log-normalised values (integers and the maximum value), because the
likelihood depends on it: NB/ZINB need counts, the Gaussian model takes log-normalised input.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from genmed.core.errors import DataNotFoundError, InputError

PROTEIN_KEY = "protein_expression"

# name -> (file under $GENMED_DATA_DIR/omics, description)
BUNDLED = {
    "kang2018": ("kang2018_scgen_valid.h5ad", "Kang 2018 IFN-beta PBMC, scGen validation split (log-normalised)"),
    "pbmc10k-protein": ("pbmc10k_protein_200.h5ad", "10x PBMC 10k CITE-seq, 200-cell subset (counts + 14 ADT)"),
    "eccite-pbmc": ("eccite_pbmc_500.h5ad", "ECCITE-seq PBMC control, Mimitou 2019 (counts + 49 ADT + 4 HTO)"),
}
ALIASES = {"kang": "kang2018", "pbmc10k": "pbmc10k-protein", "eccite": "eccite-pbmc", "eccite-seq": "eccite-pbmc"}


@dataclass(frozen=True)
class ScaleReport:
    """What kind of values a matrix holds and which likelihoods fit them."""

    kind: str  # "counts" | "log-normalised" | "other"
    integer: bool
    max_value: float
    min_value: float
    likelihoods: tuple[str, ...]
    reason: str

    def as_dict(self) -> dict:
        return {"kind": self.kind, "integer": self.integer, "max_value": self.max_value, "min_value": self.min_value,
                "likelihoods": list(self.likelihoods), "reason": self.reason}


def _values(X) -> np.ndarray:
    return X.data if hasattr(X, "data") and hasattr(X, "indptr") else np.asarray(X).ravel()


def detect_scale(X) -> ScaleReport:
    """Counts if every value is a non-negative integer; log-normalised if non-integer with max < 20 (log1p of
    CP10k/CPM stays below ~15); anything else (z-scores, TPM) only fits a Gaussian with care."""
    v = _values(X)
    if v.size == 0:
        return ScaleReport("other", False, 0.0, 0.0, (), "matrix has no non-zero values")
    if not np.all(np.isfinite(v)):
        raise InputError("expression matrix contains NaN or infinite values", hint="remove or impute them first")
    vmin, vmax = float(v.min()), float(v.max())
    integer = bool(np.all(np.abs(v - np.round(v)) < 1e-6))
    if vmin < 0:
        return ScaleReport("other", integer, vmax, vmin, ("gauss",),
                           "negative values (scaled/centred data): only a Gaussian likelihood applies")
    if integer:
        return ScaleReport("counts", True, vmax, vmin, ("nb", "zinb", "gauss", "zig"),
                           "non-negative integers: raw counts (NB/ZINB; Gaussian after log-normalisation)")
    if vmax < 20:
        return ScaleReport("log-normalised", False, vmax, vmin, ("gauss", "zig"),
                           f"non-integer values with max {vmax:.2f} < 20: log-normalised (Gaussian likelihoods)")
    return ScaleReport("other", False, vmax, vmin, ("gauss",),
                       f"non-integer values up to {vmax:.1f}: normalised but not logged (log1p, then Gaussian)")


def validate_matrix(adata, source: str) -> None:
    """Reject empty matrices, NaN/inf and negative values in what should be expression."""
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise InputError(f"no cells or genes ({adata.n_obs} x {adata.n_vars})", source=source)
    v = _values(adata.X)
    if v.size and not np.all(np.isfinite(v)):
        raise InputError("expression matrix contains NaN or infinite values", source=source,
                         hint="remove or impute them first")
    if v.size and v.min() < 0:
        raise InputError("expression matrix contains negative values (scaled data?)", source=source,
                         hint="give counts or log-normalised values, not z-scores")
    if PROTEIN_KEY in adata.obsm:
        p = np.asarray(adata.obsm[PROTEIN_KEY], dtype=float)
        if not np.all(np.isfinite(p)) or (p.size and p.min() < 0):
            raise InputError("protein counts contain NaN, infinite or negative values", source=source)


def _finish(adata, source: str):
    import scipy.sparse as sp

    if not sp.issparse(adata.X):
        adata.X = np.asarray(adata.X, dtype=np.float32)
    else:
        adata.X = sp.csr_matrix(adata.X, dtype=np.float32)
    adata.var_names_make_unique()
    if PROTEIN_KEY in adata.obsm and not isinstance(adata.obsm[PROTEIN_KEY], pd.DataFrame):
        names = adata.uns.get("protein_names")
        p = np.asarray(adata.obsm[PROTEIN_KEY])
        cols = [str(n) for n in names] if names is not None and len(names) == p.shape[1] else \
            [f"protein_{i}" for i in range(p.shape[1])]
        adata.obsm[PROTEIN_KEY] = pd.DataFrame(p, index=adata.obs_names, columns=cols)
    validate_matrix(adata, source)
    adata.uns["genmed_source"] = source
    return adata


def read_h5ad(path: str | Path):
    """Read an ``.h5ad``; empty, truncated or non-HDF5 files give an InputError naming the file."""
    import warnings

    import anndata as ad

    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"file not found: {path}")
    if path.stat().st_size == 0:
        raise InputError("file is empty", source=str(path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # anndata format notices on old files
            adata = ad.read_h5ad(path)
    except Exception as exc:  # h5py raises OSError/KeyError/... for truncated or foreign files
        raise InputError(f"not a readable .h5ad file ({type(exc).__name__}: {str(exc)[:120]})", source=str(path),
                         hint="the file may be truncated; re-export it with anndata") from None
    return _finish(adata, str(path))


def _open_text(path: Path):
    return gzip.open(path, "rt") if path.suffix == ".gz" else open(path)


def _find(folder: Path, stems: tuple[str, ...]) -> Path | None:
    for stem in stems:
        for suffix in ("", ".gz"):
            p = folder / f"{stem}{suffix}"
            if p.exists():
                return p
    return None


def read_10x_mtx(folder: str | Path, *, gene_column: int = 1):
    """Read a 10x ``matrix.mtx(.gz)`` + ``features.tsv``/``genes.tsv`` + ``barcodes.tsv`` folder (Cell Ranger v2/v3).

    Features of type "Antibody Capture" go to ``obsm["protein_expression"]``; gene expression stays in ``X``.
    """
    import anndata as ad
    import scipy.io
    import scipy.sparse as sp

    folder = Path(folder)
    if not folder.is_dir():
        raise DataNotFoundError(f"10x folder not found: {folder}")
    mtx = _find(folder, ("matrix.mtx",))
    feats = _find(folder, ("features.tsv", "genes.tsv"))
    bcs = _find(folder, ("barcodes.tsv",))
    missing = [n for n, p in (("matrix.mtx", mtx), ("features.tsv/genes.tsv", feats), ("barcodes.tsv", bcs)) if p is None]
    if missing:
        raise InputError(f"10x folder lacks {', '.join(missing)}", source=str(folder))
    try:
        with (gzip.open(mtx, "rb") if mtx.suffix == ".gz" else open(mtx, "rb")) as fh:
            m = sp.csr_matrix(scipy.io.mmread(fh).T, dtype=np.float32)  # 10x stores genes x cells
        features = pd.read_csv(feats, sep="\t", header=None, dtype=str)
        barcodes = pd.read_csv(bcs, sep="\t", header=None, dtype=str)[0].tolist()
    except Exception as exc:
        raise InputError(f"unreadable 10x matrix ({type(exc).__name__}: {str(exc)[:120]})", source=str(folder)) from None
    if m.shape != (len(barcodes), len(features)):
        raise InputError(f"matrix is {m.shape[1]} features x {m.shape[0]} cells but the folder lists "
                         f"{len(features)} features and {len(barcodes)} barcodes", source=str(folder))
    col = gene_column if features.shape[1] > gene_column else 0
    names = features[col].astype(str).tolist()
    ftype = features[2].astype(str).tolist() if features.shape[1] > 2 else ["Gene Expression"] * len(names)
    is_ab = np.array([t == "Antibody Capture" for t in ftype])
    adata = ad.AnnData(X=m[:, ~is_ab], obs=pd.DataFrame(index=barcodes),
                       var=pd.DataFrame({"gene_ids": features[0].to_numpy()[~is_ab]}, index=np.array(names)[~is_ab]))
    if is_ab.any():
        adata.obsm[PROTEIN_KEY] = pd.DataFrame(m[:, is_ab].toarray(), index=barcodes,
                                               columns=np.array(names)[is_ab])
    return _finish(adata, str(folder))


def _read_table(path: Path) -> pd.DataFrame:
    sep = "\t" if any(s in path.name for s in (".tsv", ".txt")) else ","
    if path.stat().st_size == 0:
        raise InputError("file is empty", source=str(path))
    try:
        df = pd.read_csv(path, sep=sep, index_col=0)
    except Exception as exc:
        raise InputError(f"unreadable table ({type(exc).__name__}: {str(exc)[:120]})", source=str(path)) from None
    if df.empty:
        raise InputError("table has no rows or columns", source=str(path))
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise InputError(f"non-numeric columns {bad[:5]}", source=str(path),
                         hint="the first column must be the row names, every other column numbers")
    return df


def read_table(path: str | Path, *, genes_as_rows: bool | None = None):
    """Read a CSV/TSV expression table. Orientation: cells x genes unless ``genes_as_rows`` (auto: rows are genes
    when there are more rows than columns, the usual layout of count tables exported from R)."""
    import anndata as ad

    path = Path(path)
    if not path.exists():
        raise DataNotFoundError(f"file not found: {path}")
    df = _read_table(path)
    if genes_as_rows is None:
        genes_as_rows = df.shape[0] > df.shape[1]
    if genes_as_rows:
        df = df.T
    adata = ad.AnnData(X=df.to_numpy(dtype=np.float32), obs=pd.DataFrame(index=df.index.astype(str)),
                       var=pd.DataFrame(index=df.columns.astype(str)))
    return _finish(adata, str(path))


def attach_adt(adata, path: str | Path):
    """Add a separate ADT (protein counts) table to ``adata``: rows or columns are the cell barcodes; the cells are
    matched by name and every cell of ``adata`` must be present."""
    path = Path(path)
    df = _read_table(path)
    cells = set(adata.obs_names)
    if len(cells & set(df.index.astype(str))) < len(cells & set(df.columns.astype(str))):
        df = df.T
    df.index = df.index.astype(str)
    missing = [c for c in adata.obs_names if c not in df.index]
    if missing:
        raise InputError(f"{len(missing)} of {adata.n_obs} cells have no protein counts (e.g. {missing[:3]})",
                         source=str(path), hint="ADT rows/columns must be the same cell barcodes as the RNA")
    adata.obsm[PROTEIN_KEY] = df.loc[list(adata.obs_names)].astype(np.float32)
    validate_matrix(adata, str(path))
    return adata


def read_expression(path: str | Path, *, adt: str | Path | None = None):
    """Read any supported expression input by its form: folder (10x), ``.h5ad``, or CSV/TSV table."""
    path = Path(path)
    if path.is_dir():
        adata = read_10x_mtx(path)
    elif path.name.endswith(".h5ad"):
        adata = read_h5ad(path)
    elif any(path.name.endswith(s) for s in (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz")):
        adata = read_table(path)
    elif not path.exists():
        raise DataNotFoundError(f"file not found: {path}")
    else:
        raise InputError("unsupported expression format", source=str(path),
                         hint="give an .h5ad, a 10x matrix folder, or a CSV/TSV table")
    if adt is not None:
        attach_adt(adata, adt)
    return adata


def load_dataset(name: str):
    """Load a bundled data set by name (``kang2018``, ``pbmc10k-protein``, ``eccite-pbmc``) or any path."""
    from genmed.core.data import data_path

    key = ALIASES.get(name, name)
    if key in BUNDLED:
        adata = read_h5ad(data_path("omics", BUNDLED[key][0]))
        adata.uns["genmed_dataset"] = key
        if key == "eccite-pbmc":  # CiteFuse names carry a genome prefix
            adata.var_names = [g.removeprefix("hg19_") for g in adata.var_names]
            adata.var_names_make_unique()
        return adata
    if Path(name).exists():
        return read_expression(name)
    raise InputError(f"unknown data set {name!r}", hint=f"known: {', '.join(BUNDLED)}, or a file path")


def protein_frame(adata) -> pd.DataFrame | None:
    p = adata.obsm.get(PROTEIN_KEY) if PROTEIN_KEY in adata.obsm else None
    if p is None:
        return None
    return p if isinstance(p, pd.DataFrame) else pd.DataFrame(np.asarray(p), index=adata.obs_names)


def dense(X) -> np.ndarray:
    return np.asarray(X.toarray() if hasattr(X, "toarray") else X, dtype=np.float32)


def log_normalise(X, target: float = 1e4) -> np.ndarray:
    """log1p(counts / library x 1e4): the scanpy convention, as used by scGen's Kang data."""
    x = dense(X)
    lib = x.sum(1, keepdims=True)
    lib[lib == 0] = 1
    return np.log1p(x / lib * target).astype(np.float32)


def select_hvg(adata, n_genes: int, *, scale: str) -> list[str]:
    """Highly variable genes by normalised dispersion in bins of mean expression (Seurat v1 flavour, as scanpy's
    default): robust to the mean-variance trend, no extra dependency."""
    if n_genes is None or n_genes >= adata.n_vars:
        return list(adata.var_names)
    x = log_normalise(adata.X) if scale == "counts" else dense(adata.X)
    mean = np.expm1(x).mean(0)
    var = np.expm1(x).var(0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        disp = np.log(np.where(mean > 0, var / mean, np.nan))
        lmean = np.log1p(mean)
    bins = pd.cut(lmean, 20)
    df = pd.DataFrame({"d": disp, "b": bins})
    g = df.groupby("b", observed=True)["d"]
    z = (df["d"] - g.transform("mean")) / g.transform("std").replace(0, np.nan)
    z = z.fillna(-np.inf).to_numpy()
    z[mean == 0] = -np.inf
    idx = np.argsort(-z, kind="stable")[:n_genes]
    return [adata.var_names[i] for i in sorted(idx)]
