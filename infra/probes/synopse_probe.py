#!/usr/bin/env python3
"""Container health probes of the Synopse services: exit 0 when healthy, else 1 with the reason on stdout.

Docker healthchecks and Kubernetes exec probes run it inside the Synopse image, where it is installed as
``/usr/local/bin/synopse-probe``. Standard library only: a probe costs a bare Python start (~30 ms of CPU), not
the platform's imports. It reads only what the services already publish:

    synopse-probe http URL            any 2xx answer within the timeout (dashboard and alerts ``/health``)
    synopse-probe worker started      the stream worker's web server answers ``/metrics``; it opens after the
                                      topics exist and the database pool is open, so "answers" means "up"
    synopse-probe worker ready        started, and no topic is paused waiting for an unavailable database
    synopse-probe worker live         answers, and no topic has lag on a partition this worker holds while it
                                      has stored nothing for --stall-after seconds: the worker stopped consuming

A worker with nothing to read (no lag, or no partition assigned because replicas outnumber partitions) is live:
idle is not stuck. A topic paused on a database outage does not fail liveness: the worker retries by itself, and
a restart would only add a rebalance; it fails readiness instead, which holds a rolling update back.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field

# Within a probe's own time budget (Kubernetes timeoutSeconds 5): a healthy page answers in milliseconds; one
# that takes seconds means a blocked event loop, which is exactly what the probe must catch.
DEFAULT_TIMEOUT_S = 3.0
# Three minutes without storing while lag waits: far above a batch window (0.5 s), a slow batch under load
# (seconds) and a rebalance (6 s session timeout), short enough that a stuck feed is restarted quickly.
DEFAULT_STALL_AFTER_S = 180.0
DEFAULT_WEB_PORT = 6066  # SYNOPSE_STREAMS__WEB_PORT's default

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)")
_LABEL = re.compile(r'(?P<key>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>(?:[^"\\]|\\.)*)"')


@dataclass
class WorkerState:
    """What a worker's ``/metrics`` page says about its consumption."""

    assigned_partitions: int = 0
    lag: dict[str, float] = field(default_factory=dict)  # topic -> messages not yet committed, held partitions
    paused: set[str] = field(default_factory=set)  # topics waiting for the database
    last_batch: dict[str, float] = field(default_factory=dict)  # topic -> Unix time of the last stored batch


def parse_metrics(text: str) -> WorkerState:
    """Read the worker's gauges from the Prometheus text format (other families are ignored)."""
    state = WorkerState()
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:  # comments (# HELP, # TYPE) and blank lines
            continue
        labels = {m["key"]: m["value"] for m in _LABEL.finditer(match["labels"] or "")}
        name, topic = match["name"], labels.get("topic", "")
        try:
            value = float(match["value"])
        except ValueError:
            continue
        if name == "synopse_stream_assigned_partitions":
            state.assigned_partitions = int(value)
        elif name == "synopse_stream_consumer_lag":
            state.lag[topic] = state.lag.get(topic, 0.0) + value
        elif name == "synopse_stream_paused" and value >= 1:
            state.paused.add(topic)
        elif name == "synopse_stream_last_batch_timestamp_seconds":
            state.last_batch[topic] = value
    return state


def stalled_topics(state: WorkerState, *, now: float, stall_after_s: float, up_since: float | None) -> list[str]:
    """Topics with lag on a held partition and no stored batch for ``stall_after_s`` (paused topics excepted).

    Args:
        state: The worker's gauges.
        now: The current Unix time (the worker stamps its batches with the same clock: same container).
        stall_after_s: How long lag may wait without a stored batch.
        up_since: When the container started (Unix time); a topic that never stored a batch is not stalled
            before ``stall_after_s`` has passed since then. None: unknown, treated as long ago.
    """
    if state.assigned_partitions == 0:
        return []
    stalled = []
    for topic, lag in sorted(state.lag.items()):
        if lag <= 0 or topic in state.paused:
            continue
        since = state.last_batch.get(topic, up_since)
        if since is None or now - since > stall_after_s:
            stalled.append(topic)
    return stalled


def container_started_at() -> float | None:
    """When PID 1 of this container (its init) started, as Unix time; None where /proc does not tell."""
    try:
        with open("/proc/uptime", encoding="ascii") as uptime, open("/proc/1/stat", encoding="ascii") as stat:
            system_up_s = float(uptime.read().split()[0])
            # Field 22 (starttime, in clock ticks since boot) counts after the command name, which may hold spaces.
            start_ticks = float(stat.read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None
    return time.time() - system_up_s + start_ticks / os.sysconf("SC_CLK_TCK")


def fetch(url: str, timeout_s: float) -> str:
    """The body of a 2xx answer; raises OSError (URLError, HTTPError, timeout) otherwise."""
    with urllib.request.urlopen(url, timeout=timeout_s) as response:  # noqa: S310 - a local http URL
        return str(response.read().decode("utf-8", errors="replace"))


def check_http(url: str, timeout_s: float) -> tuple[bool, str]:
    try:
        fetch(url, timeout_s)
    except OSError as exc:
        return False, f"{url}: {exc}"
    return True, f"{url}: ok"


def check_worker(
    mode: str, url: str, timeout_s: float, stall_after_s: float, up_since: float | None
) -> tuple[bool, str]:
    try:
        text = fetch(url, timeout_s)
    except OSError as exc:
        return False, f"stream worker not answering at {url}: {exc}"
    state = parse_metrics(text)
    summary = f"{state.assigned_partitions} partitions held, lag {sum(state.lag.values()):.0f}"
    if mode == "started":
        return True, f"stream worker up: {summary}"
    if mode == "ready":
        if state.paused:
            return False, f"paused on the database: {', '.join(sorted(state.paused))} ({summary})"
        return True, f"stream worker ready: {summary}"
    stalled = stalled_topics(state, now=time.time(), stall_after_s=stall_after_s, up_since=up_since)
    if stalled:
        return False, f"stopped consuming for over {stall_after_s:.0f} s with lag: {', '.join(stalled)} ({summary})"
    return True, f"stream worker consuming: {summary}"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="synopse-probe", description="Health probes of the Synopse services.")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds to wait for an answer")
    commands = parser.add_subparsers(dest="command", required=True)
    http = commands.add_parser("http", help="a URL answers 2xx")
    http.add_argument("url")
    worker = commands.add_parser("worker", help="the stream worker, from its /metrics page")
    worker.add_argument("mode", choices=["started", "ready", "live"])
    port = os.environ.get("SYNOPSE_STREAMS__WEB_PORT", str(DEFAULT_WEB_PORT))
    worker.add_argument("--url", default=f"http://127.0.0.1:{port}/metrics", help="the worker's metrics page")
    worker.add_argument("--stall-after", type=float, default=DEFAULT_STALL_AFTER_S, help="seconds (live)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "http":
        healthy, message = check_http(args.url, args.timeout)
    else:
        healthy, message = check_worker(args.mode, args.url, args.timeout, args.stall_after, container_started_at())
    sys.stdout.write(message + "\n")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
