"""External chemistry data for `genmed data fetch` (users with internet; tests never fetch).

GuacaMol's ChEMBL 24 splits are the pool its goal-directed protocol starts from (the best molecules of the whole
set become the first population). Offline, `genmed bench guacamol --protocol guacamol` falls back to the MOSES
training set shipped in the molsets wheel and says so in BENCHMARKS.md.
"""

from __future__ import annotations

from genmed.core.datasets import DataSource, RemoteFile, register_dataset

# figshare files and the MD5 sums published in the guacamol README (BenevolentAI/guacamol)
GUACAMOL_SPLITS = {
    "train": ("13612760", "05ad85d871958a05c02ab51a4fde8530"),
    "valid": ("13612766", "e53db4bff7dc4784123ae6df72e3b1f0"),
    "test": ("13612757", "677b757ccec4809febd83850b43e1616"),
}

register_dataset(DataSource(
    name="guacamol-chembl",
    description="GuacaMol v1 ChEMBL 24 splits (~1.6 M standardised molecules; holdout drugs and their close "
                "analogues removed): the pool of the GuacaMol goal-directed protocol",
    files=tuple(RemoteFile(f"https://ndownloader.figshare.com/files/{fid}", f"chem/guacamol/guacamol_v1_{split}.smiles",
                           md5=md5) for split, (fid, md5) in GUACAMOL_SPLITS.items()),
    license="CC BY-SA 3.0 (ChEMBL)",
    citation="Brown N, Fiscato M, Segler MHS, Vaucher AC. GuacaMol: Benchmarking Models for de Novo Molecular "
             "Design. J Chem Inf Model 2019;59:1096-1108",
    notes=["`genmed bench guacamol --protocol guacamol --pool chembl` reads all three splits (GuacaMol's "
           "guacamol_v1_all.smiles)"],
))
