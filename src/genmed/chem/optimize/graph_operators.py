"""Graph crossover and mutation on RDKit molecules, after Jensen's graph-based GA (Chem. Sci. 2019, 10, 3567),
the operator set used by the GuacaMol and PMO "Graph GA" baselines.

Crossover cuts each parent once (at a non-ring single bond, or across a ring) and joins one fragment of each with
reaction SMARTS; mutation applies one of seven edits (insert/append/delete/change atom, change bond order, add
ring, delete ring bond). Children must sanitise, have no allenes/macro-cycles/double bonds in small rings, and
fall under a size drawn around 39 heavy atoms (ChEMBL mean and sd, as in the original).
"""

from __future__ import annotations

import random

from rdkit import Chem, RDLogger
from rdkit.Chem import AllChem

RDLogger.DisableLog("rdApp.*")

AVERAGE_SIZE, SIZE_STDEV = 39.15, 3.50

_NON_RING_BOND = Chem.MolFromSmarts("[*]-;!@[*]")
_RING_CUTS = [Chem.MolFromSmarts("[R]@[R]@[R]@[R]"), Chem.MolFromSmarts("[R]@[R]@[R]@[R]@[R]")]
_ALLENE_IN_RING = Chem.MolFromSmarts("[R]=[R]=[R]")
_DOUBLE_IN_SMALL_RING = Chem.MolFromSmarts("[r3,r4]=[r3,r4]")


_RXN_CACHE: dict = {}


def _rxn(smarts: str):
    if smarts not in _RXN_CACHE:
        _RXN_CACHE[smarts] = AllChem.ReactionFromSmarts(smarts)
    return _RXN_CACHE[smarts]


def ring_ok(mol) -> bool:
    if mol.GetRingInfo().NumRings() == 0:
        return True
    if mol.HasSubstructMatch(_ALLENE_IN_RING):
        return False
    if any(len(r) > 6 for r in mol.GetRingInfo().AtomRings()):
        return False
    return not mol.HasSubstructMatch(_DOUBLE_IN_SMALL_RING)


def mol_ok(mol, rng: random.Random) -> bool:
    try:
        Chem.SanitizeMol(mol)
    except Exception:
        return False
    target = SIZE_STDEV * rng.gauss(0, 1) + AVERAGE_SIZE
    return 5 < mol.GetNumAtoms() < target


def _cut(mol, rng):
    matches = mol.GetSubstructMatches(_NON_RING_BOND)
    if not matches:
        return None
    a, b = rng.choice(matches)
    bond = mol.GetBondBetweenAtoms(a, b).GetIdx()
    frag = Chem.FragmentOnBonds(mol, [bond], addDummies=True, dummyLabels=[(1, 1)])
    try:
        return Chem.GetMolFrags(frag, asMols=True, sanitizeFrags=True)
    except Exception:
        return None


def _cut_ring(mol, rng):
    for _ in range(10):
        if rng.random() < 0.5:
            matches = mol.GetSubstructMatches(_RING_CUTS[0])
            if not matches:
                return None
            i = rng.choice(matches)
            bonds = [(i[0], i[1]), (i[2], i[3])]
        else:
            matches = mol.GetSubstructMatches(_RING_CUTS[1])
            if not matches:
                return None
            i = rng.choice(matches)
            bonds = [(i[0], i[1]), (i[3], i[4])]
        idx = [mol.GetBondBetweenAtoms(x, y).GetIdx() for x, y in bonds]
        frag = Chem.FragmentOnBonds(mol, idx, addDummies=True, dummyLabels=[(1, 1), (1, 1)])
        try:
            frags = Chem.GetMolFrags(frag, asMols=True, sanitizeFrags=True)
        except Exception:
            continue
        if len(frags) == 2:
            return frags
    return None


_RING_JOIN = [
    _rxn("[*:1]~[1*].[1*]~[*:2]>>[*:1]-[*:2]"),
    _rxn("[*:1]~[1*].[1*]~[*:2]>>[*:1]=[*:2]"),
]
_RING_CLOSE = [
    _rxn("([*:1]~[1*].[1*]~[*:2])>>[*:1]-[*:2]"),
    _rxn("([*:1]~[1*].[1*]~[*:2])>>[*:1]=[*:2]"),
]
_NON_RING_JOIN = _rxn("[*:1]-[1*].[1*]-[*:2]>>[*:1]-[*:2]")


