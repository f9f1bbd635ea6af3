"""The dashboard in two languages: complete catalogs, formats per language, no French left on an English page,
the language chosen per request (``?lang=``, cookie, setting) and remembered."""

from __future__ import annotations

import json
import re
import string
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import plotly.utils
import pytest

from dashboard import callbacks_pages as cb
from dashboard import components, i18n
from dashboard.app import create_app
from dashboard.callbacks import refresh_overview, update_activity
from dashboard.figures import activity_figure
from dashboard.pages import overview, router
from dashboard.pages.login import account_bar, login_page
from dashboard.shared_data import SharedActivity, publish_activity, publish_overview
from dashboard.shared_view import refresh_shared_overview, shared_activity_figure, update_shared_activity
from dashboard.text import (
    CATALOGS,
    FR,
    INDICATOR_CATALOGS,
    LANGUAGES,
    TOPIC_CATALOGS,
    current_language,
    fmt_date,
    fmt_datetime,
    fmt_day_month,
    fmt_decimal,
    fmt_duration,
    fmt_int,
    fmt_percent,
    fmt_time,
    use_language,
)
from dashboard.text_en import EN
from synopse.config import Settings
from synopse.db.alerts import AlertComment
from synopse.db.pages import (
    CommunePoint,
    EnvironmentDay,
    FacilityPoint,
    ForecastDay,
    ObservedDay,
    Outlook,
    ScoreRow,
    TopicHealth,
)
from synopse.domain.access import Principal, Role
from synopse.domain.alert_records import AlertListing, Notification, Subscriber
from synopse.domain.disclosure import DisclosurePolicy
from synopse.domain.forecasts import QUANTILE_LEVELS
from synopse.domain.indicators import (
    CommuneActivity,
    CommuneWeek,
    EnvironmentReading,
    FacilityBeds,
    FacilityDay,
    FacilityStatus,
    HourlyPoint,
    Overview,
    SourceFreshness,
)

NOW = datetime(2026, 11, 29, 12, 40, tzinfo=UTC)
DAY0 = date(2026, 10, 1)
CRISIS = Principal("cellule", Role.CRISIS_CELL, user_id=1, display_name="Cellule")
ALERT_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
NNBSP = "\u202f"


def _fields(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name is not None}


# ------------------------------------------------------------------------------------------------- catalogs


def test_every_message_id_has_both_languages_with_the_same_placeholders() -> None:
    assert set(CATALOGS) == set(LANGUAGES) == {"fr", "en"}
    assert sorted(set(FR) ^ set(EN)) == []
    for key in FR:
        assert FR[key].strip() and EN[key].strip(), key
        assert _fields(FR[key]) == _fields(EN[key]), key
    for tables in (INDICATOR_CATALOGS, TOPIC_CATALOGS):
        assert set(tables["fr"]) == set(tables["en"])


def test_english_is_actually_translated() -> None:
    # Equal texts are allowed for names and words shared by both languages, not for sentences.
    same = [key for key in FR if FR[key] == EN[key] and len(FR[key].split()) > 2]
    assert same == ["page_title", "app_title", "chart_title"]  # names, and "{scope} — {period}"


def test_the_language_is_french_outside_a_request_and_scoped_inside_use_language() -> None:
    assert current_language() == "fr"
    with use_language("en"):
        assert current_language() == "en"
    assert current_language() == "fr"


# ------------------------------------------------------------------------------------------------- formats


