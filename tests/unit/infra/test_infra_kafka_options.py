"""Kafka TLS and SASL settings become the right keyword arguments for kafka-python, aiokafka and faust.

The certificates are made by `openssl` for each test session (a CA, a broker certificate for localhost and an
encrypted client key), so no key is ever stored in the repository. The arguments are checked against the real
clients: their accepted option names, kafka-python's connection object, aiokafka's constructors, and faust's own
conversion of its credentials into aiokafka's arguments. A TLS handshake against a local server proves the context
verifies the broker's certificate and host name.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from synopse.config import KafkaSettings, load_settings
from synopse.errors import ConfigurationError
from synopse.kafka_options import aiokafka_options, faust_options, kafka_python_options, ssl_context

KEY_PASSWORD = "client-key-password"  # noqa: S105 - a throwaway key made per test session


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca.crt, broker.crt/key (CN and SAN localhost) and client.crt/key (key encrypted), signed by the CA."""
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=Synopse test CA", cwd=d)
    for name, extra in (("broker", "subjectAltName=DNS:localhost"), ("client", "extendedKeyUsage=clientAuth")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={'localhost' if name == 'broker' else 'synopse-client'}", cwd=d)
        (d / f"{name}.ext").write_text(extra + "\n")
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                 "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext", cwd=d)
    _openssl("pkey", "-in", "client.key", "-out", "client.enc.key", "-aes256", "-passout", f"pass:{KEY_PASSWORD}",
             cwd=d)
    return d


def _sasl_ssl(pki: Path, **changes: Any) -> KafkaSettings:
    values: dict[str, Any] = dict(
        bootstrap_servers="localhost:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="synopse-worker",
        sasl_password=SecretStr("scram-secret"),
        ssl_cafile=pki / "ca.crt",
    )
    values.update(changes)
    return KafkaSettings(**values)


def test_plaintext_adds_nothing_but_the_protocol() -> None:
    kafka = KafkaSettings()
    assert kafka_python_options(kafka) == {"security_protocol": "PLAINTEXT"}
    assert aiokafka_options(kafka) == {"security_protocol": "PLAINTEXT"}
    assert faust_options(kafka) == {}
    assert ssl_context(kafka) is None


def test_sasl_ssl_scram_maps_to_each_client(pki: Path) -> None:
    kafka = _sasl_ssl(pki)
    for options in (kafka_python_options(kafka), aiokafka_options(kafka)):
        assert options["security_protocol"] == "SASL_SSL"
        assert options["sasl_mechanism"] == "SCRAM-SHA-512"
        assert options["sasl_plain_username"] == "synopse-worker"
        assert options["sasl_plain_password"] == "scram-secret"  # noqa: S105 - test value
        context = options["ssl_context"]
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
        assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
        assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "Synopse test CA"),),)]
    assert kafka_python_options(kafka)["ssl_check_hostname"] is True


def test_sasl_without_tls_sends_no_context() -> None:
    kafka = KafkaSettings(
        bootstrap_servers="kafka:9092", security_protocol="SASL_PLAINTEXT", sasl_mechanism="SCRAM-SHA-256",
        sasl_username="u", sasl_password=SecretStr("p"),
    )
    options = aiokafka_options(kafka)
    assert "ssl_context" not in options and options["sasl_mechanism"] == "SCRAM-SHA-256"


def test_option_names_are_the_ones_each_client_accepts(pki: Path) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

    kafka = _sasl_ssl(pki, ssl_certfile=pki / "client.crt", ssl_keyfile=pki / "client.enc.key",
                      ssl_key_password=SecretStr(KEY_PASSWORD))
    for client in (KafkaProducer, KafkaConsumer, KafkaAdminClient):
        assert set(kafka_python_options(kafka)) <= set(client.DEFAULT_CONFIG), client.__name__
    for aio in (AIOKafkaProducer, AIOKafkaConsumer, AIOKafkaAdminClient):
        assert set(aiokafka_options(kafka)) <= set(inspect.signature(aio).parameters), aio.__name__


def test_kafka_python_accepts_the_options() -> None:
    from kafka.conn import BrokerConnection

    # SCRAM over plain TCP: kafka-python checks the mechanism and credentials when the connection object is made.
    kafka = KafkaSettings(
        bootstrap_servers="kafka:9092", security_protocol="SASL_PLAINTEXT", sasl_username="u",
        sasl_password=SecretStr("p"),
    )
    connection = BrokerConnection("127.0.0.1", 9, socket.AF_INET, **kafka_python_options(kafka))
    assert connection.config["sasl_mechanism"] == "SCRAM-SHA-512"
    connection.close()


def test_aiokafka_clients_accept_the_options(pki: Path) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    async def build() -> list[Any]:
        options = aiokafka_options(_sasl_ssl(pki))
        clients = [AIOKafkaProducer(bootstrap_servers="localhost:9093", **options),
                   AIOKafkaConsumer(bootstrap_servers="localhost:9093", **options)]
        # Constructed, never started: nothing connects.
        producer, consumer = clients
        return [producer.client._security_protocol, consumer._client._security_protocol]

    assert asyncio.run(build()) == ["SASL_SSL", "SASL_SSL"]


