"""MOSES distribution-learning metrics, implemented from the MOSES definitions (Polykovskiy et al., 2020,
Front. Pharmacol. 11:565644; reference code github.com/molecularsets/moses, ``moses/metrics``).

``import moses`` is broken on current pandas/RDKit, so we read its data files only (test sets, precomputed test
statistics, the MCF/PAINS filter SMARTS) and re-implement each metric:

- Valid: fraction of generated strings RDKit parses and sanitizes.
- Unique@k: fraction of distinct canonical SMILES among the first k *valid* molecules.
- FCD/Test, FCD/TestSF: Fréchet ChemNet Distance (``fcd_torch``) of the valid canonical SMILES (duplicates kept)
  against the stored mu/sigma of the test / scaffold-split test set.
- SNN: mean over generated molecules of the max Tanimoto (Morgan r=2, 1024 bits) to the reference set.
- Frag / Scaf: cosine similarity of BRICS-fragment / Bemis-Murcko-scaffold (>= 2 rings) count vectors.
- IntDiv_p: 1 - mean_i (mean_j T(i,j)^p)^(1/p) over generated molecules (self-pairs included, as in MOSES).
- Filters: fraction passing MOSES' charge/element/ring-size rules and the MCF + PAINS SMARTS.
- Novelty: fraction of distinct valid molecules not in the training set.
"""

from __future__ import annotations

import gzip
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem
from rdkit.Chem.Scaffolds import MurckoScaffold

from genmed.core.data import package_data_dir
from genmed.core.errors import InputError

RDLogger.DisableLog("rdApp.*")

# Published MOSES results (Polykovskiy et al. 2020, Table 2 / github README), mean over 3 runs, 30k samples.
PUBLISHED = {
    "Train": {"valid": 1.0, "unique@1000": 1.0, "unique@10000": 1.0, "FCD/Test": 0.008, "FCD/TestSF": 0.476,
              "SNN/Test": 0.6419, "SNN/TestSF": 0.5859, "Frag/Test": 1.0, "Frag/TestSF": 0.9986,
              "Scaf/Test": 0.9907, "Scaf/TestSF": 0.0, "IntDiv": 0.8567, "IntDiv2": 0.8508, "Filters": 1.0,
              "Novelty": 0.0},
    "CharRNN": {"valid": 0.975, "unique@1000": 1.0, "unique@10000": 0.999, "FCD/Test": 0.073, "FCD/TestSF": 0.520,
                "SNN/Test": 0.601, "SNN/TestSF": 0.565, "Frag/Test": 1.0, "Frag/TestSF": 0.998,
                "Scaf/Test": 0.924, "Scaf/TestSF": 0.110, "IntDiv": 0.856, "IntDiv2": 0.850, "Filters": 0.994,
                "Novelty": 0.842},
    "VAE": {"valid": 0.977, "unique@1000": 1.0, "unique@10000": 0.998, "FCD/Test": 0.099, "FCD/TestSF": 0.567,
            "SNN/Test": 0.626, "SNN/TestSF": 0.578, "Frag/Test": 0.999, "Frag/TestSF": 0.998, "Scaf/Test": 0.939,
            "Scaf/TestSF": 0.059, "IntDiv": 0.856, "IntDiv2": 0.850, "Filters": 0.997, "Novelty": 0.695},
    "AAE": {"valid": 0.937, "unique@1000": 1.0, "unique@10000": 0.997, "FCD/Test": 0.556, "FCD/TestSF": 1.057,
            "SNN/Test": 0.608, "SNN/TestSF": 0.568, "Frag/Test": 0.991, "Frag/TestSF": 0.990, "Scaf/Test": 0.902,
            "Scaf/TestSF": 0.079, "IntDiv": 0.856, "IntDiv2": 0.850, "Filters": 0.996, "Novelty": 0.793},
    "JTN-VAE": {"valid": 1.0, "unique@1000": 1.0, "unique@10000": 0.9996, "FCD/Test": 0.395, "FCD/TestSF": 0.938,
                "SNN/Test": 0.548, "SNN/TestSF": 0.519, "Frag/Test": 0.996, "Frag/TestSF": 0.995,
                "Scaf/Test": 0.896, "Scaf/TestSF": 0.100, "IntDiv": 0.855, "IntDiv2": 0.849, "Filters": 0.976,
                "Novelty": 0.914},
    "LatentGAN": {"valid": 0.897, "unique@1000": 1.0, "unique@10000": 0.997, "FCD/Test": 0.296, "FCD/TestSF": 0.824,
                  "SNN/Test": 0.538, "SNN/TestSF": 0.514, "Frag/Test": 0.999, "Frag/TestSF": 0.998,
                  "Scaf/Test": 0.886, "Scaf/TestSF": 0.100, "IntDiv": 0.857, "IntDiv2": 0.851, "Filters": 0.973,
                  "Novelty": 0.949},
}
PUBLISHED_SOURCE = ("Polykovskiy et al., 'Molecular Sets (MOSES): A Benchmarking Platform for Molecular "
                    "Generation Models', Front. Pharmacol. 2020; table in github.com/molecularsets/moses README")


