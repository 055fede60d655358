"""The one settings object: environment variables (SHUZHI_*) over shuzhi.toml over defaults.

The core settings are declared here; every domain's section (`settings.exchange`, `settings.jobs`, …)
is declared in the domain's own `settings` module and added through the `settings_sections` hook, the
built-in domains exactly like a plugin. `Settings(...)` is built with every registered section."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ByteSize, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SHUZHI_",
        env_nested_delimiter="__",
        toml_file="shuzhi.toml",
        extra="ignore",
    )

    data_dir: Path = Path("./shuzhi-data")
    storage: Literal["local"] = "local"
    """Where version files and staging areas live ('local': under data_dir; see shuzhi.storage)."""
    database_url: str | None = None
    """SQLAlchemy URL of the metadata store; a SQLite file in data_dir when unset."""
    db_busy_timeout_s: float = Field(5.0, gt=0)
    """Longest wait for the store's write lock (SQLite) before a call fails with 503 busy."""
    secret_key: str | None = None
    """Signs login sessions; generated once into data_dir when unset."""
    host: str = "127.0.0.1"
    port: int = 8000
    default_locale: str = "zh"
    display_timezone: str = "Asia/Shanghai"
    """Time zone the pages show times in (IANA name); stored times and the ledger stay in UTC."""
    session_hours: int = 12
    max_request_bytes: ByteSize = ByteSize(2 * 2**20)
    """Largest request body (checked before it is read: Content-Length, then counted); uploads of
    dataset versions have their own limit, `ingest.max_upload_bytes`."""
    token_days: int = 90
    workers: int = Field(default=1, ge=1)
    """Server processes `shuzhi serve` runs (uvicorn workers); more than one needs PostgreSQL."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Settings:
        # `Settings(...)` anywhere builds the settings with the registered domains' sections: the
        # class with them is made (once per set of sections) by `settings_class`.
        if cls is Settings:
            cls = settings_class()
        return super().__new__(cls)

    @field_validator("display_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from shuzhi.i18n import M_

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                M_("unknown time zone %(zone)r: an IANA name such as Asia/Shanghai", zone=value)
            ) from exc
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = os.environ.get("SHUZHI_CONFIG", "shuzhi.toml")
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )

    # -- derived locations -------------------------------------------------
    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'shuzhi.db').resolve()}"

    @property
    def versions_dir(self) -> Path:
        return self.data_dir / "versions"

    @property
    def staging_dir(self) -> Path:
        return self.data_dir / "staging"

    @property
    def keys_dir(self) -> Path:
        return self.data_dir / "keys"

    def ensure_dirs(self) -> None:
        for d in (self.data_dir, self.versions_dir, self.staging_dir, self.keys_dir):
            d.mkdir(parents=True, exist_ok=True)

    def session_secret(self) -> str:
        """The configured secret, or one generated once and kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        self.ensure_dirs()
        path = self.keys_dir / "session-secret"
        if not path.exists():
            from shuzhi.keyfile import create_once

            create_once(path, secrets.token_urlsafe(48).encode())
        return path.read_text().strip()


def load_settings(**overrides: Any) -> Settings:
    """The settings, or a `ConfigurationError` saying in one paragraph which setting is wrong and where
    it came from (environment or TOML file)."""
    import tomllib

    from pydantic import ValidationError

    from shuzhi.errors import ConfigurationError
    from shuzhi.i18n import M_

    toml_path = os.environ.get("SHUZHI_CONFIG", "shuzhi.toml")
    try:
        return settings_class()(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(
            M_(
                "the settings file is not valid TOML: %(problem)s. File: %(file)s (SHUZHI_CONFIG)",
                problem=exc,
                file=str(Path(toml_path).resolve()),
            ),
            where=toml_path,
            hint=M_("fix the file's syntax"),
        ) from None
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors()[:5])
        more = f" (+{exc.error_count() - 5})" if exc.error_count() > 5 else ""
        raise ConfigurationError(
            M_(
                "invalid settings: %(problems)s%(more)s. Settings come from SHUZHI_* environment "
                "variables and %(file)s if it exists",
                problems=problems,
                more=more,
                file=str(Path(toml_path).resolve()),
            ),
            where=", ".join(sorted({_setting_name(err) for err in exc.errors()})),
            hint=M_("see docs/settings.md"),
        ) from None


def settings_class() -> type[Settings]:
    """`Settings` with the sections the registered domains add through `settings_sections`."""
    from shuzhi.hooks import plugin_manager

    sections: dict[str, type[BaseModel]] = {}
    for found in reversed(plugin_manager().hook.settings_sections()):
        sections.update(found)
    return _with_sections(tuple(sections.items()))


@lru_cache(maxsize=8)
def _with_sections(sections: tuple[tuple[str, type[BaseModel]], ...]) -> type[Settings]:
    if not sections:
        return Settings
    from pydantic import create_model

    from shuzhi.errors import ConfigurationError
    from shuzhi.i18n import M_

    taken = [name for name, _ in sections if name in Settings.model_fields]
    if taken:
        raise ConfigurationError(
            M_(
                "a plugin's settings section has the name of an existing setting: %(names)s",
                names=", ".join(taken),
            ),
            where="settings_sections",
            hint=M_("give the section another name"),
        )
    fields: dict[str, Any] = {name: (model, Field(default_factory=model)) for name, model in sections}
    return create_model("Settings", __base__=Settings, **fields)


def _setting_name(err: dict) -> str:
    return ".".join(str(p) for p in err.get("loc", ())) or "settings"


def _describe(err: dict) -> str:
    name = _setting_name(err)
    env = "SHUZHI_" + "__".join(str(p) for p in err.get("loc", ())).upper()
    value = repr(err.get("input"))
    if len(value) > 80:
        value = value[:77] + "..."
    return f"`{name}` ({env}) = {value}: {err.get('msg', '')}"
