"""Named-allele matcher: sample genotypes at a gene's defining positions -> ranked diplotypes.

Semantics follow PharmCAT's published matcher (NamedAlleleMatcher, "assume reference in definitions" mode) so
that calls agree with PharmCAT where PharmCAT is right:

* a named allele is the full sequence at the gene's positions; a blank cell in a non-reference definition means
  the reference base; IUPAC codes match any of their bases;
* positions the sample lacks are removed from every definition (they are *no-calls*, never assumed reference unless
  the caller asked for ``assume_ref``); a definition left with no defining position cannot be called;
* the sample's strands ("permutations") come from the phase information: fully phased (one phase set) gives two
  strands, each unphased heterozygous site or extra phase set doubles them;
* a diplotype is a pair of named alleles matching complementary strands; its score is the number of defined
  positions of both alleles; the top-scoring diplotypes are the call, ties are reported as ambiguity.

Clean-room Python (bit masks over haplotypes, depth-first strand enumeration with pruning), not a port.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from genmed.pgx.knowledge import load_knowledge
from genmed.pgx.vcf import SampleCall

IUPAC = {
    "A": "A", "C": "C", "G": "G", "T": "T", "R": "AG", "Y": "CT", "S": "CG", "W": "AT", "K": "GT", "M": "AC",
    "B": "CGT", "D": "AGT", "H": "ACT", "V": "ACG", "N": "ACGT",
}
#: PharmCAT treats unexpected ALT alleles as reference (with a warning) only for these genes.
UNDOCUMENTED_AS_REFERENCE = {"CACNA1S", "DPYD", "G6PD", "NUDT15", "RYR1", "TPMT"}


def is_wobble(a: str | None) -> bool:
    return a is not None and len(a) == 1 and a in IUPAC and a not in "ACGT"


def allele_matches(expected: str, observed: str) -> bool:
    if expected == observed:
        return True
    return is_wobble(expected) and len(observed) == 1 and observed in IUPAC[expected]


_NAT = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in _NAT.split(name))


@dataclass(frozen=True)
class Locus:
    pos: int
    rsid: str | None
    ref: str
    alts: tuple[str, ...]
    hgvs: str | None


@dataclass(frozen=True)
class GeneDefinition:
    gene: str
    chrom: str  # normalised ("10", "X")
    loci: tuple[Locus, ...]
    names: tuple[str, ...]
    reference: int  # index of the reference allele
    seqs: tuple[tuple[str | None, ...], ...]  # per allele, per locus (None = blank cell)
    version: str
    source: str
    required_positions: frozenset[int]
    unphased_priorities: tuple[tuple[frozenset[str], str], ...]
    extra_positions: tuple[dict, ...]


@lru_cache(maxsize=64)
def gene_definition(gene: str, pack_path: str | None = None) -> GeneDefinition:
    kb = load_knowledge(pack_path)
    g = kb["genes"][gene]
    ex = g["exemption"]
    ignored_pos = set(ex["ignored_positions"])  # noqa: F841
    ignored_alleles = {a.lower() for a in ex["ignored_alleles"]}
    # PharmCAT keeps "ignored" positions in the definition (they count in the match score).
    keep = list(range(len(g["variants"])))
    del ignored_pos
    loci = tuple(Locus(g["variants"][i]["pos"], g["variants"][i]["rsid"], g["variants"][i]["ref"],
                       tuple(g["variants"][i]["alts"]), g["variants"][i]["hgvs"]) for i in keep)
    names, seqs, ref_idx = [], [], -1
    for a in g["alleles"]:
        if a["name"].lower() in ignored_alleles:
            continue
        seq = tuple(a["alleles"][i] for i in keep)
        if not any(x is not None for x in seq):
            continue
        if a["reference"]:
            ref_idx = len(names)
        names.append(a["name"])
        seqs.append(seq)
    chrom = g["chromosome"].removeprefix("chr")
    return GeneDefinition(
        gene=gene, chrom=chrom, loci=loci, names=tuple(names), reference=ref_idx, seqs=tuple(seqs),
        version=g["version"], source=g["source"], required_positions=frozenset(ex["required_positions"]),
        unphased_priorities=tuple((frozenset(p["list"]), p["pick"]) for p in ex["unphased_priorities"]),
        extra_positions=tuple(ex["extra_positions"]),
    )


def _tables(d: GeneDefinition, avail_idx: list[int]) -> tuple[list[list[str]], list[int], list[dict[str, int]], int]:
    ref_seq = d.seqs[d.reference]
    nh, n = len(d.names), len(avail_idx)
    scores = [0] * nh
    expected: list[list[str]] = [[""] * nh for _ in range(n)]
    for h, seq in enumerate(d.seqs):
        for k, i in enumerate(avail_idx):
            e = seq[i]
            if e is not None:
                scores[h] += 1
            else:
                r = ref_seq[i]
                e = d.loci[i].ref if (r is None or is_wobble(r)) else r
            expected[k][h] = e
    alive = 0
    for h in range(nh):
        if scores[h] > 0:
            alive |= 1 << h
    return expected, scores, [dict() for _ in range(n)], alive


_FULL: dict[tuple[str, str], tuple] = {}


def _full_tables(d: GeneDefinition) -> tuple:
    key = (d.gene, d.version)
    if key not in _FULL:
        _FULL[key] = _tables(d, list(range(len(d.loci))))
    return _FULL[key]


@dataclass
class Candidate:
    """One diplotype (or, for haploid data, one haplotype) that explains the sample's strands."""

    alleles: tuple[str, ...]
    score: int

    @property
    def name(self) -> str:
        return "/".join(self.alleles)