def moses_data_dir() -> Path:
    return package_data_dir("moses") / "dataset" / "data"


def read_moses_split(split: str) -> list[str]:
    """SMILES of a MOSES split (``train``, ``test``, ``test_scaffolds``) from the installed molsets package."""
    path = moses_data_dir() / f"{split}.csv.gz"
    if not path.exists():
        raise InputError(f"MOSES split {split!r} not found at {path}", hint="pip install --no-deps molsets")
    with gzip.open(path, "rt") as fh:
        header = fh.readline().strip().split(",")
        col = header.index("SMILES")
        return [line.rstrip("\n").split(",")[col] for line in fh if line.strip()]


@lru_cache(maxsize=2)
def reference_stats(split: str = "test") -> dict:
    """MOSES' precomputed statistics of a test split: FCD mu/sigma, SNN fingerprints, fragment/scaffold counts."""
    name = {"test": "test_stats.npz", "test_scaffolds": "test_scaffolds_stats.npz"}[split]
    return np.load(moses_data_dir() / name, allow_pickle=True)["stats"].item()


# ---- per-molecule helpers -------------------------------------------------------------------------------


def get_mol(smiles: str) -> Chem.Mol | None:
    """MOSES ``get_mol``: parse, then sanitize; ``None`` on failure or empty string."""
    if not smiles:
        return None
    mol = Chem.MolFromSmiles(smiles)
    if mol is None:
        return None
    try:
        Chem.SanitizeMol(mol)
    except ValueError:
        return None
    return mol


def morgan_fingerprints(mols: Sequence[Chem.Mol], radius: int = 2, n_bits: int = 1024) -> np.ndarray:
    from rdkit import DataStructs
    from rdkit.Chem import rdFingerprintGenerator

    gen = rdFingerprintGenerator.GetMorganGenerator(radius=radius, fpSize=n_bits)
    out = np.zeros((len(mols), n_bits), dtype=np.uint8)
    for i, m in enumerate(mols):
        DataStructs.ConvertToNumpyArray(gen.GetFingerprint(m), out[i])
    return out


def fragments(mol: Chem.Mol) -> list[str]:
    return Chem.MolToSmiles(AllChem.FragmentOnBRICSBonds(mol)).split(".")


def scaffold(mol: Chem.Mol, min_rings: int = 2) -> str | None:
    try:
        scaf = MurckoScaffold.GetScaffoldForMol(mol)
    except (ValueError, RuntimeError):
        return None
    smi = Chem.MolToSmiles(scaf)
    if not smi or scaf.GetRingInfo().NumRings() < min_rings:
        return None
    return smi


@lru_cache(maxsize=1)
def _filter_patterns() -> list[Chem.Mol]:
    import csv

    base = package_data_dir("moses") / "metrics"
    with open(base / "mcf.csv") as fh:
        smarts = [row["smarts"] for row in csv.DictReader(fh)]
    with open(base / "wehi_pains.csv") as fh:
        smarts += [row[0] for row in csv.reader(fh) if row]
    return [p for p in (Chem.MolFromSmarts(s) for s in smarts) if p is not None]


