"""Ceiling B of benchmarks/ingest.py: a faust agent that does nothing, configured like the stream worker.

Run by the benchmark as ``python -m benchmarks.noop_worker`` with the worker's settings in the environment,
plus ``SYNOPSE_BENCH_NOOP_SHAPE`` (``iterate``: ``async for`` with faust's own acks; ``take``:
``noack_take`` batches acked by hand, as the ingestion agents read) and ``SYNOPSE_BENCH_NOOP_EXPECTED``
(messages in the backlog). Prints one JSON line with the rate once it has seen them all.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import faust

from streams.app import app_options, shorten_fetch_wait, tune_garbage_collector
from streams.metrics import StreamMetrics, add_metrics_page
from synopse.config import load_settings
from synopse.domain.topics import ENVIRONMENT


def main() -> None:
    settings = load_settings()
    shape = os.environ.get("SYNOPSE_BENCH_NOOP_SHAPE", "iterate")
    expected = int(os.environ["SYNOPSE_BENCH_NOOP_EXPECTED"])
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    shorten_fetch_wait()  # the same consumer settings as the worker's
    app = faust.App(settings.streams.app_id, **app_options(settings))
    add_metrics_page(app, StreamMetrics())
    topic = app.topic(settings.kafka.topic(ENVIRONMENT.name), key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw", partitions=settings.kafka.partitions)
    state: dict[str, Any] = {"n": 0, "first": None, "done": False}

    def seen(count: int) -> None:
        now = time.perf_counter()
        state["n"] += count
        if state["first"] is None:
            state["first"] = (now, state["n"])
        if state["n"] >= expected and not state["done"]:
            state["done"] = True
            first_at, first_n = state["first"]
            print(json.dumps({"rate": (state["n"] - first_n) / (now - first_at), "messages": state["n"]}), flush=True)

    async def noop(stream: Any) -> None:
        if shape == "iterate":
            async for _value in stream:
                seen(1)
        else:
            async for batch in stream.noack_take(settings.streams.batch_size, within=settings.streams.batch_within_s):
                for event in batch:
                    await stream.ack(event)
                seen(len(batch))

    app.agent(topic, name="noop")(noop)
    app.conf.datadir.parent.mkdir(parents=True, exist_ok=True)
    worker = faust.Worker(app, loop=loop, loglevel="WARNING", override_logging=False, quiet=True,
                          redirect_stdouts=False)
    worker.spinner = None
    tune_garbage_collector()  # as the stream worker does
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
