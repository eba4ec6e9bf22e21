"""Settings from ``GENMED_*`` environment variables (pydantic-settings), resolved once per process."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Process-wide settings. Every field can be set as ``GENMED_<NAME>`` (e.g. ``GENMED_DATA_DIR``)."""

    model_config = SettingsConfigDict(env_prefix="GENMED_", env_file=None, extra="ignore")

    home: Path = Field(default_factory=lambda: Path.home() / ".genmed", description="genmed's own state")
    data_dir: Path | None = Field(
        default=None, description="external reference data (default: <home>/data); tests point it at shared/data"
    )
    db_url: str | None = Field(default=None, description="SQLAlchemy URL (default: SQLite in <home>)")
    runs_dir: Path = Field(default=Path("runs"), description="where run directories are created")
    log_level: str = "INFO"
    pseudonym_key: str | None = Field(
        default=None, description="secret for keyed pseudonyms in logs (default: a per-install random key)"
    )

    @property
    def resolved_data_dir(self) -> Path:
        return self.data_dir if self.data_dir is not None else self.home / "data"

    @property
    def resolved_db_url(self) -> str:
        return self.db_url or f"sqlite:///{self.home / 'genmed.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests change the environment)."""
    get_settings.cache_clear()