ALLOWED_ATOMS = frozenset({"C", "N", "S", "O", "F", "Cl", "Br", "H"})


def passes_filters(mol: Chem.Mol | None) -> bool:
    """MOSES ``mol_passes_filters``: no ring >= 8 atoms, no charges, allowed atoms only, no MCF/PAINS match."""
    if mol is None:
        return False
    ring_info = mol.GetRingInfo()
    if ring_info.NumRings() and any(len(r) >= 8 for r in ring_info.AtomRings()):
        return False
    if any(a.GetFormalCharge() != 0 for a in mol.GetAtoms()):
        return False
    if any(a.GetSymbol() not in ALLOWED_ATOMS for a in mol.GetAtoms()):
        return False
    h_mol = Chem.AddHs(mol)
    if any(h_mol.HasSubstructMatch(p) for p in _filter_patterns()):
        return False
    smi = Chem.MolToSmiles(mol, isomericSmiles=False)
    return bool(smi) and Chem.MolFromSmiles(smi) is not None


# ---- set-level metrics ---------------------------------------------------------------------------------


def average_agg_tanimoto(
    ref_fps: np.ndarray, gen_fps: np.ndarray, agg: str = "max", p: int = 1, batch_size: int = 4096
) -> float:
    """MOSES ``average_agg_tanimoto`` (max or mean Tanimoto of each generated molecule to the reference set).

    0/1 fingerprints are exact in bfloat16 and the products accumulate in fp32, so we use bf16 matmuls (AMX).
    """
    import torch

    n = len(gen_fps)
    agg_val = np.zeros(n)
    total = np.zeros(n)
    ref_counts_all = ref_fps.sum(1).astype(np.float32)
    gen_counts_all = gen_fps.sum(1).astype(np.float32)
    for j in range(0, len(ref_fps), batch_size):
        x = torch.from_numpy(ref_fps[j : j + batch_size]).to(torch.bfloat16)
        xs = torch.from_numpy(ref_counts_all[j : j + batch_size])[:, None]
        for i in range(0, n, batch_size):
            y = torch.from_numpy(gen_fps[i : i + batch_size]).to(torch.bfloat16)
            ys = torch.from_numpy(gen_counts_all[i : i + batch_size])[None, :]
            tp = torch.matmul(x, y.T).float()
            jac = (tp / (xs + ys - tp)).numpy()
            jac[np.isnan(jac)] = 1
            if p != 1:
                jac = jac**p
            if agg == "max":
                agg_val[i : i + len(y)] = np.maximum(agg_val[i : i + len(y)], jac.max(0))
            else:
                agg_val[i : i + len(y)] += jac.sum(0)
                total[i : i + len(y)] += jac.shape[0]
    if agg == "mean":
        agg_val /= total
    if p != 1:
        agg_val = agg_val ** (1 / p)
    return float(np.mean(agg_val))


def cos_similarity(ref: Counter, gen: Counter) -> float:
    if not ref or not gen:
        return float("nan")
    keys = sorted(set(ref) | set(gen))
    a = np.array([ref.get(k, 0) for k in keys], dtype=float)
    b = np.array([gen.get(k, 0) for k in keys], dtype=float)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def fraction_unique(canonical: Sequence[str], k: int | None) -> float:
    sub = list(canonical[:k]) if k else list(canonical)
    if k and len(canonical) < k:
        warnings.warn(f"only {len(canonical)} valid molecules for unique@{k}", stacklevel=2)
    return len(set(sub)) / max(len(sub), 1)


def fcd_stats(smiles: Sequence[str], n_jobs: int = 1, device: str = "cpu") -> dict[str, np.ndarray]:
    """ChemNet activation statistics (mu, sigma) via fcd_torch, with the numpy-2/torch shims it needs."""
    if not hasattr(np, "row_stack"):
        np.row_stack = np.vstack  # removed in numpy 2; fcd_torch still calls it
    import torch
    from fcd_torch import FCD

    orig_load = torch.load

    def _load(*args, **kwargs):  # fcd_torch loads its shipped ChemNet weights with pickle
        kwargs["weights_only"] = False
        return orig_load(*args, **kwargs)

    torch.load = _load
    try:
        return FCD(device=device, n_jobs=n_jobs, batch_size=512).precalc(list(smiles))
    finally:
        torch.load = orig_load


