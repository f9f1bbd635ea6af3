"""Settings for every Synopse process, read from ``SYNOPSE_*`` environment variables.

Built once per process by its entry point (:func:`load_settings`), never at import. Defaults work on the
embedded runtime; production points ``SYNOPSE_KAFKA__BOOTSTRAP_SERVERS`` and ``SYNOPSE_DB__DSN`` at real
services. A bad value stops the process with a message naming the variable.
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.sources import NestedSecretsSettingsSource

from synopse.errors import ConfigurationError

ENV_PREFIX = "SYNOPSE_"
ENV_NESTED_DELIMITER = "__"
_KAFKA_ENV = ENV_PREFIX + "KAFKA" + ENV_NESTED_DELIMITER
# Where Docker and Compose mount secrets; Kubernetes mounts a Secret volume wherever SYNOPSE_SECRETS_DIR says.
DEFAULT_SECRETS_DIR = Path("/run/secrets")
SECRETS_DIR_ENV = ENV_PREFIX + "SECRETS_DIR"
# See PrivacySettings.pseudonymisation_key.
MIN_PSEUDONYMISATION_KEY_CHARS = 32
PSEUDONYMISATION_KEY_FILE = "pseudonymisation.key"


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
    # Production clusters speak TLS and authenticate clients with SASL/SCRAM; synopse.kafka_options turns these
    # into each client library's keyword arguments. Secrets come from the environment or mounted files.
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="PLAINTEXT, SSL (TLS), SASL_PLAINTEXT or SASL_SSL (SASL over TLS)."
    )
    sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN"] = Field(
        default="SCRAM-SHA-512", description="SASL mechanism, used with the SASL_* protocols."
    )
    sasl_username: str | None = Field(default=None, description="SASL user, required with the SASL_* protocols.")
    sasl_password: SecretStr | None = Field(default=None, description="SASL password (secret).")
    ssl_cafile: Path | None = Field(
        default=None, description="PEM bundle of the CAs that sign the brokers' certificates; unset: system CAs."
    )
    ssl_certfile: Path | None = Field(default=None, description="PEM client certificate (mutual TLS).")
    ssl_keyfile: Path | None = Field(default=None, description="PEM private key of the client certificate.")
    ssl_key_password: SecretStr | None = Field(default=None, description="Password of ssl_keyfile (secret).")

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

    @model_validator(mode="after")
    def _check_security(self) -> KafkaSettings:
        names = _KAFKA_ENV
        uses_tls = self.security_protocol in ("SSL", "SASL_SSL")
        if self.security_protocol != "PLAINTEXT" and self.bootstrap_servers is None:
            raise ValueError(
                f"{names}SECURITY_PROTOCOL={self.security_protocol} needs {names}BOOTSTRAP_SERVERS: "
                "the embedded broker speaks PLAINTEXT only"
            )
        if self.security_protocol.startswith("SASL_") and (self.sasl_username is None or self.sasl_password is None):
            raise ValueError(
                f"{names}SASL_USERNAME and {names}SASL_PASSWORD are required with {self.security_protocol}"
            )
        tls_files = {"SSL_CAFILE": self.ssl_cafile, "SSL_CERTFILE": self.ssl_certfile, "SSL_KEYFILE": self.ssl_keyfile}
        given = [name for name, value in tls_files.items() if value is not None]
        if given and not uses_tls:
            # A CA file with PLAINTEXT is a forgotten protocol, not a wish to send health data in clear.
            raise ValueError(f"{names}{given[0]} is set but {names}SECURITY_PROTOCOL is {self.security_protocol}")
        if (self.ssl_certfile is None) != (self.ssl_keyfile is None):
            raise ValueError(f"{names}SSL_CERTFILE and {names}SSL_KEYFILE go together (mutual TLS)")
        return self


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
    # Up to 1000 messages or 0.2 s per batch: large enough to amortise the commit (a full batch of
    # envelopes is stored in slices of ~5000 events), short enough that a live event is queryable well
    # within a second (p99 under 0.4 s at 2,000 events/s: benchmarks/RESULTS.md).
    batch_size: int = Field(default=1000, ge=1, le=100_000)
    batch_within_s: float = Field(default=0.2, gt=0, le=60)
    web_port: int = Field(default=6066, ge=1, le=65535, description="faust web server (/metrics).")
    # Lag, late-event refreshes and live-table upkeep every 10 s: fresh enough for a dashboard refreshed
    # every 15 s, and a few cheap queries per worker.
    health_interval_s: float = Field(default=10.0, ge=1, le=3600)
    # A clean stop takes a second or two; with the broker or the database gone, faust's own stop can wait
    # forever. Past this, the process exits anyway: nothing is lost (unacked batches are redelivered).
    stop_timeout_s: float = Field(default=30.0, ge=1, le=3600, description="Longest clean stop on SIGTERM/SIGINT.")


class SimulatorSettings(BaseModel):
    """The simulated territory fed by `synopse up` (and the defaults of `synopse simulate`)."""

    seed: int = Field(default=44, description="Same seed, same events.")
    scenario: Literal["auto", "summer", "winter"] = Field(
        default="auto", description="summer: heat wave; winter: bronchiolitis and flu; auto: the real season."
    )
    # 13 weeks of history (~70 s to generate and store on 2 cores): the forecasting model's first run on the
    # demo is calibrated (6 weeks before an origin + 7 weekly origins), not the baseline's.
    backfill_days: float = Field(default=91.0, ge=0, le=3660)
    speed: float = Field(default=1.0, gt=0, le=100_000, description="Simulated seconds per real second, live.")


class DashboardSettings(BaseModel):
    """The web front end."""

    host: str = "127.0.0.1"
    port: int = Field(default=8050, ge=1, le=65535)
    # Never refresh faster than every 15 s: the data changes at that pace at most, and many viewers
    # polling faster would load the database for nothing.
    refresh_s: int = Field(default=15, ge=15, le=3600)
    # The language of a user who has not chosen one (the switch in the page header, remembered in a cookie).
    language: Literal["fr", "en"] = "fr"


class PrivacySettings(BaseModel):
    """Privacy rules: pseudonymisation at ingestion, and the one disclosure rule of every partner-facing output
    (dashboards, downloads, the API, alert payloads and the CAP feed)."""

    # French health-data publications commonly forbid cells describing fewer than about 10 people; OpenSAFELY
    # rounds every published count to the nearest 5. One setting for every output, so they never drift apart.
    small_count_threshold: int = Field(default=10, ge=1, le=1000)
    rounding_base: int = Field(default=5, ge=1, le=100)

    # 32 characters at least: an HMAC key of that length (e.g. `openssl rand -hex 32` gives 64) cannot be
    # guessed offline from known pairs of identifier and pseudonym.
    pseudonymisation_key: SecretStr | None = Field(
        default=None,
        description="HMAC-SHA256 key of patient pseudonyms; unset: a key kept in <runtime.home> (embedded only).",
    )

    @field_validator("pseudonymisation_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().strip()) < MIN_PSEUDONYMISATION_KEY_CHARS:
            raise ValueError(f"must be at least {MIN_PSEUDONYMISATION_KEY_CHARS} characters")
        return value


class MqttSettings(BaseModel):
    """The MQTT broker of the environmental sensors, bridged into the environment topic."""

    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=1883, ge=1, le=65535)
    topic_filter: str = Field(default="synopse/env/#", min_length=1, description="MQTT subscription filter.")
    # A fixed client id and a persistent session: the broker keeps the QoS 1 messages that arrive while the
    # bridge is away and delivers them when it comes back under the same id.
    client_id: str = Field(default="synopse-mqtt-bridge", min_length=1, max_length=128)
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = Field(default=False, description="TLS with the system's certificate authorities (port 8883 then).")
    # One day: a bridge down over a night or a weekend's first day loses nothing; past that the broker
    # drops the session and its queue rather than holding memory for a bridge that is gone.
    session_expiry_s: int = Field(default=86_400, ge=0, le=30 * 86_400)


class AlertSettings(BaseModel):
    """The alerts service: rule evaluation, notification delivery and the CAP feed."""

    rules_path: Path | None = Field(
        default=None, description="YAML rule file loaded at start; unset: the default rules shipped in alerts/."
    )
    # Time-driven rules (freshness, forecasts, pipeline) need a clock tick; data-driven ones are also
    # evaluated as soon as the store announces new data (LISTEN/NOTIFY). 15 s matches the dashboard refresh.
    evaluation_interval_s: float = Field(default=15.0, ge=1, le=3600)
    # New data arriving in a burst is evaluated once per this interval at most: a live batch every 0.5 s
    # from the stream worker would otherwise keep an evaluation always running.
    live_debounce_s: float = Field(default=0.2, ge=0, le=60)
    host: str = Field(default="127.0.0.1", description="Address of the CAP feed and health page.")
    port: int = Field(default=8060, ge=1, le=65535)
    public_url: str | None = Field(default=None, description="Base URL of the CAP feed as partners reach it.")
    topic: str = Field(default="synopse.alerts.v1", min_length=1, description="Kafka topic of state changes.")
    sender: str = Field(default="synopse@nantes-metropole.fr", min_length=1, description="CAP <sender>.")
    # A receiver that does not answer in 5 s is treated as failed; the retry comes later.
    http_timeout_s: float = Field(default=5.0, gt=0, le=120)
    # 12 attempts with backoff from 1 s doubling to 5 min: about 20 minutes of retries before "dead".
    max_attempts: int = Field(default=12, ge=1, le=100)
    backoff_initial_s: float = Field(default=1.0, gt=0, le=3600)
    backoff_max_s: float = Field(default=300.0, gt=0, le=86_400)
    # Five failures in a row open a subscriber's circuit for a minute: its queue waits without attempts.
    breaker_threshold: int = Field(default=5, ge=1, le=1000)
    breaker_cooldown_s: float = Field(default=60.0, ge=0, le=86_400)
    # At most 4 attempts in flight per subscriber: a slow receiver never holds the others' slots.
    max_in_flight_per_subscriber: int = Field(default=4, ge=1, le=100)
    smtp_host: str = Field(default="127.0.0.1", min_length=1)
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = Field(default="alertes@synopse.local", min_length=3)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False


class AccessSettings(BaseModel):
    """Accounts, sessions, API tokens and the disclosure control of partners' views (dashboard and API)."""

    # 32 characters at least, as for the pseudonymisation key: an HMAC key that cannot be guessed offline.
    signing_key: SecretStr | None = Field(
        default=None,
        description="HMAC key of CSRF tokens; unset: a key kept in <runtime.home> (embedded only).",
    )
    bootstrap_admin_password: SecretStr | None = Field(
        default=None, description="Password of the `admin` account created when no administrator exists."
    )
    # Secure cookies are only sent over HTTPS: on by default they would lock everyone out of the embedded
    # runtime's http://127.0.0.1; production behind TLS sets it.
    secure_cookies: bool = Field(default=False, description="Session cookies only over HTTPS (production).")
    cookie_samesite: Literal["Lax", "Strict"] = "Lax"
    # A shift: a session ends 12 h after login whatever happens; 60 min without any request ends it earlier
    # (an open dashboard refreshes every 15 s, so only a closed one goes idle).
    session_lifetime_h: float = Field(default=12.0, gt=0, le=24 * 30)
    session_idle_min: float = Field(default=60.0, gt=0, le=24 * 60)
    # Five wrong passwords in 15 minutes lock an account for the rest of the window; twenty from one address
    # lock the address (several users may share an office's address).
    login_max_failures: int = Field(default=5, ge=1, le=1000)
    login_max_failures_per_ip: int = Field(default=20, ge=1, le=100_000)
    login_window_min: float = Field(default=15.0, gt=0, le=24 * 60)
    proxy_hops: int = Field(
        default=0, ge=0, le=5, description="Reverse proxies in front whose X-Forwarded-For is trusted (client IP)."
    )


