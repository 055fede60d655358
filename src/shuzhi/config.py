"""The one settings object: environment variables (SHUZHI_*) over shuzhi.toml over defaults."""

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


class IngestSettings(BaseModel):
    max_upload_bytes: int = 2 * 1024**3
    """Largest file accepted by ingest (CLI and API)."""
    batch_rows: int = 262_144
    """Rows per Arrow batch while converting a file to Parquet."""
    sql_connect_timeout_s: int = 10
    http_timeout_s: float = 60.0
    """Seconds to wait for an http(s) source to connect or send the next bytes."""
    allowed_source_hosts: list[str] = Field(default_factory=list)
    """Hosts (names, `*.suffix`, IP addresses or networks) an http(s) or database source may reach
    although they resolve to a loopback, private, link-local or other non-public address."""
    memory_limit: str = "1GB"
    """DuckDB's working memory while converting; beyond it DuckDB spills to the staging directory."""
    verify_interval_s: float = Field(default=86_400.0, ge=0)
    """How often the server re-hashes every version file against its stored SHA-256 and marks the
    damaged ones (0: never; `shuzhi verify-data` does it on demand)."""
    workbook_max_xml_bytes: ByteSize = ByteSize(512 * 2**20)
    """Largest a workbook's worksheets and shared strings may expand to (as its zip declares, checked
    while inflating before the sheet is parsed): the parser holds a whole sheet in memory."""
    workbook_max_cells: int = Field(default=10_000_000, ge=1)
    """Most cells (rows × columns of the sheet's used range) a workbook sheet may have."""
    workbook_max_rows: int = Field(default=1_048_576, ge=1)
    """Most rows a workbook sheet may have (Excel's own limit by default)."""
    max_decompressed_bytes: ByteSize = ByteSize(16 * 2**30)
    """Largest uncompressed size a Parquet upload may declare in its footer (its row groups)."""
    sweep_interval_s: float = Field(default=900, ge=0)
    """Seconds between the server's sweeps of ingest leftovers (staging areas of dead ingests,
    orphan version files); the server also sweeps at start. 0: at start only."""
    orphan_grace_s: float = Field(default=3600, gt=0)
    """A version file no version row points to is removed by a sweep once it is this old."""


class ClassifySettings(BaseModel):
    sample_rows: int = 10_000
    """Rows sampled per column for grading; a column with fewer rows is read whole."""
    rules_file: Path | None = None
    """A deployment's grading rules (YAML); the shipped defaults when unset."""
    detectors_file: Path | None = None
    """A deployment's declared detectors (YAML), added to the built-in ones."""
    important_data_min_persons: int = 1_000_000
    min_sensitive_values: int = Field(5, ge=1)
    """Valid values (check digit passed) of a personal category that grade a column at least as that
    category, flag it for review and raise an alert, however small their share of the column."""


class ExchangeSettings(BaseModel):
    review_working_days: int = 10
    """Working days a provider has to decide a submitted request."""
    holiday_calendar: str = "cn"
    """'cn': mainland public holidays and adjusted working weekends (chinese-calendar); 'none': weekends only."""
    holidays_file: Path | None = None
    """Extra days, one per line: `2026-10-09` (a holiday) or `2026-10-10 workday` (an adjusted working day)."""
    query_timeout_s: float = 30.0
    query_memory_limit: str = "2GB"
    """DuckDB's own memory limit in a query worker (its buffer manager: joins, sorts, aggregates)."""
    query_process_memory: ByteSize = ByteSize(6 * 2**30)
    """Cap on a query worker's address space (RLIMIT_AS): any allocation past it fails, including
    values DuckDB's memory limit does not count. The engine itself takes about 2.5 GB of it."""
    query_engine: Literal["workers", "in-process"] = "workers"
    """What runs governed queries (`shuzhi.engine.interface`): 'workers', child processes under an
    OS memory cap, shared fairly; 'in-process', the server's own DuckDB (no memory cap, no fair
    queue: for embedded use and tests)."""
    query_workers: int = 4
    """Query worker processes at most (governed queries running at once); idle ones stay warm."""
    queries_per_user: int = Field(default=2, ge=1)
    """Governed queries one user may run at once; as many more wait their turn, further ones get 429."""
    queries_per_department: int = Field(default=3, ge=1)
    """Governed queries one department's users may run at once; more wait their turn."""
    queue_wait_s: float = Field(default=20.0, gt=0)
    """Longest wait for a query worker; past it the query is refused with 503 and Retry-After."""
    stream_idle_timeout_s: float = Field(default=10.0, gt=0)
    """A reader that has not taken the next batch of a result within this many seconds (a stalled
    or departed client) loses its worker, whatever is left of the query's own time limit."""
    max_response_bytes: ByteSize = ByteSize(128 * 2**20)
    """Size cap of one governed SQL answer (any format) and of a JSON page of rows, besides the row cap."""
    query_reader: Literal["auto", "arrow"] = "auto"
    """'auto': a worker the kernel confines against every file write (Landlock, seccomp) reads
    versions with DuckDB's own Parquet reader, others as Arrow datasets with no file path granted;
    'arrow': always the latter."""
    query_max_rows: int = 100_000
    """Row cap of one governed SQL result (the SQL endpoint and workbench)."""
    query_max_chars: int = 50_000
    """Longest governed SQL text; a longer one is refused (and audited) before it is parsed."""
    query_max_depth: int = 256
    """Deepest nesting of a governed query's parsed tree (a plain query is 10–20 deep); a deeper
    one is refused (and audited) before any rule runs."""
    page_max_rows: int = 10_000
    """Largest page of the rows endpoint in JSON."""
    workbench_rows: int = Field(default=500, ge=1)
    """Rows the SQL workbench page shows of a result: the query is capped there (a download has them all)."""
    console_rows: int = Field(default=200, ge=1)
    """Rows `shuzhi exchange sql` prints of a result: the query is capped there (`--out` writes them all)."""
    export_timeout_s: float = 600.0
    """Time limit of a streamed export (rows endpoint in CSV/Parquet/Arrow, bulk export)."""
    default_grant_days: int = 365
    expire_interval_s: float = Field(default=60.0, ge=0)
    """Seconds between the job that marks approved requests whose grants have all run out as
    expired (reads refuse an expired grant at once either way); 0: only `shuzhi exchange expire`."""


