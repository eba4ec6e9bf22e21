"""The 20 GuacaMol v2 goal-directed tasks (Brown et al., JCIM 2019), written as genmed scoring specs.

Each task is the published objective re-expressed in our own components and transforms (count-based Morgan /
atom-pair / Gobbi pharmacophore Tanimoto, RDKit descriptors, GuacaMol's isomer score) so that (1) the benchmark
needs no ``guacamol`` import (broken on current scipy) and (2) the benchmark tests our scoring stack itself.
``tests/design/test_oracles_vs_guacamol.py`` checks every task against guacamol 0.5.5 on a few hundred molecules.

GuacaMol modifiers map to our transforms: ClippedScoreModifier(upper_x=t) = maximize/clipped low=0 high=t;
MinGaussianModifier(mu, s) = minimize/gaussian; MaxGaussianModifier = maximize/gaussian; GaussianModifier =
target/gaussian. Score of a task = mean of the top-1/10/100 averages (rediscovery: top-1; C11H24: top-159;
C9H10N2O2PF2Cl: top-250), computed on unique canonical (non-stereo) SMILES.
"""

from __future__ import annotations

from dataclasses import dataclass

from genmed.chem.scoring.transforms import build_transform  # noqa: F401  (documented mapping)


@dataclass(frozen=True)
class Task:
    name: str
    spec: dict
    top_counts: tuple[int, ...] = (1, 10, 100)
    starting_population: tuple[str, ...] | None = None


def _sim(smiles, fp, *, name=None, clip=None, **transform):
    obj = {"component": "similarity", "name": name or f"sim_{fp}", "params": {"smiles": [smiles], "fingerprint": fp}}
    if clip is not None:
        obj.update(direction="maximize", transform="clipped", low=0.0, high=clip)
    obj.update(transform)
    return obj


def _prop(prop, *, name=None, **transform):
    return {"component": "physchem", "name": name or prop, "params": {"property": prop}, **transform}


def _gauss(mu, sigma):
    return {"direction": "target", "transform": "gaussian", "target": mu, "sigma": sigma}


def _min_gauss(mu, sigma):
    return {"direction": "minimize", "transform": "gaussian", "target": mu, "sigma": sigma}


def _max_gauss(mu, sigma):
    return {"direction": "maximize", "transform": "gaussian", "target": mu, "sigma": sigma}


def _count(el, **transform):
    return {"component": "atom_count", "name": f"count_{el}", "params": {"element": el}, **transform}


def _isomer(formula, name="isomer", total_count="atoms"):
    return {"component": "isomer", "name": name, "params": {"formula": formula, "total_count": total_count}}


def _smarts(pattern, mode, name):
    return {"component": "smarts", "name": name, "params": {"patterns": [pattern], "mode": mode}}


def _mean(kind, *objectives):
    return {"aggregation": kind, "objective": list(objectives)}


def _descr(smiles: str) -> dict[str, float]:
    from rdkit import Chem
    from rdkit.Chem import Descriptors

    m = Chem.MolFromSmiles(smiles)
    return {"logp": Descriptors.MolLogP(m), "tpsa": Descriptors.TPSA(m), "bertz": Descriptors.BertzCT(m),
            "mw": Descriptors.MolWt(m)}