class ForecastSettings(BaseModel):
    """The forecasting job (`synopse forecast run`) and its scheduler (`synopse forecast schedule`)."""

    # The scheduler looks for a new complete day of data every 30 minutes (a day's data completes at local
    # midnight; half an hour later is soon enough for a daily forecast).
    schedule_interval_min: float = Field(default=30.0, ge=1, le=24 * 60)
    # Without a new day, forecasts are still refreshed every 6 hours: late and corrected events of the
    # previous days get in.
    refresh_hours: float = Field(default=6.0, gt=0, le=24 * 7)
    horizon_days: int = Field(default=28, ge=1, le=90, description="Days ahead forecast (1 to 4 weeks: 28).")
    workers: int | None = Field(default=None, ge=1, le=256, description="Fitting processes; unset: every core.")
    # A series normally takes well under a second (up to 9 Prophet fits on its first run); 60 s means it
    # hangs or diverges: it gets the simple model and the run goes on.
    series_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    # 400 days: Prophet's window (120 days) plus the weekly calibration origins of a new series, and a year
    # of environmental data for the climatology that stands for future weather.
    history_days: int = Field(default=400, ge=14, le=3660)
    min_history_days: int = Field(default=42, ge=14, le=730, description="History the main model needs.")
    calibration_origins: int = Field(default=104, ge=4, le=520, description="Weekly past origins calibrating.")
    backfill_origins: int = Field(default=8, ge=0, le=52, description="Past origins fitted when none are stored.")
    backfill_per_run: int = Field(default=3, ge=1, le=52, description="Of those, at most this many a run.")
    prophet_window_days: int = Field(default=120, ge=28, le=3660)
    changepoint_prior_scale: float = Field(default=0.5, gt=0, le=50)
    trend_damping: float = Field(default=0.9, gt=0, le=1, description="Daily damping of the trend's slope.")
    holidays_country: str = Field(default="FR", min_length=2, description="Public holidays (`holidays` code).")
    regressors: str = Field(
        default="temperature_max,pm10_mean",
        description="Environmental regressors, comma-separated; empty: none.",
    )
    # Health effects follow heat by 0-3 days and air pollution by 0-2 days (DOMAIN.md).
    heat_lag_days: int = Field(default=2, ge=0, le=14)
    pollution_lag_days: int = Field(default=1, ge=0, le=14)
    # Occupancy cannot grow without bound: 120 % of staffed beds is about what a hospital's crisis plan can
    # open in extra beds. The forecast is capped there; the capacity projection compares with 100 %.
    occupancy_bound_ratio: float = Field(default=1.2, ge=1, le=3)
    saturation_probability: float = Field(default=0.5, gt=0, lt=1, description="P(exceed) that dates saturation.")
    score_origins: int = Field(default=8, ge=0, le=104, description="Past origins scored after each run.")
    retention_days: int = Field(default=35, ge=1, le=3660, description="Days runs and their forecasts are kept.")

    @field_validator("regressors")
    @classmethod
    def _known_regressors(cls, value: str) -> str:
        known = ("temperature_max", "temperature_mean", "pm10_mean", "pm2_5_mean", "o3_max")
        for name in (part.strip() for part in value.split(",") if part.strip()):
            if name not in known:
                raise ValueError(f"unknown regressor {name!r} (known: {', '.join(known)})")
        return value

    @property
    def regressor_names(self) -> list[str]:
        return [part.strip() for part in self.regressors.split(",") if part.strip()]


