"""MedMNIST sources for `genmed data fetch` (official Zenodo record 10519652, MedMNIST+ / v2 28x28 files)."""

from __future__ import annotations

from genmed.core.datasets import DataSource, RemoteFile, register_dataset

ZENODO = "https://zenodo.org/records/10519652/files"
CITATION = ("Yang J, Shi R, Wei D, et al. MedMNIST v2 - a large-scale lightweight benchmark for 2D and 3D "
            "biomedical image classification. Scientific Data 2023;10:41. doi:10.1038/s41597-022-01721-8")

#: name -> (description, MD5 published by the medmnist package's INFO table)
MEDMNIST = {
    "pneumoniamnist": ("PneumoniaMNIST: 5,856 paediatric chest X-rays, 28x28, normal vs pneumonia",
                       "28209eda62fecd6e6a2d98b1501bb15f"),
}

for _name, (_desc, _md5) in MEDMNIST.items():
    register_dataset(DataSource(
        name=f"medmnist-{_name}",
        description=_desc,
        files=(RemoteFile(url=f"{ZENODO}/{_name}.npz?download=1", dest=f"imaging/{_name}/{_name}.npz"),),
        license="CC BY 4.0",
        citation=CITATION,
        notes=[f"official MD5 {_md5} (medmnist INFO); genmed imaging reads it with load_medmnist('{_name}')"],
    ))
