"""Kafka client keyword arguments for TLS and SASL from ``KafkaSettings``: the one place knowing each client's names.

Synopse talks to Kafka through three libraries that spell the same security options differently:

- kafka-python (``KafkaProducer``, ``KafkaConsumer``, ``KafkaAdminClient``): ``security_protocol``, ``ssl_context``,
  ``ssl_check_hostname``, ``sasl_mechanism``, ``sasl_plain_username``, ``sasl_plain_password``;
- aiokafka (``AIOKafkaProducer``, ``AIOKafkaConsumer``, ``AIOKafkaAdminClient``): the same SASL names, but TLS only
  through ``ssl_context`` (no CA-file options) and the context is mandatory with ``SSL`` and ``SASL_SSL``;
- faust (``faust.App``): one ``broker_credentials`` object, ``faust.SSLCredentials`` or ``faust.SASLCredentials``,
  which faust turns into aiokafka's arguments itself.

Every client gets the same ``ssl.SSLContext``: certificate and host name always verified, TLS 1.2 at least, the
configured CA bundle (else the system's), and the client certificate for mutual TLS. kafka-python could build its
own context from file paths, but its default one accepts TLS versions and verification modes we do not want.

Nothing here connects; building a context reads the certificate files. Merge the result into a constructor's
arguments: ``KafkaProducer(bootstrap_servers=..., **kafka_python_options(settings.kafka))``.
"""

from __future__ import annotations

import ssl
from typing import Any

from synopse.config import ENV_NESTED_DELIMITER, ENV_PREFIX, KafkaSettings
from synopse.errors import ConfigurationError

TLS_PROTOCOLS = frozenset({"SSL", "SASL_SSL"})
SASL_PROTOCOLS = frozenset({"SASL_PLAINTEXT", "SASL_SSL"})
_ENV = ENV_PREFIX + "KAFKA" + ENV_NESTED_DELIMITER


def ssl_context(kafka: KafkaSettings) -> ssl.SSLContext | None:
    """The TLS context for the brokers, or None when the protocol does not use TLS.

    Raises:
        ConfigurationError: A certificate, key or CA file is missing or unreadable, or the key password is wrong.
    """
    if kafka.security_protocol not in TLS_PROTOCOLS:
        return None
    cafile = str(kafka.ssl_cafile) if kafka.ssl_cafile is not None else None
    try:
        # SERVER_AUTH: verify the broker (CERT_REQUIRED, host name checked); Python 3.10+ refuses below TLS 1.2.
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigurationError(f"{_ENV}SSL_CAFILE: cannot load CA bundle {cafile}: {exc}") from exc
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if kafka.ssl_certfile is not None and kafka.ssl_keyfile is not None:
        password = kafka.ssl_key_password.get_secret_value() if kafka.ssl_key_password is not None else None
        try:
            context.load_cert_chain(str(kafka.ssl_certfile), str(kafka.ssl_keyfile), password=password)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigurationError(
                f"{_ENV}SSL_CERTFILE/{_ENV}SSL_KEYFILE: cannot load client certificate {kafka.ssl_certfile}: {exc}"
            ) from exc
    return context


def _sasl(kafka: KafkaSettings) -> dict[str, Any]:
    if kafka.security_protocol not in SASL_PROTOCOLS:
        return {}
    password = kafka.sasl_password.get_secret_value() if kafka.sasl_password is not None else None
    return {
        "sasl_mechanism": kafka.sasl_mechanism,
        "sasl_plain_username": kafka.sasl_username,
        "sasl_plain_password": password,
    }


def kafka_python_options(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for kafka-python's ``KafkaProducer``, ``KafkaConsumer`` and ``KafkaAdminClient``."""
    options: dict[str, Any] = {"security_protocol": kafka.security_protocol}
    context = ssl_context(kafka)
    if context is not None:
        # With ssl_context given, kafka-python ignores its ssl_cafile/certfile/keyfile options.
        options.update(ssl_context=context, ssl_check_hostname=True)
    options.update(_sasl(kafka))
    return options


def aiokafka_options(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for aiokafka's ``AIOKafkaProducer``, ``AIOKafkaConsumer`` and ``AIOKafkaAdminClient``."""
    options: dict[str, Any] = {"security_protocol": kafka.security_protocol}
    context = ssl_context(kafka)
    if context is not None:
        options["ssl_context"] = context
    options.update(_sasl(kafka))
    return options


def faust_options(kafka: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for ``faust.App`` (``broker_credentials``); empty for PLAINTEXT, faust's default."""
    if kafka.security_protocol == "PLAINTEXT":
        return {}
    import faust  # deferred: faust is heavy, and only the stream worker needs it

    context = ssl_context(kafka)
    if kafka.security_protocol in SASL_PROTOCOLS:
        sasl = _sasl(kafka)
        credentials: Any = faust.SASLCredentials(
            username=sasl["sasl_plain_username"],
            password=sasl["sasl_plain_password"],
            ssl_context=context,  # with a context faust says SASL_SSL, without it SASL_PLAINTEXT
            mechanism=kafka.sasl_mechanism,
        )
    else:
        credentials = faust.SSLCredentials(context)
    return {"broker_credentials": credentials}