class Settings(BaseSettings):
    """Every setting of the platform; nested sections map to ``SYNOPSE_<SECTION>__<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        extra="ignore",
        case_sensitive=False,
        # Secret files named like the variables (SYNOPSE_DB__DSN, ...); the environment wins over a file.
        secrets_dir=DEFAULT_SECRETS_DIR,
        secrets_dir_missing="ok",
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False
    kafka: KafkaSettings = KafkaSettings()
    db: DatabaseSettings = DatabaseSettings()
    runtime: RuntimeSettings = RuntimeSettings()
    streams: StreamsSettings = StreamsSettings()
    dashboard: DashboardSettings = DashboardSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    privacy: PrivacySettings = PrivacySettings()
    mqtt: MqttSettings = MqttSettings()
    alerts: AlertSettings = AlertSettings()
    access: AccessSettings = AccessSettings()
    forecast: ForecastSettings = ForecastSettings()
    secrets_dir: Path = Field(
        default=DEFAULT_SECRETS_DIR, description="Secret files named like the variables.", repr=False
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Environment first, then secret files (nested names like ``SYNOPSE_DB__DSN``) in ``SYNOPSE_SECRETS_DIR``."""
        secrets = NestedSecretsSettingsSource(file_secret_settings, secrets_dir=os.environ.get(SECRETS_DIR_ENV) or None)
        return init_settings, env_settings, dotenv_settings, secrets

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


