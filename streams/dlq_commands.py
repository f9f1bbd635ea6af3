"""``synopse dlq``: list the dead letters of the input topics, and replay them once their cause is fixed.

Heavy imports (Kafka client, database) happen inside the commands, so ``synopse --help`` stays fast.
"""

from __future__ import annotations

import uuid
from typing import Annotated, NoReturn

import typer

from synopse.commandline import fail
from synopse.errors import SynopseError

dlq_app = typer.Typer(help="Dead letters of the input topics: list them, replay them.", no_args_is_help=True)

TopicOption = Annotated[
    list[str] | None,
    typer.Option("--topic", "-t", help="Input topic (e.g. admissions or synopse.admissions.v1); repeat; default all."),
]
ReasonOption = Annotated[str | None, typer.Option(help="Only records whose reason contains this text.")]
PartitionOption = Annotated[int | None, typer.Option(help="Only this partition of the dead-letter topic.")]
FromOption = Annotated[int | None, typer.Option(help="Only dead-letter offsets from this one.")]
ToOption = Annotated[int | None, typer.Option(help="Only dead-letter offsets up to this one (inclusive).")]


def _fail(message: str, code: int = 1) -> NoReturn:
    """Failures here exit 1 (an operation failed), not 2 (bad usage)."""
    fail(message, code)


@dlq_app.command("list")
def list_command(
    topic: TopicOption = None,
    reason: ReasonOption = None,
    partition: PartitionOption = None,
    from_offset: FromOption = None,
    to_offset: ToOption = None,
    limit: Annotated[int, typer.Option(help="Show at most this many records per topic (the newest).")] = 100,
    show_payload: Annotated[
        bool, typer.Option("--show-payload", help="Also print each record's original bytes (may hold personal data).")
    ] = False,
) -> None:
    """Show the dead letters: where each came from, when, and why it was refused."""
    from streams.dlq import RecordFilter, preview, read_dead_letters, resolve_topics
    from synopse.config import load_settings
    from synopse.logging import configure_logging

    try:
        settings = load_settings()
        configure_logging(settings.log_level, json=settings.log_json)
        specs = resolve_topics(topic or [])
        wanted = RecordFilter(reason, partition, from_offset, to_offset)
        total = shown = 0
        for spec in specs:
            records = [r for r in read_dead_letters(settings, spec) if wanted(r)]
            total += len(records)
            if not records:
                continue
            dlq = settings.kafka.topic(spec.dead_letter)
            typer.secho(f"{dlq}: {len(records)} dead letters", bold=True)
            for record in records[-limit:]:
                shown += 1
                index = f" event #{record.index}" if record.index is not None else ""
                typer.echo(
                    f"  p{record.partition}@{record.offset}  {record.dead_lettered_at or '?'}  "
                    f"from {record.source_topic or '?'} p{record.source_partition}@{record.source_offset}{index}"
                )
                typer.echo(f"      reason: {record.reason or '?'}")
                typer.echo(f"      payload: {preview(record.value)}")
                if show_payload:
                    typer.echo(f"      bytes: {record.value!r}")
    except SynopseError as exc:
        _fail(str(exc))
    typer.echo(f"{total} dead letters in {len(specs)} topics ({shown} shown)")


@dlq_app.command("replay")
def replay_command(
    topic: TopicOption = None,
    reason: ReasonOption = None,
    partition: PartitionOption = None,
    from_offset: FromOption = None,
    to_offset: ToOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be replayed; send nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Also replay records replayed before.")] = False,
) -> None:
    """Send dead letters back to their input topic, original bytes and key, once the cause is fixed.

    Each replayed record is noted in the database, so running the same replay again sends nothing new.
    """
    from streams.dlq import RecordFilter, plan_replay, read_dead_letters, replay_headers, resolve_topics
    from synopse.config import load_settings
    from synopse.db.connection import connect
    from synopse.db.dead_letters import record_replays, replayed_positions
    from synopse.logging import configure_logging
    from synopse.producer import EventProducer

    replay_id = uuid.uuid4().hex[:12]
    replayed = selected = skipped = foreign = 0
    try:
        settings = load_settings()
        configure_logging(settings.log_level, json=settings.log_json)
        specs = resolve_topics(topic or [])
        wanted = RecordFilter(reason, partition, from_offset, to_offset)
        with connect(settings.dsn, connect_timeout_s=settings.db.connect_timeout_s) as conn:
            for spec in specs:
                dlq = settings.kafka.topic(spec.dead_letter)
                source = settings.kafka.topic(spec.name)
                records = [r for r in read_dead_letters(settings, spec) if wanted(r)]
                # Only back to the topic this dead-letter topic belongs to, whatever a header says.
                mismatched = [r for r in records if r.source_topic != source]
                chosen, summary = plan_replay(
                    [r for r in records if r.source_topic == source], replayed_positions(conn, dlq), force=force
                )
                selected += len(records)
                skipped += summary.already_replayed
                foreign += len(mismatched) + summary.without_source
                if not records:
                    continue
                typer.echo(
                    f"{dlq}: {len(records)} selected, {len(chosen)} to replay to {source}"
                    + (f", {summary.already_replayed} already replayed" if summary.already_replayed else "")
                )
                if dry_run or not chosen:
                    continue
                with EventProducer(settings.bootstrap_servers, "", client_id=settings.kafka.client_id + "-replay") as p:
                    for number, record in enumerate(chosen, 1):
                        p.send_raw(source, record.value, key=record.key, headers=replay_headers(record))
                        if number % 1000 == 0:
                            typer.echo(f"  sent {number}/{len(chosen)}")
                    p.flush()
                with conn.transaction():
                    record_replays(conn, replay_id, [(*r.position, source) for r in chosen])
                replayed += len(chosen)
    except SynopseError as exc:
        _fail(str(exc))
    counts = f"of {selected} selected dead letters ({skipped} already replayed, {foreign} with another source)"
    if dry_run:
        typer.echo(f"would replay {selected - skipped - foreign} {counts}")
    else:
        typer.echo(f"replayed {replayed} {counts}; replay id {replay_id}")
