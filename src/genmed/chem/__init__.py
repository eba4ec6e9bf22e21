"""Molecules: standardisation, I/O, fingerprints, the chemical language model prior, MOSES metrics.

Submodules import RDKit / torch lazily; import what you need from them, e.g.
``from genmed.chem.molecules import standardize_smiles``.
"""
