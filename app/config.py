"""Settings, read once from the environment (and a ``.env`` file).

The variables are the public configuration of ``spec/interfaces.md``; every field
here is documented in the README's configuration table (a test checks it).
Settings are read here and in the adapters only, then passed down as arguments.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    database_url: str = Field(default="sqlite:///./era-recon.db", alias="DATABASE_URL")
    contracts_path: Path = Field(default=Path("./contracts"), alias="ERA_RECON_CONTRACTS")
    max_upload_mb: int = Field(default=50, ge=1, alias="ERA_RECON_MAX_UPLOAD_MB")
    validate_inline_lines: int = Field(default=2000, ge=0, alias="ERA_RECON_VALIDATE_INLINE_LINES")
    secret_key: str | None = Field(default=None, alias="ERA_RECON_SECRET_KEY")
    secure_cookies: bool = Field(default=True, alias="ERA_RECON_SECURE_COOKIES")
    log_level: str = Field(default="INFO", alias="ERA_RECON_LOG_LEVEL")
    # worker processes sharing the listening socket: set by ``serve --workers``
    workers: int = Field(default=1, ge=1, alias="ERA_RECON_WORKERS")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