_ANY_RING = Chem.MolFromSmarts("[R]")


def _crossover_ring(a, b, rng):
    if not a.HasSubstructMatch(_ANY_RING) or not b.HasSubstructMatch(_ANY_RING):
        return None
    for _ in range(10):
        fa, fb = _cut_ring(a, rng), _cut_ring(b, rng)
        if fa is None or fb is None:
            return None
        children = []
        for join, close in zip(_RING_JOIN, _RING_CLOSE, strict=True):
            # as in the original: first product of each fragment pairing, size-checked, then ring closure
            joined = [r[0][0] for x in fa for y in fb if (r := join.RunReactants((x, y)))]
            for m in joined:
                if not mol_ok(m, rng):
                    continue
                for q in close.RunReactants((m,)):
                    if mol_ok(q[0], rng) and ring_ok(q[0]):
                        children.append(q[0])
        if children:
            return rng.choice(children)
    return None


def _crossover_non_ring(a, b, rng):
    for _ in range(10):
        fa, fb = _cut(a, rng), _cut(b, rng)
        if fa is None or fb is None:
            return None
        children = []
        for x in fa:
            for y in fb:
                for p in _NON_RING_JOIN.RunReactants((x, y)):
                    child = p[0]
                    if mol_ok(child, rng):
                        children.append(child)
        if children:
            return rng.choice(children)
    return None


def crossover(a, b, rng: random.Random):
    """A child of two parents, or None (10 tries, ring or non-ring cut chosen at random)."""
    a, b = Chem.Mol(a), Chem.Mol(b)
    try:
        Chem.Kekulize(a, clearAromaticFlags=True)
        Chem.Kekulize(b, clearAromaticFlags=True)
    except Exception:
        return None
    for _ in range(10):
        child = _crossover_non_ring(a, b, rng) if rng.random() <= 0.5 else _crossover_ring(a, b, rng)
        if child is not None:
            try:
                return Chem.MolFromSmiles(Chem.MolToSmiles(child))
            except Exception:
                return None
    return None


def _weighted(rng, items, weights):
    return rng.choices(items, weights=weights, k=1)[0]


def _insert_atom(rng):
    element = _weighted(rng, ["C", "N", "O"], [0.5, 0.25, 0.25])
    bond = _weighted(rng, ["single", "double", "triple"], [0.8, 0.1, 0.1])
    if bond == "single":
        return f"[*:1]~[*:2]>>[*:1]{element}[*:2]"
    if bond == "double" or element == "O":
        return f"[*;!H0:1]~[*:2]>>[*:1]={element}-[*:2]"
    return f"[*;!H0;!H1:1]~[*:2]>>[*:1]#{element}-[*:2]"


def _change_bond_order(rng):
    return rng.choice([
        "[*:1]!-[*:2]>>[*:1]-[*:2]",
        "[*;!H0:1]-[*;!H0:2]>>[*:1]=[*:2]",
        "[*:1]#[*:2]>>[*:1]=[*:2]",
        "[*;!R;!H1;!H0:1]~[*:2]>>[*:1]#[*:2]",
    ])


def _delete_cyclic_bond(rng):
    return "[*:1]@[*:2]>>([*:1].[*:2])"


def _add_ring(rng):
    return rng.choice([
        "[*;!r;!H0:1]~[*;!r:2]~[*;!r;!H0:3]>>[*:1]1~[*:2]~[*:3]1",
        "[*;!r;!H0:1]~[*!r:2]~[*!r:3]~[*;!r;!H0:4]>>[*:1]1~[*:2]~[*:3]~[*:4]1",
        "[*;!r;!H0:1]~[*!r:2]~[*:3]~[*:4]~[*;!r;!H0:5]>>[*:1]1~[*:2]~[*:3]~[*:4]~[*:5]1",
        "[*;!r;!H0:1]~[*!r:2]~[*:3]~[*:4]~[*!r:5]~[*;!r;!H0:6]>>[*:1]1~[*:2]~[*:3]~[*:4]~[*:5]~[*:6]1",
    ])