def frechet_distance(p1: dict, p2: dict) -> float:
    """Fréchet distance between two Gaussians (as in fcd_torch, whose own helper breaks on newer SciPy)."""
    from scipy import linalg

    mu1, mu2 = np.atleast_1d(p1["mu"]), np.atleast_1d(p2["mu"])
    s1, s2 = np.atleast_2d(p1["sigma"]), np.atleast_2d(p2["sigma"])
    diff = mu1 - mu2
    covmean = linalg.sqrtm(s1.dot(s2))
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    covmean = np.real(covmean)
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


@dataclass
class MosesResult:
    metrics: dict[str, float]
    n_generated: int
    n_valid: int

    def as_dict(self) -> dict:
        return {"n_generated": self.n_generated, "n_valid": self.n_valid, **self.metrics}


def compute_moses_metrics(
    generated: Sequence[str],
    *,
    train: Sequence[str] | None = None,
    splits: Sequence[str] = ("test", "test_scaffolds"),
    n_jobs: int = 1,
    progress=None,
) -> MosesResult:
    """All MOSES metrics of a list of generated SMILES (invalid entries included, as sampled).

    ``train`` defaults to the MOSES training split (for Novelty).
    """
    step = progress or (lambda name: None)
    n = len(generated)
    if n == 0:
        raise InputError("no generated molecules to evaluate")
    mols_all = [get_mol(s) for s in generated]
    valid_mols = [m for m in mols_all if m is not None]
    canonical = [Chem.MolToSmiles(m) for m in valid_mols]
    # MOSES re-parses the canonical SMILES for all later metrics
    mols = [get_mol(s) for s in canonical]
    keep = [i for i, m in enumerate(mols) if m is not None]
    canonical = [canonical[i] for i in keep]
    mols = [mols[i] for i in keep]
    out: dict[str, float] = {"valid": len(valid_mols) / n}
    out["unique@1000"] = fraction_unique(canonical, 1000)
    out["unique@10000"] = fraction_unique(canonical, 10000)
    if not mols:
        return MosesResult(out, n, 0)
    step("FCD")
    gen_fcd = fcd_stats(canonical, n_jobs=n_jobs)
    step("fingerprints")
    gen_fps = morgan_fingerprints(mols)
    gen_frag: Counter = Counter()
    for m in mols:
        gen_frag.update(fragments(m))
    gen_scaf = Counter(s for s in (scaffold(m) for m in mols) if s is not None)
    for split in splits:
        ref = reference_stats(split)
        tag = "Test" if split == "test" else "TestSF"
        out[f"FCD/{tag}"] = frechet_distance(gen_fcd, ref["FCD"])
        step(f"SNN/{tag}")
        out[f"SNN/{tag}"] = average_agg_tanimoto(ref["SNN"]["fps"], gen_fps, agg="max")
        out[f"Frag/{tag}"] = cos_similarity(ref["Frag"]["frag"], gen_frag)
        out[f"Scaf/{tag}"] = cos_similarity(ref["Scaf"]["scaf"], gen_scaf)
    step("IntDiv")
    out["IntDiv"] = 1 - average_agg_tanimoto(gen_fps, gen_fps, agg="mean", p=1)
    out["IntDiv2"] = 1 - average_agg_tanimoto(gen_fps, gen_fps, agg="mean", p=2)
    step("Filters")
    out["Filters"] = float(np.mean([passes_filters(m) for m in mols]))
    step("Novelty")
    train_set = set(train) if train is not None else set(read_moses_split("train"))
    uniq = set(canonical)
    out["Novelty"] = len(uniq - train_set) / len(uniq)
    return MosesResult(out, n, len(mols))