class LedgerSettings(BaseModel):
    signing_key_path: Path | None = None
    """Ed25519 private key (PEM); defaults to <data_dir>/keys/ledger-ed25519.pem."""
    sth_interval_s: float = 3600
    """Seconds between the server's signed tree heads (fractions allowed); 0 turns the timer off."""


class JobsSettings(BaseModel):
    runner: Literal["inprocess", "redis"] = "inprocess"
    """Where background jobs run: 'inprocess' on threads of the server (no broker needed), or
    'redis' on `shuzhi worker` processes fed through the Redis broker at `broker_url`."""
    broker_url: str = "redis://127.0.0.1:6379/0"
    """Redis URL of the broker runner."""
    namespace: str = Field(default="shuzhi", min_length=1, max_length=100)
    """Prefix of every Redis key the broker runner uses (deployments sharing one Redis differ in it)."""
    threads: int = Field(default=2, ge=1, le=64)
    """Jobs one process runs at once (the server's in-process runner, or one `shuzhi worker`)."""
    heartbeat_s: float = Field(default=10.0, gt=0)
    """Seconds between a running job's heartbeats (progress is stored with them); a run whose worker
    missed six is taken to have died and goes to a worker again, which retries or fails it."""
    keep_days: float = Field(default=30.0, gt=0)
    """Days an ended job run stays listed before it is forgotten."""


class AuthSettings(BaseModel):
    max_failures_per_account: int = Field(default=5, ge=1)
    """Wrong passwords for one username within `failure_window_s` before it is locked out."""
    max_failures_per_address: int = Field(default=50, ge=1)
    """Wrong passwords from one client address (any usernames) within the window before it is locked out."""
    failure_window_s: float = Field(default=900, gt=0)
    """Seconds over which failures are counted; a quiet window also forgets earlier lockouts."""
    lockout_s: float = Field(default=60, gt=0)
    """Length of a first lockout; each further lockout doubles it."""
    max_lockout_s: float = Field(default=3600, gt=0)
    """Longest lockout; a steward of the user's department or an admin can lift one sooner."""
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    """Session cookies marked Secure: 'auto' when the request came over https, or always, or never."""


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
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    classify: ClassifySettings = Field(default_factory=ClassifySettings)
    exchange: ExchangeSettings = Field(default_factory=ExchangeSettings)
    ledger: LedgerSettings = Field(default_factory=LedgerSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    jobs: JobsSettings = Field(default_factory=JobsSettings)

    @field_validator("display_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"未知时区 {value!r} (unknown time zone; an IANA name such as Asia/Shanghai)"
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

    toml_path = os.environ.get("SHUZHI_CONFIG", "shuzhi.toml")
    try:
        return settings_class()(**overrides)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(
            f"设置文件不是有效的 TOML (the settings file is not valid TOML): {exc}. "
            f"文件 file: {Path(toml_path).resolve()} (SHUZHI_CONFIG)",
            where=toml_path,
            hint="修正该文件的语法 / fix the file's syntax",
        ) from None
    except ValidationError as exc:
        problems = "; ".join(_describe(err) for err in exc.errors()[:5])
        more = f" (+{exc.error_count() - 5})" if exc.error_count() > 5 else ""
        raise ConfigurationError(
            f"设置有误 (invalid settings): {problems}{more}. 设置来自环境变量 SHUZHI_*"
            f"与 {Path(toml_path).resolve()}（如存在）(settings come from SHUZHI_* environment "
            f"variables and {Path(toml_path).resolve()} if it exists)",
            where=", ".join(sorted({_setting_name(err) for err in exc.errors()})),
            hint="见 docs/settings.md / see docs/settings.md",
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

    taken = [name for name, _ in sections if name in Settings.model_fields]
    if taken:
        raise ConfigurationError(
            f"插件的设置节与已有设置重名 (a plugin's settings section has the name of an existing setting): "
            f"{', '.join(taken)}",
            where="settings_sections",
            hint="给该设置节另取一个名字 / give the section another name",
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