@dataclass
class MatchResult:
    gene: str
    candidates: list[Candidate]  # all viable, best first
    top: list[Candidate]
    positions_used: list[int]
    missing: list[Locus]
    assumed_reference: list[int]
    phased: bool
    effectively_phased: bool
    haploid: bool
    homozygous: bool
    evidence: list[dict[str, Any]]
    undocumented: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)
    matched_haplotypes: list[str] = field(default_factory=list)
    strands: list[tuple[str, ...]] = field(default_factory=list)
    reason: str | None = None  # why nothing could be called


def _observed(call: SampleCall, locus: Locus, gene: str, warnings: list[str], undocumented: list[dict]
              ) -> tuple[str, ...] | None:
    """Sample alleles at a locus in definition space, or None if not usable (no-call)."""
    if len(call.alleles) > 2:
        warnings.append(f"{locus.pos}: GT {call.raw_gt!r} is not haploid/diploid; treated as missing")
        return None
    if call.ref_block:  # gVCF reference block: homozygous (or hemizygous) reference
        return (locus.ref,) * len(call.alleles)
    if call.is_missing or any(a is None for a in call.alleles):
        if not call.is_missing:
            warnings.append(f"{locus.pos}: partial no-call GT {call.raw_gt!r} treated as missing")
        return None
    if call.ref == locus.ref and all(a == locus.ref or a in locus.alts for a in call.alleles):
        return tuple(call.alleles)  # fast path: every allele documented
    known = {locus.ref, *locus.alts}
    out = []
    for a in call.alleles:
        if a in known:
            out.append(a)
            continue
        # Same variant written with a different padding base/representation: compare after trimming a shared
        # first base (VCF indels anchor on the preceding base).
        if call.ref != locus.ref and a == call.ref:
            out.append(locus.ref)
            continue
        undocumented.append({"position": locus.pos, "rsid": locus.rsid, "allele": a, "expected": sorted(known)})
        if gene in UNDOCUMENTED_AS_REFERENCE:
            warnings.append(f"{locus.pos} ({locus.rsid or 'no rsid'}): undocumented allele {a} treated as reference")
            out.append(locus.ref)
        else:
            out.append(a)
    if call.ref != locus.ref:
        warnings.append(f"{locus.pos}: VCF REF {call.ref} differs from definition REF {locus.ref}")
    return tuple(out)


