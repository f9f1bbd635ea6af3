"""Every word the dashboard shows, and how it writes numbers and times: the one place to translate.

French first (the users are a French crisis cell); an English table can later sit beside :data:`FR`
with the same keys. Numbers follow French typography: decimal comma, narrow no-break space between
thousands and before ``%``. Times are shown in Europe/Paris, the users' clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

DISPLAY_TZ: Final = ZoneInfo("Europe/Paris")

_NNBSP: Final = "\u202f"  # narrow no-break space: thousands separator and before % in French
_MINUS: Final = "\u2212"  # a true minus sign reads better than a hyphen in figures

FR: Final[dict[str, str]] = {
    "page_title": "Synopse — Nantes Métropole",
    "app_title": "Synopse — Nantes Métropole",
    "app_subtitle": "Veille sanitaire territoriale",
    "skip_link": "Aller au contenu",
    "dropdown_search": "Rechercher",
    "dropdown_clear_search": "Effacer la recherche",
    "dropdown_clear_selection": "Effacer la sélection",
    "dropdown_no_options": "Aucun établissement trouvé",
    "last_data": "Dernières données : {when}",
    "no_data_yet": "Aucune donnée reçue pour l'instant",
    "feed_ok": "Flux à jour",
    "feed_late": "Flux en retard de {delay}",
    "db_unavailable": "Base de données injoignable — affichage de la dernière mise à jour réussie",
    "sources_late": "{late} source(s) en retard sur {total}",
    "sources_all_ok": "Toutes les sources sont à jour ({total})",
    "sources_detail": "Détail des sources",
    "source_col_topic": "Flux",
    "source_col_source": "Source",
    "source_col_last": "Dernier événement",
    "source_col_state": "État",
    "source_late": "en retard",
    "source_ok": "à jour",
    "section_facilities": "Établissements",
    "section_activity": "Activité horaire",
    "section_communes": "Communes — 7 derniers jours",
    "section_environment": "Environnement",
    "status_normal": "normal",
    "status_tension": "tension",
    "status_saturation": "saturation",
    "status_no_data": "pas de données",
    "occupancy": "Taux d'occupation",
    "beds": "Lits occupés : {occupied} / {total}",
    "beds_no_data": "Lits : pas de données (capacité prévue {planned})",
    "units_partial": "{reporting} unité(s) sur {planned} ont transmis",
    "admissions_24h": "Admissions 24 h : {count}",
    "change_vs_prev": "{arrow} {delta}{pct} vs 24 h précédentes",
    "change_none": "= stable vs 24 h précédentes",
    "ed_24h": "Urgences 24 h : {count}",
    "ed_last_hour": "dont dernière heure complète : {count}",
    "ed_none": "Pas de service d'urgences",
    "snapshot_at": "Instantané lits : {when}",
    "snapshot_stale": "Instantané lits ancien : {when}",
    "facility_picker": "Établissement",
    "all_territory": "Tout le territoire",
    "period_picker": "Période",
    "period_48h": "48 h",
    "period_7d": "7 jours",
    "period_30d": "30 jours",
    "chart_title": "{scope} — {period}",
    "series_admissions": "Admissions (par heure)",
    "series_ed_visits": "Passages aux urgences (par heure)",
    "series_occupancy": "Taux d'occupation (%)",
    "axis_count": "Nombre par heure",
    "axis_occupancy": "Taux d'occupation (%)",
    "threshold_tension": "seuil tension",
    "threshold_saturation": "seuil saturation",
    "chart_no_data": "Pas de données sur la période",
    "current_hour": "heure en cours",
    "chart_summary": "Sur la période : {admissions} admissions, {visits} passages aux urgences ; "
    "dernier taux d'occupation : {rate}.",
    "col_commune": "Commune",
    "col_population": "Population",
    "col_admissions": "Admissions",
    "col_ed_visits": "Passages aux urgences",
    "col_per_100k": "pour 100 000 hab.",
    "commune_other": "Autres communes ou inconnue",
    "communes_caption": "Par commune de résidence, depuis minuit il y a 6 jours, jusqu'aux dernières données.",
    "env_none": "Aucune mesure récente",
    "env_one_station": "{station}, {when}",
    "env_many_stations": "moyenne de {n} stations (max {max}), {when}",
    "footer": "Capacités en lits synthétiques (ordres de grandeur plausibles, non officiels). "
    "Rafraîchissement automatique toutes les {refresh} s.",
    "not_available": "—",
}

# Display names of environmental indicators, in the order the panel lists them.
INDICATOR_NAMES: Final[dict[str, str]] = {
    "temperature": "Température",
    "temperature_daily_max": "Température max. du jour",
    "temperature_daily_min": "Température min. du jour",
    "temperature_daily_mean": "Température moyenne du jour",
    "pm10": "PM10",
    "pm2_5": "PM2,5",
    "no2": "NO₂",
    "o3": "Ozone (O₃)",
    "pollen_grasses": "Pollens de graminées",
    "pollen_birch": "Pollens de bouleau",
    "pollen_ragweed": "Pollens d'ambroisie",
    "pollen_cypress": "Pollens de cyprès",
    "wastewater_sars_cov_2": "SARS-CoV-2 eaux usées",
}

TOPIC_NAMES: Final[dict[str, str]] = {
    "synopse.admissions.v1": "Admissions",
    "synopse.emergency_visits.v1": "Urgences",
    "synopse.bed_snapshots.v1": "Lits",
    "synopse.environment.v1": "Environnement",
}


def t(key: str, **values: object) -> str:
    """The French text of ``key`` with ``values`` filled in."""
    return FR[key].format(**values)


def fmt_int(value: int) -> str:
    """12345 -> '12 345' (narrow no-break space), -3 -> '−3'."""
    text = f"{abs(value):,}".replace(",", _NNBSP)
    return _MINUS + text if value < 0 else text


def fmt_decimal(value: float, digits: int = 1) -> str:
    """12.34 -> '12,3'; a negative value takes a true minus sign."""
    rounded = round(value, digits) + 0.0  # adding 0.0 turns -0.0 into 0.0: no "−0,0"
    text = f"{abs(rounded):,.{digits}f}".replace(",", _NNBSP).replace(".", ",")
    return _MINUS + text if rounded < 0 else text


def fmt_percent(rate: float, digits: int = 0) -> str:
    """0.873 -> '87 %' (a share as a percentage, French spacing)."""
    return fmt_decimal(rate * 100, digits) + _NNBSP + "%"


def fmt_signed_int(value: int) -> str:
    """+5, −3 or 0."""
    return ("+" if value > 0 else "") + fmt_int(value)


def fmt_datetime(instant: datetime) -> str:
    """An instant as the users' local day and time: '14/03/2025 09:05'."""
    return instant.astimezone(DISPLAY_TZ).strftime("%d/%m/%Y %H:%M")


def fmt_time(instant: datetime) -> str:
    """An instant as local time of day with its date when useful: '09:05' or '13/03 09:05'."""
    return instant.astimezone(DISPLAY_TZ).strftime("%d/%m %H:%M")


def fmt_duration(delay: timedelta) -> str:
    """A delay in the largest sensible units: '45 min', '3 h 10', '2 j 4 h'."""
    minutes = max(0, int(delay.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d}" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} j {hours} h" if hours else f"{days} j"


def topic_name(topic: str) -> str:
    """A readable name of a topic, whatever environment prefix it carries."""
    for name, label in TOPIC_NAMES.items():
        if topic.endswith(name):
            return label
    return topic


def indicator_name(indicator: str) -> str:
    """The display name of an environmental indicator (its code when unknown)."""
    return INDICATOR_NAMES.get(indicator, indicator)
