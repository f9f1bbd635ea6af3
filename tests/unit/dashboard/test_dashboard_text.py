"""French formatting of numbers, shares, durations and times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dashboard.text import FR, fmt_datetime, fmt_decimal, fmt_duration, fmt_int, fmt_percent, t, topic_name

NNBSP = "\u202f"


def test_numbers_follow_french_typography() -> None:
    assert fmt_int(12345) == f"12{NNBSP}345"
    assert fmt_int(-3) == "−3"
    assert fmt_decimal(1234.56) == f"1{NNBSP}234,6"
    assert fmt_decimal(-0.04) == "0,0"  # never "−0,0"
    assert fmt_percent(0.873) == f"87{NNBSP}%"
    assert fmt_percent(-0.5) == f"−50{NNBSP}%"


def test_times_are_shown_on_the_paris_clock() -> None:
    assert fmt_datetime(datetime(2025, 1, 15, 12, 40, tzinfo=UTC)) == "15/01/2025 13:40"  # UTC+1 in winter
    assert fmt_datetime(datetime(2025, 7, 15, 12, 40, tzinfo=UTC)) == "15/07/2025 14:40"  # UTC+2 in summer


def test_durations_read_naturally() -> None:
    assert fmt_duration(timedelta(minutes=45)) == "45 min"
    assert fmt_duration(timedelta(hours=3, minutes=10)) == "3 h 10"
    assert fmt_duration(timedelta(hours=5)) == "5 h"
    assert fmt_duration(timedelta(days=3, hours=4)) == "3 j 4 h"


def test_topics_are_named_whatever_their_prefix() -> None:
    assert topic_name("staging.synopse.bed_snapshots.v1") == "Lits"
    assert topic_name("other") == "other"


def test_every_text_formats() -> None:
    for key in FR:
        t(key, when="w", delay="d", late=1, total=2, occupied=1, planned=1, reporting=1, count=1, arrow="↑",
          delta="+1", pct="", scope="s", period="p", admissions=1, visits=1, rate="r", station="s", n=2,
          max=1, refresh=15, minutes=3, name="n", organisation="o", threshold=10, base=5, day="d", change="c",
          first="f", last="l", days=7,
          # the pages (detail, map, alerts, quality, health)
          what="w", metric="m", beds=1, value="v", median="m", indicator="i", lag=1, r="r", rule="r", status="s",
          since="s", who="w", comment="c", hours=1, p="p")
