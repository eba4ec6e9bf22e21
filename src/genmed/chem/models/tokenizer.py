"""SMILES tokenizer for the chemical language model.

Tokens: bracket atoms (``[nH]``, ``[C@@H]``) are one token, two-letter organic-subset halogens (``Cl``, ``Br``)
are one token, ring-closure numbers above 9 are written ``%nn`` and are one token. Three special tokens frame
every sequence: ``<pad>`` (index 0), ``^`` (begin) and ``$`` (end).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

SMILES_TOKEN_PATTERN = re.compile(
    r"(\[[^\]]+]|Br|Cl|N|O|S|P|F|I|B|C|H|b|c|n|o|s|p|\(|\)|\.|=|#|-|\+|\\|/|:|~|@|\?|>|\*|\$|%\d{2}|\d)"
)

PAD, BOS, EOS, UNK = "<pad>", "^", "$", "<unk>"
SPECIAL_TOKENS = (PAD, BOS, EOS, UNK)


class TokenizationError(ValueError):
    """A SMILES string contains characters the tokenizer cannot split."""


def tokenize(smiles: str) -> list[str]:
    """Split a SMILES string into tokens; raise :class:`TokenizationError` if characters are left over."""
    tokens = SMILES_TOKEN_PATTERN.findall(smiles)
    if "".join(tokens) != smiles:
        raise TokenizationError(f"cannot tokenize SMILES {smiles!r}")
    return tokens


@dataclass
class Vocabulary:
    """Token <-> index mapping. Index 0 is padding, then begin/end/unknown, then the data's tokens sorted."""

    tokens: list[str] = field(default_factory=lambda: list(SPECIAL_TOKENS))

    def __post_init__(self) -> None:
        self.index = {t: i for i, t in enumerate(self.tokens)}

    @classmethod
    def build(cls, smiles: Iterable[str]) -> Vocabulary:
        counts: Counter[str] = Counter()
        for s in smiles:
            counts.update(tokenize(s))
        return cls(list(SPECIAL_TOKENS) + sorted(t for t in counts if t not in SPECIAL_TOKENS))

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def pad_id(self) -> int:
        return self.index[PAD]

    @property
    def bos_id(self) -> int:
        return self.index[BOS]

    @property
    def eos_id(self) -> int:
        return self.index[EOS]

    @property
    def unk_id(self) -> int:
        return self.index[UNK]

    def encode(self, smiles: str) -> list[int]:
        """``^ tokens $`` as indices; unknown tokens map to ``<unk>``."""
        unk = self.unk_id
        return [self.bos_id, *(self.index.get(t, unk) for t in tokenize(smiles)), self.eos_id]

    def has_unknown(self, smiles: str) -> bool:
        try:
            return any(t not in self.index for t in tokenize(smiles))
        except TokenizationError:
            return True

    def decode(self, ids: Sequence[int]) -> str:
        """Indices back to SMILES, stopping at the end token and skipping begin/padding."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i in (self.bos_id, self.pad_id):
                continue
            out.append(self.tokens[i])
        return "".join(out)

    def to_json(self) -> str:
        return json.dumps(self.tokens)

    @classmethod
    def from_json(cls, text: str) -> Vocabulary:
        return cls(json.loads(text))