def _delete_atom(rng):
    return _weighted(rng, [
        "[*:1]~[D1:2]>>[*:1]",
        "[*:1]~[D2:2]~[*:3]>>[*:1]-[*:3]",
        "[*:1]~[D3:2](~[*;!H0:3])~[*:4]>>[*:1]-[*:3]-[*:4]",
        "[*:1]~[D4:2](~[*;!H0:3])(~[*;!H0:4])~[*:5]>>[*:1]-[*:3]-[*:4]-[*:5]",
        "[*:1]~[D4:2](~[*;!H0;!H1:3])(~[*:4])~[*:5]>>[*:1]-[*:3](-[*:4])-[*:5]",
    ], [0.25, 0.25, 0.25, 0.1875, 0.0625])


_ELEMENTS = ["#6", "#7", "#8", "#9", "#16", "#17", "#35"]


def _change_atom(rng, mol):
    present = [e for e in _ELEMENTS if mol.HasSubstructMatch(Chem.MolFromSmarts(f"[{e}]"))]
    x = rng.choice(present) if present else "#6"
    y = _weighted(rng, _ELEMENTS, [0.15, 0.15, 0.14, 0.14, 0.14, 0.14, 0.14])
    while y == x:
        y = _weighted(rng, _ELEMENTS, [0.15, 0.15, 0.14, 0.14, 0.14, 0.14, 0.14])
    return "[X:1]>>[Y:1]".replace("X", x).replace("Y", y)


def _append_atom(rng):
    bond = _weighted(rng, ["single", "double", "triple"], [0.8, 0.1, 0.1])
    if bond == "single":
        el = _weighted(rng, ["C", "N", "O", "F", "S", "Cl", "Br"], [1 / 7] * 7)
        return f"[*;!H0:1]>>[*:1]-{el}"
    if bond == "double":
        el = _weighted(rng, ["C", "N", "O"], [1 / 3] * 3)
        return f"[*;!H0;!H1:1]>>[*:1]={el}"
    el = _weighted(rng, ["C", "N"], [0.5, 0.5])
    return f"[*;H3:1]>>[*:1]#{el}"


def mutate(mol, mutation_rate: float, rng: random.Random):
    """With probability ``mutation_rate``, one random graph edit (10 tries); otherwise the molecule unchanged."""
    if rng.random() > mutation_rate:
        return mol
    mol = Chem.Mol(mol)
    try:
        Chem.Kekulize(mol, clearAromaticFlags=True)
    except Exception:
        return mol
    ops = ["insert", "bond", "delete_ring_bond", "add_ring", "delete", "change", "append"]
    for _ in range(10):
        op = _weighted(rng, ops, [0.15, 0.14, 0.14, 0.14, 0.14, 0.14, 0.15])
        smarts = {
            "insert": _insert_atom, "bond": _change_bond_order, "delete_ring_bond": _delete_cyclic_bond,
            "add_ring": _add_ring, "delete": _delete_atom, "append": _append_atom,
        }[op](rng) if op != "change" else _change_atom(rng, mol)
        try:
            products = _rxn(smarts).RunReactants((mol,))
        except Exception:
            continue
        children = []
        for p in products:
            child = p[0]
            if mol_ok(child, rng) and ring_ok(child):
                children.append(child)
        if children:
            try:
                return Chem.MolFromSmiles(Chem.MolToSmiles(rng.choice(children)))
            except Exception:
                return None
    return None


def reproduce(a, b, mutation_rate: float, rng: random.Random) -> str | None:
    """One child of parents ``a`` and ``b``: crossover, then mutation with ``mutation_rate``; its SMILES, or None
    when either step fails."""
    child = crossover(a, b, rng)
    if child is not None:
        child = mutate(child, mutation_rate, rng)
    if child is None:
        return None
    try:
        return Chem.MolToSmiles(child)
    except Exception:  # RDKit can fail to write a sanitised-but-odd child; skip it, as the GA skips any failure
        return None