CELECOXIB = "CC1=CC=C(C=C1)C1=CC(=NN1C1=CC=C(C=C1)S(N)(=O)=O)C(F)(F)F"
TROGLITAZONE = "Cc1c(C)c2OC(C)(COc3ccc(CC4SC(=O)NC4=O)cc3)CCc2c(C)c1O"
THIOTHIXENE = "CN(C)S(=O)(=O)c1ccc2Sc3ccccc3C(=CCCN4CCN(C)CC4)c2c1"
ARIPIPRAZOLE = "Clc4cccc(N3CCN(CCCCOc2ccc1c(NC(=O)CC1)c2)CC3)c4Cl"
ALBUTEROL = "CC(C)(C)NCC(O)c1ccc(O)c(CO)c1"
MESTRANOL = "COc1ccc2[C@H]3CC[C@@]4(C)[C@@H](CC[C@@]4(O)C#C)[C@@H]3CCc2c1"
CAMPHOR, MENTHOL = "CC1(C)C2CCC1(C)C(=O)C2", "CC(C)C1CCC(C)CC1O"
TADALAFIL = "O=C1N(CC(N2C1CC3=C(C2C4=CC5=C(OCO5)C=C4)NC6=C3C=CC=C6)=O)C"
SILDENAFIL = "CCCC1=NN(C2=C1N=C(NC2=O)C3=C(C=CC(=C3)S(=O)(=O)N4CCN(CC4)C)OCC)C"
OSIMERTINIB = "COc1cc(N(C)CCN(C)C)c(NC(=O)C=C)cc1Nc2nccc(n2)c3cn(C)c4ccccc34"
FEXOFENADINE = "CC(C)(C(=O)O)c1ccc(cc1)C(O)CCCN2CCC(CC2)C(O)(c3ccccc3)c4ccccc4"
RANOLAZINE = "COc1ccccc1OCC(O)CN2CCN(CC(=O)Nc3c(C)cccc3C)CC2"
PERINDOPRIL = "O=C(OCC)C(NC(C(=O)N1C(C(=O)O)CC2CCCCC12)C)CCC"
AMLODIPINE = r"Clc1ccccc1C2C(=C(/N/C(=C2/C(=O)OCC)COCCN)C)\C(=O)OC"
SITAGLIPTIN = "Fc1cc(c(F)cc1F)CC(N)CC(=O)N3Cc2nnc(n2CC3)C(F)(F)F"
SITAGLIPTIN_ALT = "NC(CC(=O)N1CCn2c(nnc2C(F)(F)F)C1)Cc1cc(F)c(F)cc1F"  # the same molecule, as GuacaMol writes it there
ZALEPLON = "O=C(C)N(CC)C1=CC=CC(C2=CC=NC3=C(C=NN23)C#N)=C1"
VALSARTAN_SMARTS = "CN(C=O)Cc1ccc(c2ccccc2)cc1"
DECO_HOP = "CCCOc1cc2ncnc(Nc3ccc4ncsc4c3)c2cc1S(=O)(=O)C(C)(C)C"
QUINAZOLINE_SCAFFOLD = "[#7]-c1n[c;h1]nc2[c;h1]c(-[#8])[c;h0][c;h1]c12"


def sitagliptin_mpo(isomer_total="atoms") -> dict:
    d = _descr(SITAGLIPTIN)
    return _mean(
        "geometric",
        _sim(SITAGLIPTIN, "ecfp4", **_gauss(0.0, 0.1)),
        _prop("logp", **_gauss(d["logp"], 0.2)),
        _prop("tpsa", **_gauss(d["tpsa"], 5)),
        _isomer("C16H15F6N5O", total_count=isomer_total),
    )


def valsartan_smarts() -> dict:
    d = _descr(SITAGLIPTIN_ALT)
    return _mean(
        "geometric",
        _smarts(VALSARTAN_SMARTS, "require", "valsartan_smarts"),
        _prop("logp", **_gauss(d["logp"], 0.2)),
        _prop("tpsa", **_gauss(d["tpsa"], 5)),
        _prop("bertz", **_gauss(d["bertz"], 30)),
    )


def zaleplon_mpo(isomer_total="atoms") -> dict:
    return _mean("geometric", _sim(ZALEPLON, "ecfp4"), _isomer("C19H17N3O2", total_count=isomer_total))


def osimertinib_mpo() -> dict:
    return _mean(
        "geometric",
        _sim(OSIMERTINIB, "fcfp4", name="sim_fcfp4", clip=0.8),
        _sim(OSIMERTINIB, "ecfp6", name="sim_ecfp6", **_min_gauss(0.85, 0.1)),
        _prop("tpsa", **_max_gauss(100, 10)),
        _prop("logp", **_min_gauss(1, 1)),
    )


def fexofenadine_mpo() -> dict:
    return _mean(
        "geometric",
        _sim(FEXOFENADINE, "ap", clip=0.8),
        _prop("tpsa", **_max_gauss(90, 10)),
        _prop("logp", **_min_gauss(4, 1)),
    )


def ranolazine_mpo() -> dict:
    return _mean(
        "geometric",
        _sim(RANOLAZINE, "ap", clip=0.7),
        _prop("logp", **_max_gauss(7, 1)),
        _count("F", **_gauss(1, 1.0)),
        _prop("tpsa", **_max_gauss(95, 20)),
    )


def perindopril_mpo() -> dict:
    return _mean("geometric", _sim(PERINDOPRIL, "ecfp4"), _prop("aromatic_rings", **_gauss(2, 0.5)))


def amlodipine_mpo() -> dict:
    return _mean("geometric", _sim(AMLODIPINE, "ecfp4"), _prop("rings", **_gauss(3, 0.5)))


