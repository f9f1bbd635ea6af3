"""Downloads and the JSON API: what a user (or a token) may see, as CSV or JSON, at stable "latest" URLs.

Routes (GET; a session cookie or ``Authorization: Bearer <token>``, checked by the guard before they run):

- ``/api/v1/indicators/facilities/latest.{json,csv}``: each facility of the scope on the last complete day;
- ``/api/v1/indicators/facilities/daily.{json,csv}?days=N``: the last N complete days (1 to 92);
- ``/api/v1/indicators/communes/latest.{json,csv}``: residents' counts per commune, last complete ISO week;
- ``/api/v1/indicators/environment/latest.{json,csv}``: the latest value of each shared indicator;
- ``/api/v1/me.json``: who the credentials are, and how their data is published.

Every count goes through the same disclosure layer as the screens (exact for the crisis cell): a value, or an
empty value with the status ``suppressed``/``unavailable`` in the column beside it, never a number standing
for it. Each answer carries the data's time (``data_time``, also the ``X-Synopse-Data-Time`` header). A
partner's every download is written to the audit log in the transaction that reads the data.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from flask import Blueprint, Flask, Response, jsonify, request
from psycopg_pool import ConnectionPool, PoolTimeout

from dashboard.auth.guard import client_ip, current_principal
from dashboard.shared_data import MAX_DAYS, POOL_WAIT_S, last_complete_day, last_complete_week
from synopse.db.access import record_audit
from synopse.db.indicators import (
    commune_week,
    facility_beds,
    facility_days,
    latest_data_time,
    latest_environment,
    set_statement_timeout,
)
from synopse.domain.access import AuditEntry, Principal
from synopse.domain.disclosure import DisclosurePolicy, Published, publish_count, published_rate
from synopse.domain.indicators import PER_INHABITANTS
from synopse.errors import ServiceUnavailableError

PREFIX = "/api/v1"
FORMATS = ("json", "csv")

Rows = list[dict[str, Any]]


def _iso(instant: datetime | None) -> str | None:
    return None if instant is None else instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _cells(name: str, cell: Published) -> dict[str, Any]:
    """A published count as two columns: the value (None when hidden) and its status."""
    return {name: cell.value, f"{name}_status": cell.status.value}


def _rate(cell: Published, denominator: float | None, per: float, digits: int) -> float | None:
    rate = published_rate(cell, denominator, per)
    return None if rate is None else round(rate, digits)


class IndicatorApi:
    """The API's routes over the dashboard's pool; protected scopes get the disclosure policy."""

    def __init__(self, pool: ConnectionPool[Any], policy: DisclosurePolicy, *, now: datetime | None = None) -> None:
        self._pool = pool
        self.policy = policy
        self._now = now

    def install(self, server: Flask) -> None:
        api = Blueprint("synopse_api", __name__, url_prefix=PREFIX)
        api.add_url_rule("/indicators/facilities/latest.<fmt>", "facilities_latest", self._facilities_latest)
        api.add_url_rule("/indicators/facilities/daily.<fmt>", "facilities_daily", self._facilities_daily)
        api.add_url_rule("/indicators/communes/latest.<fmt>", "communes_latest", self._communes_latest)
        api.add_url_rule("/indicators/environment/latest.<fmt>", "environment_latest", self._environment_latest)
        api.add_url_rule("/me.json", "me", self._me)
        server.register_blueprint(api)

    # --- plumbing ----------------------------------------------------------------------------------------

    def _principal(self) -> Principal:
        principal = current_principal()
        if principal is None:  # the guard answers 401 before; this is the belt to its braces
            raise PermissionError("no principal")
        return principal

    def _read(
        self, principal: Principal, dataset: str, read: Callable[[psycopg.Connection[Any], datetime], Rows]
    ) -> tuple[Rows, datetime | None]:
        scope = principal.scope
        try:
            with self._pool.connection(timeout=POOL_WAIT_S) as conn:
                set_statement_timeout(conn)
                reference = self._now if self._now is not None else latest_data_time(conn)
                rows = read(conn, reference if reference is not None else datetime.now(UTC))
                if scope.audited:
                    record_audit(conn, AuditEntry.by(principal, "data.read", f"api:{request.path}", ip=client_ip(),
                                                     details={"dataset": dataset, "rows": len(rows)}))
        except (psycopg.OperationalError, PoolTimeout) as exc:
            raise ServiceUnavailableError(f"cannot read {dataset}: {exc}") from exc
        return rows, reference

    def _policy(self, principal: Principal) -> DisclosurePolicy | None:
        return None if principal.scope.exact else self.policy

    def _answer(
        self, fmt: str, dataset: str, principal: Principal, rows: Rows, reference: datetime | None,
        period: dict[str, str], columns: Sequence[str],
    ) -> Response:
        data_time = _iso(reference)
        if fmt == "csv":
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=["data_time", *columns], extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({"data_time": data_time, **row})
            response = Response(out.getvalue(), mimetype="text/csv")
            response.headers["Content-Disposition"] = f'attachment; filename="synopse-{dataset}.csv"'
        else:
            policy = self._policy(principal)
            response = jsonify({
                "dataset": dataset,
                "data_time": data_time,
                "generated_at": _iso(datetime.now(UTC)),
                "period": period,
                "disclosure": None if policy is None else {
                    "threshold": policy.threshold,
                    "rounding_base": policy.rounding_base,
                    "rule": "counts under the threshold are suppressed (null, status 'suppressed'); others are "
                    "rounded to the base; totals and changes must be computed from the published values",
                },
                "rows": rows,
            })
        if data_time is not None:
            response.headers["X-Synopse-Data-Time"] = data_time
        return response

    def _serve(self, fmt: str, build: Callable[[Principal], Response]) -> Response:
        if fmt not in FORMATS:
            return Response("unknown format: use .json or .csv\n", status=404, mimetype="text/plain")
        try:
            return build(self._principal())
        except ServiceUnavailableError:
            response = jsonify({"error": "service unavailable"})
            response.status_code = 503
            response.headers["Retry-After"] = "15"
            return response

    # --- datasets ----------------------------------------------------------------------------------------

    def _facility_rows(self, principal: Principal, days: int) -> tuple[Rows, datetime | None, dict[str, str]]:
        policy = self._policy(principal)
        span: dict[str, str] = {}

        def read(conn: psycopg.Connection[Any], anchor: datetime) -> Rows:
            last = last_complete_day(anchor)
            first = last - timedelta(days=days - 1)
            span.update(first=first.isoformat(), last=last.isoformat())
            facilities = {f.facility_id: f for f in facility_beds(conn, scope=principal.scope)}
            rows: Rows = []
            for cell in facility_days(conn, scope=principal.scope, first=first, last=last):
                facility = facilities.get(cell.facility_id)
                beds = publish_count(None if cell.beds_occupied_mean is None else round(cell.beds_occupied_mean),
                                     policy)
                rows.append({
                    "facility_id": cell.facility_id,
                    "name": facility.name if facility else "",
                    "commune_code": facility.commune_code if facility else "",
                    "day": cell.day.isoformat(),
                    **_cells("admissions", publish_count(cell.admissions, policy)),
                    **_cells("ed_visits", publish_count(cell.ed_visits, policy)),
                    **_cells("beds_occupied", beds),
                    "beds_total": cell.beds_total,
                    "occupancy_rate": _rate(beds, cell.beds_total, 1.0, 3),
                })
            return rows

        rows, reference = self._read(principal, "facilities", read)
        return rows, reference, span

    _FACILITY_COLUMNS = (
        "facility_id", "name", "commune_code", "day", "admissions", "admissions_status", "ed_visits",
        "ed_visits_status", "beds_occupied", "beds_occupied_status", "beds_total", "occupancy_rate",
    )

    def _facilities_latest(self, fmt: str) -> Response:
        def build(principal: Principal) -> Response:
            rows, reference, span = self._facility_rows(principal, 1)
            return self._answer(fmt, "facilities-latest", principal, rows, reference, span, self._FACILITY_COLUMNS)

        return self._serve(fmt, build)

    def _facilities_daily(self, fmt: str) -> Response:
        try:
            days = int(request.args.get("days", "30"))
        except ValueError:
            days = 0
        if not 1 <= days <= MAX_DAYS:
            return Response(f"days must be a whole number from 1 to {MAX_DAYS}\n", status=400, mimetype="text/plain")

        def build(principal: Principal) -> Response:
            rows, reference, span = self._facility_rows(principal, days)
            return self._answer(fmt, "facilities-daily", principal, rows, reference, span, self._FACILITY_COLUMNS)

        return self._serve(fmt, build)

    def _communes_latest(self, fmt: str) -> Response:
        def build(principal: Principal) -> Response:
            policy = self._policy(principal)
            span: dict[str, str] = {}

            def read(conn: psycopg.Connection[Any], anchor: datetime) -> Rows:
                monday, sunday = last_complete_week(anchor)
                span.update(first=monday.isoformat(), last=sunday.isoformat())
                rows: Rows = []
                for commune in commune_week(conn, scope=principal.scope, monday=monday):
                    admissions = publish_count(commune.admissions, policy)
                    visits = publish_count(commune.ed_visits, policy)
                    rows.append({
                        "commune_code": commune.commune_code,
                        "name": commune.name,
                        "population": commune.population,
                        "week_start": monday.isoformat(),
                        "week_end": sunday.isoformat(),
                        **_cells("admissions", admissions),
                        "admissions_per_100k": _rate(admissions, commune.population, PER_INHABITANTS, 1),
                        **_cells("ed_visits", visits),
                        "ed_visits_per_100k": _rate(visits, commune.population, PER_INHABITANTS, 1),
                    })
                return rows

            rows, reference = self._read(principal, "communes", read)
            columns = ("commune_code", "name", "population", "week_start", "week_end", "admissions",
                       "admissions_status", "admissions_per_100k", "ed_visits", "ed_visits_status",
                       "ed_visits_per_100k")
            return self._answer(fmt, "communes-latest", principal, rows, reference, span, columns)

        return self._serve(fmt, build)

    def _environment_latest(self, fmt: str) -> Response:
        def build(principal: Principal) -> Response:
            def read(conn: psycopg.Connection[Any], anchor: datetime) -> Rows:
                return [
                    {
                        "indicator": r.indicator, "unit": r.unit, "hour": _iso(r.bucket),
                        "value_mean": round(r.value_mean, 3), "value_max": round(r.value_max, 3),
                        "stations": r.stations, "station_name": r.station_name,
                    }
                    for r in latest_environment(conn, anchor, scope=principal.scope)
                ]

            rows, reference = self._read(principal, "environment", read)
            columns = ("indicator", "unit", "hour", "value_mean", "value_max", "stations", "station_name")
            return self._answer(fmt, "environment-latest", principal, rows, reference, {}, columns)

        return self._serve(fmt, build)

    def _me(self) -> Response:
        principal = self._principal()
        policy = self._policy(principal)
        return jsonify({
            "name": principal.name,
            "role": principal.role.value,
            "organisation": principal.organisation,
            "token": principal.is_token,
            "exact_values": policy is None,
            "disclosure": None if policy is None else {"threshold": policy.threshold,
                                                       "rounding_base": policy.rounding_base},
        })
