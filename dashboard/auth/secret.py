"""The access secret (HMAC key of CSRF tokens): the configured one, else one kept under the runtime home.

Every dashboard worker must use the same secret, or a page served by one worker is refused by another. With
an external database (several machines, gunicorn workers) it must therefore be configured; on the embedded
runtime (one machine) it is generated once into ``<runtime.home>/access-signing.key`` (mode 0600) and reused.
The children of ``synopse up`` receive the embedded database's DSN in ``SYNOPSE_DB__DSN``: a DSN equal to
the embedded runtime's own counts as the embedded runtime (:func:`uses_embedded_runtime`).
"""

from __future__ import annotations

import os
import secrets

from synopse.config import Settings
from synopse.errors import ConfigurationError

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
    configured = settings.access.signing_key
    if configured is not None:
        value = configured.get_secret_value().strip()
        if len(value) < MIN_SECRET_CHARS:
            raise ConfigurationError(f"SYNOPSE_ACCESS__SIGNING_KEY: must be at least {MIN_SECRET_CHARS} characters")
        return value.encode()
    if not uses_embedded_runtime(settings):
        raise ConfigurationError(
            "SYNOPSE_ACCESS__SIGNING_KEY must be set when SYNOPSE_DB__DSN is (every dashboard worker needs the same "
            f"one; at least {MIN_SECRET_CHARS} characters, e.g. `openssl rand -hex 32`)"
        )
    path = settings.runtime.home / SECRET_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_EXCL: two processes starting at once never write two different secrets; the loser reads the winner's.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise ConfigurationError(f"cannot create the access secret file {path}: {exc}") from exc
    else:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
    try:
        if path.stat().st_mode & 0o077:
            raise ConfigurationError(f"{path} is readable by other users: `chmod 600 {path}`")
        value = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the access secret file {path}: {exc}") from exc
    if len(value) < MIN_SECRET_CHARS:
        raise ConfigurationError(f"{path} holds a secret shorter than {MIN_SECRET_CHARS} characters")
    return value.encode()
