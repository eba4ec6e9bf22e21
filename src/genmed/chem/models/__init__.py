"""Chemical language models (the SMILES prior) and their training/sampling.

These modules depend only on torch, numpy and the standard library so that training can run on a bare GPU
machine (``python -m genmed.chem.models.train``).
"""
