"""A TCP relay between kcat and the embedded broker that drops the optional tags of the ApiVersions answer.

Why: Debian 12's kcat is built on librdkafka 2.0.2, whose parser of tagged fields misreads the
ApiVersions v3 answer of the embedded broker (Tansu 0.6), which writes all four optional tags of that
answer, defaults included (SupportedFeatures, FinalizedFeaturesEpoch -1, FinalizedFeatures,
ZkMigrationReady); kcat then gives up with "Read underflow". Apache Kafka omits tags left at their
default, so against a production cluster kcat needs no relay. The relay rewrites only that first answer
(tags removed, size fixed); every other byte, produce and fetch included, passes through untouched.
The broker it relays to advertises the relay's address, so the client's broker connections use it too.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from types import TracebackType

API_VERSIONS_KEY = 18
FLEXIBLE_API_VERSIONS = 3


def _read_uvarint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, at
        shift += 7


def strip_api_versions_tags(frame: bytes) -> bytes:
    """An ApiVersions v3 answer (size-prefixed) without its trailing tagged fields."""
    error_code = struct.unpack(">h", frame[8:10])[0]
    if error_code != 0:
        return frame
    count, at = _read_uvarint(frame, 10)
    for _ in range(max(0, count - 1)):  # compact array: N + 1; each entry: key, min, max (int16) and its tags
        at += 6
        tags, at = _read_uvarint(frame, at)
        if tags:
            return frame  # not the shape we rewrite: leave it alone
    at += 4  # throttle_time_ms
    body = frame[4:at] + b"\x00"  # no tagged fields
    return struct.pack(">i", len(body)) + body


class KcatRelay:
    """Listens on ``port`` and relays each connection to ``upstream``; a context manager.

    The broker behind must advertise the relay's address, so that every connection of the client
    (bootstrap and broker connections alike) goes through it.
    """

    def __init__(self, port: int, upstream: tuple[str, int]) -> None:
        self._upstream = upstream
        self._server = socket.create_server(("127.0.0.1", port))
        self.bootstrap = f"127.0.0.1:{port}"
        self._thread = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> KcatRelay:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self._upstream)
            except OSError:  # the broker is not up (yet): the client sees a closed connection and retries
                client.close()
                continue
            rewrite: dict[int, bool] = {}  # correlation id -> answer to rewrite (an ApiVersions v3 request)
            threading.Thread(target=self._requests, args=(client, upstream, rewrite), daemon=True).start()
            threading.Thread(target=self._answers, args=(upstream, client, rewrite), daemon=True).start()

    @staticmethod
    def _frames(source: socket.socket) -> Iterator[bytes]:
        buffer = b""
        while data := source.recv(65536):
            buffer += data
            while len(buffer) >= 4 and len(buffer) >= 4 + struct.unpack(">i", buffer[:4])[0]:
                size = 4 + struct.unpack(">i", buffer[:4])[0]
                yield buffer[:size]
                buffer = buffer[size:]

    @classmethod
    def _requests(cls, source: socket.socket, target: socket.socket, rewrite: dict[int, bool]) -> None:
        try:
            for frame in cls._frames(source):
                key, version, correlation = struct.unpack(">hhi", frame[4:12])
                if key == API_VERSIONS_KEY and version == FLEXIBLE_API_VERSIONS:
                    rewrite[correlation] = True
                target.sendall(frame)
        except OSError:
            pass
        finally:
            _close(source, target)

    @classmethod
    def _answers(cls, source: socket.socket, target: socket.socket, rewrite: dict[int, bool]) -> None:
        try:
            for frame in cls._frames(source):
                correlation = struct.unpack(">i", frame[4:8])[0]
                target.sendall(strip_api_versions_tags(frame) if rewrite.pop(correlation, False) else frame)
        except OSError:
            pass
        finally:
            _close(source, target)


def _close(*ends: socket.socket) -> None:
    for end in ends:
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