def runtime_secret(
    configured: SecretStr | None,
    *,
    variable: str,
    filename: str,
    embedded: bool,
    home: Path,
    min_chars: int,
) -> bytes:
    """A secret key: the configured one, else (embedded runtime only) one generated once and kept on disk.

    Every process of one deployment must share the key (pseudonyms that link, CSRF tokens every dashboard
    worker accepts). On the embedded runtime, one machine, it is generated into ``home/filename`` (mode
    0600) and reused across restarts; with external services it must be configured, since a generated one
    would differ per machine.

    Raises:
        ConfigurationError: Not configured outside the embedded runtime, too short, or the file is unusable.
    """
    if configured is not None:
        value = configured.get_secret_value().strip()
        if len(value) < min_chars:
            raise ConfigurationError(f"{variable}: must be at least {min_chars} characters")
        return value.encode()
    if not embedded:
        raise ConfigurationError(
            f"{variable} must be set when SYNOPSE_DB__DSN is (every process of one deployment needs the same "
            f"one; at least {min_chars} characters, e.g. `openssl rand -hex 32`)"
        )
    path = home / filename
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once never write two different keys; the loser reads the winner's.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigurationError(f"cannot create the key file {path}: {exc}") from exc
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    try:
        if path.stat().st_mode & 0o077:
            raise ConfigurationError(f"{path} is readable by other users: `chmod 600 {path}`")
        value = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the key file {path}: {exc}") from exc
    if len(value) < min_chars:
        raise ConfigurationError(f"{path} holds a key shorter than {min_chars} characters")
    return value.encode()


def pseudonymisation_key(settings: Settings) -> bytes:
    """The key of patient pseudonyms (``SYNOPSE_PRIVACY__PSEUDONYMISATION_KEY``, else kept in the runtime home).

    Rotating it breaks the linkage of re-admissions across the rotation.
    """
    return runtime_secret(
        settings.privacy.pseudonymisation_key,
        variable="SYNOPSE_PRIVACY__PSEUDONYMISATION_KEY",
        filename=PSEUDONYMISATION_KEY_FILE,
        embedded=settings.uses_embedded_database,
        home=settings.runtime.home,
        min_chars=MIN_PSEUDONYMISATION_KEY_CHARS,
    )
