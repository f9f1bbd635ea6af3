"""Fixtures of the input-format tests: a real MQTT broker (Mosquitto) and Debian's kcat.

The machine's Mosquitto on 127.0.0.1:1883 is used when it answers; otherwise one is started for the
session on a free port and stopped after it. Nothing is skipped: a missing binary fails with the
command that installs it.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from synopse.runtime.ports import find_free_port

SYSTEM_MQTT = ("127.0.0.1", 1883)
# Mosquitto binds in milliseconds; 10 s is for a loaded CI machine.
MQTT_START_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class MqttBroker:
    host: str
    port: int


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def mqtt_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MqttBroker]:
    """A real MQTT broker: the machine's Mosquitto, else one of our own for the session."""
    if _answers(*SYSTEM_MQTT):
        yield MqttBroker(*SYSTEM_MQTT)
        return
    binary = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None)
    if binary is None:
        pytest.fail("mosquitto is not installed: apt-get install -y mosquitto")
    port = find_free_port()
    folder = tmp_path_factory.mktemp("mosquitto")
    config = folder / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n", encoding="utf-8")
    log = (folder / "mosquitto.log").open("wb")
    process = subprocess.Popen([binary, "-c", str(config)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + MQTT_START_TIMEOUT_S
        while not _answers("127.0.0.1", port):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"mosquitto did not start: {(folder / 'mosquitto.log').read_text(errors='replace')}")
            time.sleep(0.05)
        yield MqttBroker("127.0.0.1", port)
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture(scope="session")
def kcat() -> str:
    """Path of Debian's kcat, the Kafka client written by others that produces to our topics."""
    path = shutil.which("kcat")
    if path is None:
        pytest.fail("kcat is not installed: apt-get install -y kcat")
    return path
