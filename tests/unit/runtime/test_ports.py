"""Port helpers against real loopback sockets."""

import socket
import time

import pytest

from synopse.runtime.ports import (
    PortInUseError,
    ensure_port_free,
    find_free_port,
    is_port_free,
    is_port_open,
    wait_for_port,
)


@pytest.fixture
def listener():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_find_free_port_returns_a_bindable_port():
    port = find_free_port()
    assert is_port_free("127.0.0.1", port)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_ensure_port_free_names_the_port_the_service_and_the_way_out(listener):
    with pytest.raises(PortInUseError) as info:
        ensure_port_free("127.0.0.1", listener, "the embedded Kafka broker", hint="set SYNOPSE_X")
    assert str(info.value) == (
        f"port {listener} on 127.0.0.1 is already in use (needed for the embedded Kafka broker); set SYNOPSE_X"
    )
    assert (info.value.host, info.value.port) == ("127.0.0.1", listener)
    assert isinstance(info.value, RuntimeError)


def test_a_listener_on_all_interfaces_also_blocks_loopback():
    with socket.socket() as sock:
        sock.bind(("0.0.0.0", 0))  # noqa: S104 - the case under test
        sock.listen()
        port = sock.getsockname()[1]
        assert not is_port_free("127.0.0.1", port)


def test_ensure_port_free_accepts_a_free_port():
    ensure_port_free("127.0.0.1", find_free_port(), "anything")


def test_wait_for_port_returns_once_something_listens(listener):
    assert is_port_open("127.0.0.1", listener)
    wait_for_port("127.0.0.1", listener, timeout_s=1)


def test_wait_for_port_times_out_with_a_clear_message():
    port = find_free_port()
    started = time.monotonic()
    with pytest.raises(TimeoutError, match=rf"nothing accepted TCP connections on 127.0.0.1:{port} within 0.3 s"):
        wait_for_port("127.0.0.1", port, timeout_s=0.3)
    assert time.monotonic() - started < 2