def test_numbers_dates_and_durations_follow_the_language() -> None:
    instant = datetime(2026, 11, 29, 13, 5, tzinfo=UTC)  # 14:05 in Paris
    with use_language("fr"):
        assert (fmt_int(1234), fmt_decimal(1234.5), fmt_percent(0.873)) == (f"1{NNBSP}234", f"1{NNBSP}234,5",
                                                                              f"87{NNBSP}%")
        assert (fmt_date(date(2026, 11, 29)), fmt_datetime(instant), fmt_time(instant)) == (
            "29/11/2026", "29/11/2026 14:05", "29/11 14:05")
        assert fmt_day_month(date(2026, 11, 29)) == "29/11"
        assert fmt_duration(timedelta(days=2, hours=4)) == "2 j 4 h"
    with use_language("en"):
        assert (fmt_int(1234), fmt_decimal(1234.5), fmt_percent(0.873)) == ("1,234", "1,234.5", "87%")
        assert fmt_int(-3) == "−3" and fmt_decimal(-0.04) == "0.0"
        assert (fmt_date(date(2026, 11, 29)), fmt_datetime(instant), fmt_time(instant)) == (
            "2026-11-29", "2026-11-29 14:05", "29 Nov 14:05")
        assert fmt_duration(timedelta(days=2, hours=4)) == "2 d 4 h"
        assert fmt_duration(timedelta(hours=3, minutes=10)) == "3 h 10 min"


def test_charts_use_the_language_separators_and_date_formats() -> None:
    points = [HourlyPoint(NOW - timedelta(hours=h), 3, 4, 80.0, 100) for h in range(3, 0, -1)]
    with use_language("en"):
        figure = activity_figure(points, "t")
    assert figure.layout.separators == ".,"
    assert figure.layout.yaxis2.ticksuffix == "%"
    assert figure.layout.xaxis.hoverformat == "%Y-%m-%d %H:%M"
    assert [trace.name for trace in figure.data] == ["Admissions (per hour)", "Emergency visits (per hour)",
                                                     "Occupancy rate (%)"]
    assert figure.layout.yaxis.title.text == "Count per hour"
    french = activity_figure(points, "t")
    assert french.layout.separators == ", " and french.layout.yaxis.title.text == "Nombre par heure"


# ------------------------------------------------------------------------------------- no half-translated page


def _french_fragments() -> set[str]:
    """Pieces of French text (between placeholders) that the same message in English does not contain."""
    pairs = [(FR[key], EN[key]) for key in FR] + [
        (tables["fr"][key], tables["en"][key]) for tables in (INDICATOR_CATALOGS, TOPIC_CATALOGS)
        for key in tables["fr"]]
    pieces: set[str] = set()
    for french, english in pairs:
        for literal, *_ in string.Formatter().parse(french):
            for piece in re.split(r"[\s:;,.()«»]{2,}", literal):
                piece = piece.strip(" :;,.()«»—-")
                if len(piece) >= 4 and re.search(r"[a-zA-Zéèàç]{3}", piece) and piece not in english:
                    pieces.add(piece)
    return pieces


