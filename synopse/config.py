"""Settings for every Synopse process, read from ``SYNOPSE_*`` environment variables.

Built once per process by its entry point (:func:`load_settings`), never at import. Defaults work on the
embedded runtime; production points ``SYNOPSE_KAFKA__BOOTSTRAP_SERVERS`` and ``SYNOPSE_DB__DSN`` at real
services. A bad value stops the process with a message naming the variable.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from synopse.errors import ConfigurationError

ENV_PREFIX = "SYNOPSE_"
ENV_NESTED_DELIMITER = "__"


class KafkaSettings(BaseModel):
    """Where the broker is and how topics are created."""

    bootstrap_servers: str | None = Field(
        default=None,
        description="host:port[,host:port]; unset means the embedded broker of `synopse up`.",
    )
    # Six partitions let up to six workers share a topic; facility/station keys keep per-source order.
    partitions: int = Field(default=6, ge=1, le=1000, description="Partitions of topics Synopse creates.")
    replication_factor: int = Field(default=1, ge=1, le=10, description="Replication of created topics.")
    client_id: str = Field(default="synopse", min_length=1)
    topic_prefix: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9._-]*$",
        description="Prepended to every topic name: separates environments sharing one cluster.",
    )

    def topic(self, name: str) -> str:
        """The full name of a Synopse topic on this cluster."""
        return self.topic_prefix + name

    @field_validator("bootstrap_servers")
    @classmethod
    def _check_servers(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        for server in value.split(","):
            host, sep, port = server.strip().rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"expected host:port[,host:port], got {server.strip()!r}")
        return value


class TimescaleMode(StrEnum):
    """Whether to use TimescaleDB: when available, always (fail if absent), or never."""

    AUTO = "auto"
    REQUIRE = "require"
    OFF = "off"


class DatabaseSettings(BaseModel):
    """PostgreSQL / TimescaleDB connection."""

    dsn: SecretStr | None = Field(
        default=None,
        description="libpq connection string or URI; unset means the embedded PostgreSQL of `synopse up`.",
    )
    pool_min_size: int = Field(default=1, ge=0, le=100)
    pool_max_size: int = Field(default=8, ge=1, le=500)
    connect_timeout_s: float = Field(default=10.0, gt=0, le=300)
    timescaledb: TimescaleMode = Field(
        default=TimescaleMode.AUTO, description="auto: use the extension where available; require; off."
    )


class RuntimeSettings(BaseModel):
    """The embedded runtime used when no external broker or database is configured."""

    home: Path = Field(default=Path(".synopse"), description="Folder for embedded data and logs.")
    broker_port: int = Field(default=9092, ge=1, le=65535)
    # 5433, not 5432: a system PostgreSQL commonly holds 5432 already.
    postgres_port: int = Field(default=5433, ge=1, le=65535)


class StreamsSettings(BaseModel):
    """The stream worker."""

    app_id: str = Field(default="synopse-streams", min_length=1, description="Consumer group id.")
    # Up to 1000 events or 0.5 s per database round trip: large enough to amortise the commit,
    # short enough that a dashboard sees a new event within a second.
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    batch_within_s: float = Field(default=0.5, gt=0, le=60)
    web_port: int = Field(default=6066, ge=1, le=65535, description="faust web server (/metrics).")


class SimulatorSettings(BaseModel):
    """The simulated territory fed by `synopse up` (and the defaults of `synopse simulate`)."""

    seed: int = Field(default=44, description="Same seed, same events.")
    scenario: Literal["auto", "summer", "winter"] = Field(
        default="auto", description="summer: heat wave; winter: bronchiolitis and flu; auto: the real season."
    )
    # Two weeks of history: enough for 7-day sums and week-on-week changes on the first screen.
    backfill_days: float = Field(default=14.0, ge=0, le=3660)
    speed: float = Field(default=1.0, gt=0, le=100_000, description="Simulated seconds per real second, live.")


class DashboardSettings(BaseModel):
    """The web front end."""

    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=1, le=65535)
    # Never refresh faster than every 15 s: the data changes at that pace at most, and many viewers
    # polling faster would load the database for nothing.
    refresh_s: int = Field(default=15, ge=15, le=3600)


class Settings(BaseSettings):
    """Every setting of the platform; nested sections map to ``SYNOPSE_<SECTION>__<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        extra="ignore",
        case_sensitive=False,
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    kafka: KafkaSettings = KafkaSettings()
    db: DatabaseSettings = DatabaseSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    streams: StreamsSettings = StreamsSettings()
    dashboard: DashboardSettings = DashboardSettings()
    simulator: SimulatorSettings = SimulatorSettings()

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def bootstrap_servers(self) -> str:
        """The broker to use: the configured one, else the embedded one."""
        return self.kafka.bootstrap_servers or f"127.0.0.1:{self.runtime.broker_port}"

    @property
    def dsn(self) -> str:
        """The database to use: the configured one, else the embedded one."""
        if self.db.dsn is not None:
            return self.db.dsn.get_secret_value()
        return f"postgresql://postgres@127.0.0.1:{self.runtime.postgres_port}/synopse"

    @property
    def uses_embedded_broker(self) -> bool:
        return self.kafka.bootstrap_servers is None

    @property
    def uses_embedded_database(self) -> bool:
        return self.db.dsn is None


def env_name(loc: tuple[int | str, ...]) -> str:
    """The environment variable behind a settings field location, e.g. ``SYNOPSE_DB__DSN``."""
    return ENV_PREFIX + ENV_NESTED_DELIMITER.join(str(part) for part in loc).upper()


def load_settings() -> Settings:
    """Read and validate the settings, or raise ConfigurationError naming each bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = [f"{env_name(error['loc'])}: {error['msg']}" for error in exc.errors()]
        raise ConfigurationError("invalid settings:\n  " + "\n  ".join(problems)) from exc