def match_gene(definition: GeneDefinition, calls: dict[tuple[str, int], SampleCall], *, assume_ref: bool = False,
               top_only: bool = True) -> MatchResult:
    """Call one gene from one sample's calls (keyed by normalised (chrom, pos))."""
    d = definition
    warnings: list[str] = []
    undocumented: list[dict[str, Any]] = []
    avail_idx: list[int] = []
    obs: list[tuple[str, ...]] = []
    phased_flags: list[bool] = []
    phase_sets: list[str | None] = []
    missing: list[Locus] = []
    assumed: list[int] = []
    evidence: list[dict[str, Any]] = []
    present = [calls[(d.chrom, loc.pos)] for loc in d.loci if (d.chrom, loc.pos) in calls]
    haploid_sample = bool(present) and all(c.is_haploid for c in present)
    for i, locus in enumerate(d.loci):
        call = calls.get((d.chrom, locus.pos))
        o = None
        if call is not None:
            o = _observed(call, locus, d.gene, warnings, undocumented)
            if o is None or any(a != locus.ref for a in o) or (call.ref != locus.ref and not call.ref_block):
                # evidence = the informative calls (non-reference, no-call or odd REF); hom-ref sites are implied
                evidence.append({"position": locus.pos, "rsid": locus.rsid, "call": call.raw_gt,
                                 "alleles": list(o) if o else None, "phased": call.phased,
                                 "phase_set": call.phase_set})
        if o is None:
            if call is None and assume_ref:
                o, ph, ps = ((locus.ref,) if haploid_sample else (locus.ref, locus.ref)), True, None
                assumed.append(locus.pos)
            else:
                missing.append(locus)
                continue
        else:
            ph, ps = call.phased, call.phase_set
        avail_idx.append(i)
        obs.append(o)
        phased_flags.append(ph)
        phase_sets.append(ps)

    base = MatchResult(d.gene, [], [], [d.loci[i].pos for i in avail_idx], missing, assumed, False, False, False,
                       False, evidence, undocumented, warnings)
    if not avail_idx:
        base.reason = "no data at any defining position"
        return base
    ploidies = {len(o) for o in obs}
    if len(ploidies) > 1:
        warnings.append("mixed haploid/diploid genotypes; haploid calls treated as homozygous")
        obs = [o if len(o) == 2 else (o[0], o[0]) for o in obs]
    haploid = all(len(o) == 1 for o in obs)
    base.haploid = haploid
    base.phased = all(phased_flags)
    n = len(avail_idx)

    # Expected allele of each named allele at each available locus (blank = reference), plus its score.
    nh = len(d.names)
    if len(avail_idx) == len(d.loci):
        expected_cache, scores, compat, alive = _full_tables(d)  # shared across samples (no missing positions)
    else:
        expected_cache, scores, compat, alive = _tables(d, avail_idx)

    def mask_for(k: int, a: str) -> int:
        m = compat[k].get(a)
        if m is None:
            m = 0
            for h in range(nh):
                if allele_matches(expected_cache[k][h], a):
                    m |= 1 << h
            m &= alive
            compat[k][a] = m
        return m

    # Strand enumeration. Blocks: one per phase set of phased hets, one per unphased het.
    het = [k for k in range(n) if not haploid and obs[k][0] != obs[k][1]]
    base.homozygous = not het
    block_of: dict[int, int] = {}
    block_ids: dict[Any, int] = {}
    for k in het:
        key = ("ps", phase_sets[k] or "<default>") if phased_flags[k] else ("u", k)
        block_of[k] = block_ids.setdefault(key, len(block_ids))
    nblocks = len(block_ids)
    base.effectively_phased = nblocks <= 1
    if nblocks > 22:
        base.reason = f"{nblocks} independent unphased heterozygous sites: too ambiguous to enumerate"
        return base

    strands: dict[tuple[str, ...], int] = {}
    orient = [-1] * nblocks
    cur: list[str] = [""] * n
    # Homozygous sites are the same on both strands: fold them into the starting mask, then branch only on hets.
    start = alive
    for k in range(n):
        if k not in block_of:
            cur[k] = obs[k][0]
            start &= mask_for(k, obs[k][0])
            if not start:
                break
    nhet = len(het)

    def dfs(j: int, m: int) -> None:
        if m == 0:
            return
        if j == nhet:
            strands[tuple(cur)] = m
            return
        k = het[j]
        o = obs[k]
        b = block_of[k]
        if orient[b] >= 0:
            a = o[orient[b]]
            cur[k] = a
            dfs(j + 1, m & mask_for(k, a))
            return
        for ori in (0, 1):
            orient[b] = ori
            cur[k] = o[ori]
            dfs(j + 1, m & mask_for(k, o[ori]))
        orient[b] = -1

    dfs(0, start)

    def complement(s: tuple[str, ...]) -> tuple[str, ...]:
        return tuple((obs[k][1] if s[k] == obs[k][0] else obs[k][0]) if k in block_of else s[k] for k in range(n))

    hap_strands: dict[int, set[tuple[str, ...]]] = {}
    for s, m in strands.items():
        h = 0
        while m:
            if m & 1:
                hap_strands.setdefault(h, set()).add(s)
            m >>= 1
            h += 1
    base.matched_haplotypes = sorted((d.names[h] for h in hap_strands), key=natural_key)
    base.strands = list(strands)

    cands: list[Candidate] = []
    hs = sorted(hap_strands, key=lambda h: natural_key(d.names[h]))
    if haploid:
        cands = [Candidate((d.names[h],), scores[h]) for h in hs]
    elif not het:
        for x, h1 in enumerate(hs):
            for h2 in hs[x:]:
                cands.append(Candidate((d.names[h1], d.names[h2]), scores[h1] + scores[h2]))
    else:
        for x, h1 in enumerate(hs):
            s1s = hap_strands[h1]
            for h2 in hs[x:]:
                s2s = hap_strands[h2]
                if any(complement(s) in s2s for s in s1s):
                    cands.append(Candidate((d.names[h1], d.names[h2]), scores[h1] + scores[h2]))
    cands.sort(key=lambda c: (-c.score, [natural_key(a) for a in c.alleles]))
    base.candidates = cands
    if not cands:
        base.reason = ("observed variants do not combine into any pair of named alleles"
                       if not undocumented or d.gene in UNDOCUMENTED_AS_REFERENCE
                       else "undocumented variant(s) at " + ", ".join(str(u["position"]) for u in undocumented))
        return base
    best = cands[0].score
    top = [c for c in cands if c.score == best]
    if not base.effectively_phased and d.unphased_priorities:
        # CPIC/PharmCAT priority rules (e.g. NAT2): when the unphased genotype is explained by exactly the listed
        # diplotypes (all viable ones, or the top-scoring ones), report the listed pick.
        viable = frozenset(c.name for c in cands)
        tops = frozenset(c.name for c in top)
        hits = [(lst, pick) for lst, pick in d.unphased_priorities if lst in (viable, tops)]
        if not hits:  # extra candidates created by missing positions: a single listed set contained in them
            hits = [(lst, pick) for lst, pick in d.unphased_priorities if lst <= viable]
        if len(hits) == 1:
            lst, pick = hits[0]
            warnings.append(f"unphased ambiguity {' | '.join(sorted(lst))} resolved to {pick} "
                            "(PharmCAT/CPIC priority rule)")
            top = [c for c in cands if c.name == pick]
    base.top = top if top_only else cands
    return base