def _dump(*parts: Any) -> str:
    """Every string of component trees, figures and HTML, as JSON (props, titles, axes, legends included)."""
    return json.dumps(parts, cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


class FakePages:
    """Canned rows of every page (the shapes the database gives)."""

    def places(self) -> list[dict[str, str]]:
        return cb.place_options([("hp", "HP Confluent")], [("44109", "Nantes")])

    def detail(self, place: str, metric: str, days: int, indicator: str) -> cb.DetailData:
        observed = [ObservedDay(DAY0 + timedelta(days=i), 10 + (i * 7) % 5, 3, 100.0 + i, 120) for i in range(days)]
        env = [EnvironmentDay(DAY0 + timedelta(days=i), indicator, float((i * 3) % 7)) for i in range(days)]
        forecast = [ForecastDay(DAY0 + timedelta(days=days + 1), 1, [300 + 100 * q for q in QUANTILE_LEVELS])]
        return cb.DetailData(observed, forecast, 1234.0, env, Outlook(1234.0, 0.35, DAY0 + timedelta(days=days + 4)))

    def map_data(self) -> cb.MapData:
        return cb.MapData([CommunePoint("44109", "Nantes", 320_000, 47.2, -1.55, 1234, 3000)],
                          [FacilityPoint("hp", "HP Confluent", "44109", 47.2, -1.54, 100, 97)])

    def alerts(self) -> cb.AlertsData | None:
        alert = AlertListing(ALERT_ID, "ed-surge", "facility:hp", "ed_visits", "firing", "severe", NOW, NOW, None,
                             42.0, {"observed": 1234, "expected": 20.5, "upper_bound": 31.0}, "ears_c2: 42 vs 20",
                             "cellule", NOW, "seen")
        resolved = AlertListing(uuid.uuid4(), "beds", "facility:hp", "beds", "resolved", "warning", NOW, NOW, NOW,
                                0.9, {}, "", None, None, None)
        comments = {str(ALERT_ID): [AlertComment(1, ALERT_ID, NOW, "cellule", "crisis_cell", "On it")]}
        subscriber = Subscriber("hook", "Webhook", "webhook", "http://x", None, None, None, "info", None, True, 0,
                                None)
        notifications = [Notification(uuid.uuid4(), "hook", ALERT_ID, 1, "firing", {}, status, 1, 0, NOW, None, NOW,
                                      None) for status in ("queued", "delivered", "failed", "dead")]
        return cb.AlertsData([alert], [resolved], notifications, [subscriber], {"facility:hp": "HP Confluent"},
                             comments)

    def quality(self) -> list[ScoreRow] | None:
        return [ScoreRow(metric, "facility", "hp", "backtest", 7, 20, wis, 0.5, cov)
                for metric, wis, cov in (("admissions", 0.7, 0.9), ("ed_visits", 0.7, 0.6),
                                         ("bed_occupancy", 1.2, 0.9), ("admissions", None, 0.9))]

    def health(self) -> cb.HealthData:
        topics = [TopicHealth("synopse-streams", "synopse.admissions.v1", 6, 1234, 2, 1500, NOW, NOW, NOW),
                  TopicHealth("synopse-streams", "synopse.bed_snapshots.v1", 6, 10, 0, 0, NOW, NOW, NOW),
                  TopicHealth("synopse-streams", "synopse.environment.v1", 6, 10, 0, 0, NOW, NOW, None)]
        freshness = [SourceFreshness("synopse.bed_snapshots.v1", "hp", NOW - timedelta(hours=5), NOW, 10, None),
                     SourceFreshness("synopse.environment.v1", "st", NOW, NOW, 10, "weather")]
        return cb.HealthData(topics, freshness, NOW, {"hp": "HP Confluent"})

    def act(self, principal: Principal, action: str, alert_id: str, comment: str, hours: int) -> bool:
        return True

    def comment(self, principal: Principal, alert_id: str, body: str) -> bool:
        return True

    def refuse(self, principal: Principal, action: str, alert_id: str) -> None:
        pass


class FakeOverview:
    def overview(self) -> Overview:
        facility = FacilityStatus("hp", "HP Confluent", "44109", True, 386, 100, 97, 3, NOW - timedelta(hours=3),
                                  1234, 1000, 3, 1234)
        other = FacilityStatus("cl", "Clinique", "44109", False, 50, None, None, 0, None, 0, 0, 0, 0)
        communes = [CommuneActivity("44109", "Nantes", 320_000, 1234, 3000), CommuneActivity(None, None, None, 3, 4)]
        environment = [EnvironmentReading("temperature", NOW, 12.5, 14.0, 1, "Nantes-Bouguenais"),
                       EnvironmentReading("pm10", NOW, 25.0, 30.0, 2, None)]
        freshness = [SourceFreshness("synopse.bed_snapshots.v1", "hp", NOW - timedelta(hours=5), NOW, 10, None)]
        return Overview(NOW, [facility, other], communes, environment, freshness)

    def activity(self, facility_id: str | None, hours: int) -> list[HourlyPoint]:
        return [HourlyPoint(NOW - timedelta(hours=h), 3, 4, 80.0, 100) for h in range(hours, 0, -1)]


def _shared_parts() -> list[Any]:
    policy = DisclosurePolicy()
    day = date(2026, 11, 28)
    facilities = [FacilityBeds("a", "Clinic A", "44109", True, 100, 150, 121, 1, NOW),
                  FacilityBeds("b", "Hospital B", "44109", False, 80, None, None, 0, NOW)]
    days = [FacilityDay("a", day, 4, None, 120.0, 150), FacilityDay("a", day - timedelta(days=1), 12, 3, 118.0, 150)]
    shown = publish_overview(reference=NOW, anchor=NOW, facilities=facilities, days=days,
                             communes=[CommuneWeek("44143", "Reze", 43_000, 6, None)], environment=[],
                             freshness=[], policy=policy, restricted=True)
    activity = publish_activity(days, day - timedelta(days=1), day, policy)

    class Shared:  # a SharedSource of canned published rows
        def __init__(self) -> None:
            self.policy = policy

        def overview(self) -> Any:
            return shown

        def activity(self, facility_id: str | None, days: int) -> SharedActivity:
            return activity

    source = cast(Any, Shared())
    return [refresh_shared_overview(source, lambda: NOW).as_tuple(),
            update_shared_activity(source, None, "period_7d", None),
            shared_activity_figure(SharedActivity([day], [], [], [], False), "t", policy)]


def _every_page() -> str:
    """Every layout and every callback answer of every page, rendered in the current language, as one dump."""
    pages = FakePages()
    parts: list[Any] = [overview.layout(15), account_bar(CRISIS, "csrf"), account_bar(None, None),
                        router.nav_links("/alertes"), i18n.switch_links("/detail", "place=facility:hp")]
    for path in (router.DETAIL_PATH, router.MAP_PATH, router.ALERTS_PATH, router.QUALITY_PATH, router.HEALTH_PATH,
                 "/nope"):
        parts.append(cb.render(path, "?place=facility:hp", CRISIS, 15, lambda: None))
    parts.append(cb.render(router.ALERTS_PATH, "", Principal("v", Role.VIEWER, user_id=2), 15, lambda: None))
    parts.append(refresh_overview(FakeOverview(), clock=lambda: NOW + timedelta(hours=2)).as_tuple())
    parts.append(update_activity(FakeOverview(), "hp", "period_48h", [{"label": "HP", "value": "hp"}]))
    for metric in ("bed_occupancy", "admissions", "ed_visits"):
        parts.append(cb.update_detail(pages, "facility:hp", metric, "period_30d", "pm10", None))
    view = cb.update_detail(pages, "territory", "admissions", "period_30d", "pollen_grasses", None)
    parts.append(view)
    parts.append([cb.fill_table(view[i], 1, True) for i in (2, 6, 9)])  # the table alternatives, opened
    parts.append(cb.update_map(pages, None))
    parts.append(cb.update_alerts(pages, False, None))
    parts.append(cb.update_quality(pages, None))
    parts.append(cb.update_health(pages, lambda: NOW, None))
    parts.append([cb.act_on_alert(pages, CRISIS, action, str(ALERT_ID), "x", 8)
                  for action in ("comment", "ack", "silence")])
    parts.append(_shared_parts())
    parts.append(components.unavailable_bar(NOW))
    parts.append(login_page(csrf_token="x", next_path="/carte", message="m"))  # noqa: S106 - not a secret
    return _dump(*parts)


def test_no_french_is_left_on_the_english_pages() -> None:
    fragments = _french_fragments()
    assert len(fragments) > 200  # the check has teeth: most French messages leave a fragment
    with use_language("en"):
        shown = _every_page()
    leaks = sorted(f for f in fragments if f in shown)
    assert leaks == []
    assert NNBSP not in shown  # French number typography
    # French written straight into a builder (not in the catalog) shows by its accents: the data above is ASCII.
    accented = re.findall(r"\w*[éèêàâçôûîù]\w*", shown.replace("Nantes Métropole", "").replace("Français", ""))
    assert accented == []
    for english in ("Occupancy rate", "Lagged relation (0 to 7 days)", "Comments (1)", "Acknowledged by cellule",
                    "Sign out", "Forecast up to", "Feeds late by", "Data published up to"):
        assert english in shown, english


def test_the_french_pages_hold_the_french_text() -> None:
    shown = _every_page()  # the default language
    assert sum(1 for f in _french_fragments() if f in shown) > 150
    assert "Relation décalée (0 à 7 jours)" in shown and "Commentaires (1)" in shown


# ------------------------------------------------------------------------------------------ choice and memory


def test_the_language_comes_from_the_address_then_the_cookie_then_the_setting() -> None:
    assert i18n.choose("en", "fr", "fr") == "en"
    assert i18n.choose(None, "en", "fr") == "en"
    assert i18n.choose("de", "xx", "fr") == "fr"  # anything but fr/en is ignored
    assert i18n.choose("", None, "en") == "en"


def test_switch_links_keep_the_page_and_its_parameters() -> None:
    assert i18n.switch_href("en", "/detail", "?place=facility:hp&lang=fr") == "/detail?place=facility%3Ahp&lang=en"
    assert i18n.switch_href("fr") == "?lang=fr"
    assert i18n.without_language("/detail?place=facility:hp&lang=en") == "/detail?place=facility%3Ahp"
    assert i18n.without_language("/?lang=en") == "/"
    with use_language("en"):
        links = [link for link in i18n.switch_links("/carte") if getattr(link, "href", None)]
    assert [(link.children, link.lang) for link in links] == [("Français", "fr"), ("English", "en")]
    current = [link for link in links if "language-current" in link.className]
    assert [link.lang for link in current] == ["en"]
    assert current[0].to_plotly_json()["props"]["aria-current"] == "true"


@pytest.fixture
def client_for() -> Any:
    def make(**dashboard: Any) -> Any:
        settings = Settings()
        settings = settings.model_copy(update={"dashboard": settings.dashboard.model_copy(update=dashboard)})
        # No request below reaches the database: the login page and the guard's refusals need no pool.
        app = create_app(settings, cast(Any, None), secret=b"k" * 40)
        return app.server.test_client()
    return make


def test_lang_parameter_sets_a_remembered_cookie_and_the_page_language(client_for: Any) -> None:
    client = client_for()
    french = client.get("/login")
    assert '<html lang="fr">' in french.text and "Se connecter" in french.text
    assert "synopse-lang" not in french.headers.get("Set-Cookie", "")
    english = client.get("/login?lang=en&next=/carte")
    assert '<html lang="en">' in english.text and "Sign in" in english.text
    cookie = [c for c in english.headers.getlist("Set-Cookie") if c.startswith("synopse-lang=")]
    assert cookie and "HttpOnly" in cookie[0] and "SameSite=Lax" in cookie[0] and "Max-Age=31536000" in cookie[0]
    assert 'href="/login?next=%2Fcarte&amp;lang=fr"' in english.text  # the switch keeps where to go after login
    again = client.get("/login")  # no parameter: the cookie remembers
    assert "Sign in" in again.text
    ignored = client.get("/login?lang=de")
    assert "Sign in" in ignored.text
    assert not any(c.startswith("synopse-lang=") for c in ignored.headers.getlist("Set-Cookie"))
    # Dash's requests carry the cookie too: a refused callback and the redirect to the login page included.
    assert client.get("/").status_code == 302


def test_the_default_language_is_a_setting(client_for: Any) -> None:
    client = client_for(language="en")
    assert "Sign in" in client.get("/login").text
    assert "Se connecter" in client.get("/login?lang=fr").text
    assert "Se connecter" in client.get("/login").text  # the user's choice wins over the setting


def test_the_language_cookie_is_pinned_to_the_host_over_https() -> None:
    settings = Settings()
    secure = settings.access.model_copy(update={"secure_cookies": True})
    assert i18n.cookie_name(secure) == "__Host-synopse-lang"
    assert i18n.cookie_name(settings.access) == "synopse-lang"
