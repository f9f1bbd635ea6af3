"""The access secret (HMAC key of CSRF tokens): the configured one, else one kept under the runtime home.

Every dashboard worker must use the same secret, or a page served by one worker is refused by another. With
an external database (several machines, gunicorn workers) it must therefore be configured; on the embedded
runtime (one machine) it is generated once into ``<runtime.home>/access-signing.key`` (mode 0600) and reused.
The children of ``synopse up`` receive the embedded database's DSN in ``SYNOPSE_DB__DSN``: a DSN equal to
the embedded runtime's own counts as the embedded runtime (:func:`uses_embedded_runtime`).
"""

from __future__ import annotations

from synopse.config import Settings, runtime_secret

SECRET_FILE = "access-signing.key"  # noqa: S105 - a file name, not a secret
# As for the pseudonymisation key: 32 characters at least cannot be guessed offline.
MIN_SECRET_CHARS = 32


def uses_embedded_runtime(settings: Settings) -> bool:
    """True on the embedded runtime: no DSN configured, or the one `synopse up` hands to its children."""
    embedded = f"postgresql://postgres@127.0.0.1:{settings.runtime.postgres_port}/synopse"
    return settings.uses_embedded_database or settings.dsn == embedded


def access_secret(settings: Settings) -> bytes:
    """The secret as bytes.

    Raises:
        ConfigurationError: Not configured with an external database, too short, or the key file is unusable.
    """
    return runtime_secret(
        settings.access.signing_key,
        variable="SYNOPSE_ACCESS__SIGNING_KEY",
        filename=SECRET_FILE,
        embedded=uses_embedded_runtime(settings),
        home=settings.runtime.home,
        min_chars=MIN_SECRET_CHARS,
    )