def median(a, b, fp) -> dict:
    return _mean("geometric", _sim(a, fp, name="sim_a"), _sim(b, fp, name="sim_b"))


def deco_hop() -> dict:
    return _mean(
        "arithmetic",
        _sim(DECO_HOP, "phco", clip=0.85),
        _smarts("CS([#6])(=O)=O", "forbid", "no_sulfone"),
        _smarts("[#7]-c1ccc2ncsc2c1", "forbid", "no_benzothiazole_amine"),
        _smarts(QUINAZOLINE_SCAFFOLD, "require", "keep_scaffold"),
    )


def scaffold_hop() -> dict:
    return _mean(
        "arithmetic",
        _sim(DECO_HOP, "phco", clip=0.75),
        _smarts("[#6]-[#6]-[#6]-[#8]-[#6]~[#6]~[#6]~[#6]~[#6]-[#7]-c1ccc2ncsc2c1", "require", "keep_decoration"),
        _smarts(QUINAZOLINE_SCAFFOLD, "forbid", "change_scaffold"),
    )


def similarity_task(smiles, fp, threshold) -> dict:
    return _mean("arithmetic", _sim(smiles, fp, clip=threshold))


def guacamol_v2() -> list[Task]:
    """The goal-directed suite v2, in GuacaMol's order."""
    return [
        Task("Celecoxib rediscovery", similarity_task(CELECOXIB, "ecfp4", 1.0), (1,)),
        Task("Troglitazone rediscovery", similarity_task(TROGLITAZONE, "ecfp4", 1.0), (1,)),
        Task("Thiothixene rediscovery", similarity_task(THIOTHIXENE, "ecfp4", 1.0), (1,)),
        Task("Aripiprazole similarity", similarity_task(ARIPIPRAZOLE, "ecfp4", 0.75)),
        Task("Albuterol similarity", similarity_task(ALBUTEROL, "fcfp4", 0.75)),
        Task("Mestranol similarity", similarity_task(MESTRANOL, "ap", 0.75)),
        Task("C11H24", _mean("arithmetic", _isomer("C11H24")), (159,)),
        Task("C9H10N2O2PF2Cl", _mean("arithmetic", _isomer("C9H10N2O2PF2Cl")), (250,)),
        Task("Median molecules 1", median(CAMPHOR, MENTHOL, "ecfp4")),
        Task("Median molecules 2", median(TADALAFIL, SILDENAFIL, "ecfp6")),
        Task("Osimertinib MPO", osimertinib_mpo()),
        Task("Fexofenadine MPO", fexofenadine_mpo()),
        Task("Ranolazine MPO", ranolazine_mpo(), starting_population=(RANOLAZINE,)),
        Task("Perindopril MPO", perindopril_mpo()),
        Task("Amlodipine MPO", amlodipine_mpo()),
        Task("Sitagliptin MPO", sitagliptin_mpo()),
        Task("Zaleplon MPO", zaleplon_mpo()),
        Task("Valsartan SMARTS", valsartan_smarts()),
        Task("Deco Hop", deco_hop()),
        Task("Scaffold Hop", scaffold_hop()),
    ]


# Published goal-directed v2 results (Brown et al. 2019, Table 2) for the two baselines the issue compares with.
PUBLISHED = {
    "source": "Brown et al., GuacaMol, J. Chem. Inf. Model. 2019, 59, 1096 (Table 2)",
    "Graph GA": [1.000, 1.000, 1.000, 1.000, 1.000, 1.000, 0.971, 0.982, 0.406, 0.432, 0.953, 0.998, 0.920, 0.792,
                 0.894, 0.891, 0.754, 0.990, 1.000, 1.000],
    "SMILES LSTM": [1.000, 1.000, 1.000, 1.000, 1.000, 1.000, 0.993, 0.879, 0.438, 0.422, 0.907, 0.959, 0.855,
                    0.808, 0.894, 0.545, 0.669, 0.978, 0.996, 0.998],
}


def guacamol_task_score(scores, top_counts: tuple[int, ...]) -> tuple[float, dict[str, float]]:
    """GuacaMol's global score: mean over ``top_counts`` of the mean of the top-x scores (missing = 0)."""
    ranked = sorted((float(s) for s in scores), reverse=True)
    parts = {}
    for x in top_counts:
        top = ranked[:x] + [0.0] * max(0, x - len(ranked))
        parts[f"top_{x}"] = sum(top) / x
    return sum(parts.values()) / len(parts), parts
