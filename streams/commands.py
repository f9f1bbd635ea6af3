"""Commands that feed Synopse from outside sources: the MQTT bridge and the open-data replays.

A Typer app for the composition root (``synopse/cli.py`` registers it); heavy imports stay inside the
commands so that ``synopse --help`` stays fast. Each command reads the settings once, shows progress
when it is long, ends with a summary, and turns a SynopseError into a message and a non-zero exit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, cast

import typer

from synopse.commandline import command_settings as _settings
from synopse.commandline import fail as _fail
from synopse.config import Settings
from synopse.errors import SynopseError

if TYPE_CHECKING:
    from synopse.domain.events import Event

RowMapper = Callable[[Mapping[str, str | None]], Sequence["Event"]]
TERRITORY_LEVELS = ("dep", "reg", "com", "fr")

app = typer.Typer(
    help="Feed Synopse from sensors and open data: MQTT bridge, CSV replays.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
replay_app = typer.Typer(help="Replay open-data CSV files into the contract topics.", no_args_is_help=True)
app.add_typer(replay_app, name="replay")

CsvOption = Annotated[
    Path, typer.Option("--csv", exists=True, dir_okay=False, readable=True, help="The CSV file to replay.")
]
OnlyOption = Annotated[
    list[str] | None, typer.Option("--only", help="Keep only rows of this area code (repeatable), e.g. 44.")
]
LimitOption = Annotated[int | None, typer.Option(min=1, help="Stop after this many rows.")]


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values or []:
        name, sep, target = value.partition("=")
        if not sep or not name.strip() or not target.strip():
            _fail(f"{option} expects COLUMN=VALUE, got {value!r}")
        pairs[name.strip()] = target.strip()
    return pairs


@app.command("mqtt-bridge")
def mqtt_bridge(
    topic_filter: Annotated[
        str | None, typer.Option(help="MQTT subscription filter. Default SYNOPSE_MQTT__TOPIC_FILTER (synopse/env/#).")
    ] = None,
) -> None:
    """Bridge environmental sensors from the MQTT broker into the environment topic (until Ctrl-C)."""
    from streams.mqtt_bridge import run_bridge

    settings = _settings()
    mqtt = settings.mqtt if topic_filter is None else settings.mqtt.model_copy(update={"topic_filter": topic_filter})
    typer.echo(
        f"bridging mqtt://{mqtt.host}:{mqtt.port} '{mqtt.topic_filter}' -> "
        f"{settings.kafka.topic('synopse.environment.v1')} (Ctrl-C stops)"
    )
    try:
        stats = run_bridge(mqtt, bootstrap_servers=settings.bootstrap_servers, topic_prefix=settings.kafka.topic_prefix)
    except SynopseError as exc:
        _fail(str(exc), code=1)
    typer.echo(
        f"{stats.messages} MQTT messages forwarded: {stats.observations} observations, "
        f"{stats.dead_lettered} dead-lettered, {stats.send_retries} send retries"
    )


@replay_app.command("spf-hospital")
def replay_spf_hospital(
    csv: CsvOption,
    date_column: Annotated[str, typer.Option(help="Column of the day (SpF's originals: jour).")] = "date",
    territory_column: Annotated[str, typer.Option(help="Column of the area code.")] = "dep",
    level: Annotated[str, typer.Option(help="What the area codes are: dep, reg, com, or fr.")] = "dep",
    only: OnlyOption = None,
    where: Annotated[
        list[str] | None,
        typer.Option(help="Keep only rows where COLUMN=VALUE (repeatable). A `sexe` column defaults to sexe=0."),
    ] = None,
    measure: Annotated[
        list[str] | None,
        typer.Option(help="COLUMN=MEASURE (repeatable), e.g. hosp=hospitalised; default: the SpF columns present."),
    ] = None,
    condition: Annotated[str, typer.Option(help="What the counted stays are for: covid19, ..., or all.")] = "covid19",
    source: Annotated[str, typer.Option(help="Publisher and dataset recorded with each count.")] = "spf-sivic",
    limit: LimitOption = None,
) -> None:
    """Replay a Santé publique France daily hospital file (stocks or new admissions) as daily counts per area."""
    from streams.formats.opendata import (
        SPF_HOSPITAL_MEASURES,
        HospitalColumns,
        TerritoryLevel,
        hospital_row_events,
    )
    from streams.replay import read_header
    from synopse.domain.codes import ReasonCategory
    from synopse.domain.events import HospitalMeasure
    from synopse.domain.topics import HOSPITAL_DAILY

    settings = _settings()
    if level not in TERRITORY_LEVELS:
        _fail(f"--level must be one of {', '.join(TERRITORY_LEVELS)}, got {level!r}")
    conditions = ["all", *(c.value for c in ReasonCategory)]
    if condition not in conditions:
        _fail(f"--condition must be one of {', '.join(conditions)}, got {condition!r}")
    try:
        header = read_header(csv)
        chosen = _pairs(measure, "--measure")
        measures = (
            {column: HospitalMeasure(name) for column, name in chosen.items()}
            if chosen
            else {column: m for column, m in SPF_HOSPITAL_MEASURES.items() if column in header}
        )
    except ValueError:
        _fail(f"--measure: a measure is one of {', '.join(m.value for m in HospitalMeasure)}")
    except SynopseError as exc:
        _fail(str(exc))
    columns = HospitalColumns(
        date=date_column, territory=territory_column, level=cast(TerritoryLevel, level), measures=measures,
        condition="all" if condition == "all" else ReasonCategory(condition), source=source,
    )
    if not measures:
        _fail(f"{csv.name}: no measure column found (SpF columns: {', '.join(SPF_HOSPITAL_MEASURES)}); use --measure")
    filters = _pairs(where, "--where")
    if "sexe" in header and "sexe" not in filters:
        filters["sexe"] = "0"
        typer.echo("keeping rows with sexe=0 (all sexes); --where sexe=1 or 2 for one sex")
    keep = {column: frozenset({value}) for column, value in filters.items()}
    if level != "fr" and only:
        keep[territory_column] = frozenset(only)
    required = [date_column, *([territory_column] if level != "fr" else []), *measures]
    _replay(settings, csv, lambda row: hospital_row_events(row, columns), HOSPITAL_DAILY.name, required, keep, limit)


@replay_app.command("temperature")
def replay_temperature(
    csv: CsvOption,
    date_column: Annotated[str, typer.Option(help="Column of the day.")] = "date",
    territory_column: Annotated[
        str, typer.Option(help="Column of the area code (names the station when --station is not given).")
    ] = "code_insee_departement",
    min_column: Annotated[str, typer.Option(help="Column of the daily minimum (°C).")] = "tmin",
    max_column: Annotated[str, typer.Option(help="Column of the daily maximum (°C).")] = "tmax",
    mean_column: Annotated[str, typer.Option(help="Column of the daily mean (°C).")] = "tmoy",
    station: Annotated[
        str | None, typer.Option(help="Station id of the values; default temperature-dep<area> (an area average).")
    ] = None,
    only: OnlyOption = None,
    limit: LimitOption = None,
) -> None:
    """Replay a daily temperature file as daily minimum, maximum and mean observations."""
    from streams.formats.opendata import TemperatureColumns, temperature_row_events
    from synopse.domain.topics import ENVIRONMENT

    settings = _settings()
    columns = TemperatureColumns(
        date=date_column, territory=territory_column, minimum=min_column, maximum=max_column, mean=mean_column,
        station=station,
    )
    required = [date_column, min_column, max_column, mean_column, *([territory_column] if station is None else [])]
    where = {territory_column: frozenset(only)} if only else {}
    _replay(settings, csv, lambda row: temperature_row_events(row, columns), ENVIRONMENT.name, required, where, limit)


def _replay(
    settings: Settings,
    path: Path,
    mapper: RowMapper,
    topic: str,
    required: list[str],
    where: dict[str, frozenset[str]],
    limit: int | None,
) -> None:
    from streams.replay import check_columns, count_rows, ensure_topics, read_header, replay_csv
    from synopse.producer import EventProducer

    try:
        check_columns(read_header(path), [*required, *where], path)  # before connecting to anything
        total = count_rows(path) if limit is None else min(limit, count_rows(path))
        ensure_topics(
            settings.bootstrap_servers,
            [settings.kafka.topic(topic)],
            partitions=settings.kafka.partitions,
            replication_factor=settings.kafka.replication_factor,
        )
        with (
            EventProducer(
                settings.bootstrap_servers, settings.kafka.topic_prefix, client_id=settings.kafka.client_id + "-replay"
            ) as producer,
            typer.progressbar(length=total, label=f"replaying {path.name}", file=None) as bar,
        ):
            summary = replay_csv(
                path, mapper, producer, required=required, where=where, limit=limit, progress=bar.update
            )
    except SynopseError as exc:
        _fail(str(exc), code=1)
    typer.echo(f"{path.name} -> {settings.kafka.topic(topic)}\n{summary.describe()}")
    if summary.refused:
        raise typer.Exit(1)