def test_faust_turns_its_credentials_into_the_same_aiokafka_arguments(pki: Path) -> None:
    import faust
    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    for kafka in (_sasl_ssl(pki), _sasl_ssl(pki, security_protocol="SSL", sasl_username=None, sasl_password=None)):
        app = faust.App("synopse-options-test", broker="kafka://localhost:9093", **faust_options(kafka))
        from_faust = dict(credentials_to_aiokafka_auth(app.conf.broker_credentials, app.conf.ssl_context))
        ours = aiokafka_options(kafka)
        assert from_faust.pop("ssl_context").get_ca_certs() == ours.pop("ssl_context").get_ca_certs()
        assert from_faust == ours


def test_a_missing_ca_file_names_its_variable(tmp_path: Path) -> None:
    kafka = KafkaSettings(bootstrap_servers="k:9093", security_protocol="SSL", ssl_cafile=tmp_path / "absent.crt")
    with pytest.raises(ConfigurationError, match="SYNOPSE_KAFKA__SSL_CAFILE"):
        aiokafka_options(kafka)


def test_a_wrong_key_password_names_the_client_certificate(pki: Path) -> None:
    kafka = _sasl_ssl(pki, ssl_certfile=pki / "client.crt", ssl_keyfile=pki / "client.enc.key",
                      ssl_key_password=SecretStr("wrong"))
    with pytest.raises(ConfigurationError, match="SYNOPSE_KAFKA__SSL_CERTFILE"):
        kafka_python_options(kafka)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SYNOPSE_KAFKA__SECURITY_PROTOCOL": "SASL_SSL"}, "BOOTSTRAP_SERVERS"),
        ({"SYNOPSE_KAFKA__BOOTSTRAP_SERVERS": "k:9093", "SYNOPSE_KAFKA__SECURITY_PROTOCOL": "SASL_SSL",
          "SYNOPSE_KAFKA__SASL_USERNAME": "u"}, "SYNOPSE_KAFKA__SASL_PASSWORD"),
        ({"SYNOPSE_KAFKA__BOOTSTRAP_SERVERS": "k:9092", "SYNOPSE_KAFKA__SSL_CAFILE": "/ca.crt"},
         "SYNOPSE_KAFKA__SSL_CAFILE is set but SYNOPSE_KAFKA__SECURITY_PROTOCOL is PLAINTEXT"),
        ({"SYNOPSE_KAFKA__BOOTSTRAP_SERVERS": "k:9093", "SYNOPSE_KAFKA__SECURITY_PROTOCOL": "SSL",
          "SYNOPSE_KAFKA__SSL_CERTFILE": "/c.crt"}, "go together"),
        ({"SYNOPSE_KAFKA__SASL_MECHANISM": "SCRAM-SHA-1"}, "SYNOPSE_KAFKA__SASL_MECHANISM"),
    ],
)
def test_an_incoherent_security_setting_stops_with_its_name(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=message):
        load_settings()


def test_secrets_come_from_mounted_files_and_the_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The layout of a Kubernetes Secret volume: files are links into a hidden, timestamped folder.
    data = tmp_path / "..2026_11_29"
    data.mkdir()
    (data / "SYNOPSE_DB__DSN").write_text("postgresql://synopse:from-file@db/synopse\n")
    (data / "SYNOPSE_KAFKA__SASL_PASSWORD").write_text("scram-from-file\n")
    (tmp_path / "..data").symlink_to(data.name)
    for name in ("SYNOPSE_DB__DSN", "SYNOPSE_KAFKA__SASL_PASSWORD"):
        (tmp_path / name).symlink_to(f"..data/{name}")
    monkeypatch.setenv("SYNOPSE_SECRETS_DIR", str(tmp_path))
    monkeypatch.setenv("SYNOPSE_KAFKA__BOOTSTRAP_SERVERS", "kafka-1:9093")
    monkeypatch.setenv("SYNOPSE_KAFKA__SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("SYNOPSE_KAFKA__SASL_USERNAME", "synopse")
    monkeypatch.delenv("SYNOPSE_DB__DSN", raising=False)
    settings = load_settings()
    assert settings.dsn == "postgresql://synopse:from-file@db/synopse"  # trailing newline stripped
    assert settings.kafka.sasl_password is not None
    assert settings.kafka.sasl_password.get_secret_value() == "scram-from-file"
    assert settings.kafka.bootstrap_servers == "kafka-1:9093"  # the environment and files merge per field
    assert "from-file" not in repr(settings)
    monkeypatch.setenv("SYNOPSE_DB__DSN", "postgresql://synopse:from-env@db/synopse")
    assert load_settings().dsn.endswith(":from-env@db/synopse")


@pytest.fixture
def tls_server(pki: Path) -> Iterator[int]:
    """A TLS server on 127.0.0.1 presenting the broker certificate (CN localhost); completes one handshake each."""
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(str(pki / "broker.crt"), str(pki / "broker.key"))
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            try:
                with server_context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    listener.close()
    thread.join(5)


def _handshake(context: ssl.SSLContext, port: int, host: str) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock, context.wrap_socket(
        sock, server_hostname=host
    ):
        pass


def test_the_context_verifies_the_broker_certificate_and_host_name(pki: Path, tls_server: int) -> None:
    context = ssl_context(_sasl_ssl(pki))
    assert context is not None
    _handshake(context, tls_server, "localhost")
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        _handshake(context, tls_server, "kafka-1.example.org")
    system_only = ssl_context(_sasl_ssl(pki, ssl_cafile=None))  # the system CAs do not know our test CA
    assert system_only is not None
    with pytest.raises(ssl.SSLCertVerificationError):
        _handshake(system_only, tls_server, "localhost")
