"""SQLite cache of raw component values keyed by (component signature, canonical SMILES).

Why raw values, not desirabilities: changing a transform or weight in the config must not invalidate hours of
docking. A cached NaN (a molecule the component cannot score) is stored as NULL so it is not recomputed either.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS component_values (
    signature TEXT NOT NULL,
    smiles TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (signature, smiles)
) WITHOUT ROWID;
"""


class ScoreCache:
    """Thread-safe, process-safe (SQLite WAL) cache. ``ScoreCache(":memory:")`` for a throw-away one."""

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
        if self.path != ":memory:":
            self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(SCHEMA)
        self.hits = 0
        self.misses = 0

    def get_many(self, signature: str, smiles: list[str]) -> dict[str, float]:
        """Cached values for those SMILES that have one (NaN for a cached failure)."""
        found: dict[str, float] = {}
        uniq = list(dict.fromkeys(smiles))
        with self._lock:
            for i in range(0, len(uniq), 500):
                chunk = uniq[i : i + 500]
                q = f"SELECT smiles, value FROM component_values WHERE signature=? AND smiles IN ({','.join('?' * len(chunk))})"
                for smi, val in self._conn.execute(q, [signature, *chunk]):
                    found[smi] = np.nan if val is None else float(val)
        self.hits += len(found)
        self.misses += len(uniq) - len(found)
        return found

    def put_many(self, signature: str, values: dict[str, float]) -> None:
        rows = [(signature, s, None if (v is None or np.isnan(v)) else float(v)) for s, v in values.items()]
        if not rows:
            return
        with self._lock, self._conn:
            self._conn.executemany("INSERT OR REPLACE INTO component_values VALUES (?, ?, ?)", rows)

    def __len__(self) -> int:
        with self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM component_values").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def default_cache_path() -> Path:
    from genmed.core.config import get_settings

    return get_settings().home / "cache" / "scoring.sqlite"
