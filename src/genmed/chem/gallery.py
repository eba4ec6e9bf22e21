"""A self-contained HTML gallery of molecules (RDKit SVG depictions + key properties)."""

from __future__ import annotations

import html
from pathlib import Path


def molecule_properties(smiles: str) -> dict:
    from rdkit import Chem
    from rdkit.Chem import QED, Crippen, Descriptors, rdMolDescriptors

    mol = Chem.MolFromSmiles(smiles)
    return {
        "smiles": smiles,
        "mw": round(Descriptors.MolWt(mol), 1),
        "logp": round(Crippen.MolLogP(mol), 2),
        "tpsa": round(rdMolDescriptors.CalcTPSA(mol), 1),
        "hbd": rdMolDescriptors.CalcNumHBD(mol),
        "hba": rdMolDescriptors.CalcNumHBA(mol),
        "qed": round(QED.qed(mol), 3),
    }


def svg(smiles: str, size: int = 220) -> str:
    from rdkit import Chem
    from rdkit.Chem.Draw import rdMolDraw2D

    d = rdMolDraw2D.MolDraw2DSVG(size, size)
    d.DrawMolecule(Chem.MolFromSmiles(smiles))
    d.FinishDrawing()
    text = d.GetDrawingText()
    return text[text.find("<svg"):]


def write_gallery(smiles: list[str], path: Path, title: str = "Molecules sampled from the genmed prior",
                  max_cards: int = 120) -> list[dict]:
    """Write the gallery (first ``max_cards`` drawn; all listed in the returned rows) and return the rows."""
    rows = [molecule_properties(s) for s in smiles]
    cards = "\n".join(
        f'<div class="card">{svg(r["smiles"])}<code>{html.escape(r["smiles"])}</code>'
        f'<span>MW {r["mw"]} · logP {r["logp"]} · TPSA {r["tpsa"]} · QED {r["qed"]}</span></div>'
        for r in rows[:max_cards]
    )
    path.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:2rem}.grid{display:flex;flex-wrap:wrap;gap:12px}"
        ".card{border:1px solid #ddd;border-radius:6px;padding:6px;width:230px;font-size:12px}"
        "code{display:block;word-break:break-all;color:#333}span{color:#555}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{len(rows)} valid molecules; the first {min(max_cards, len(rows))} "
        f"are drawn.</p><div class='grid'>{cards}</div></body></html>"
    )
    return rows
