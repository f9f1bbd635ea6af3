"""Every word the dashboard shows, and how it writes numbers and times: the one place to translate.

French first (the users are a French crisis cell), English available: :data:`FR` and
:data:`dashboard.text_en.EN` are two catalogs of the same message ids (``tests/unit/dashboard/
test_dashboard_i18n.py`` fails on a missing id, a placeholder that differs, or French text left on an
English page). The language of the request being served is a context variable set per request by
:mod:`dashboard.i18n` (``?lang=``, then the language cookie, then ``SYNOPSE_DASHBOARD__LANGUAGE``); outside a
request it is French. Numbers follow the language's typography: French writes a decimal comma, a narrow
no-break space between thousands and before ``%`` (1 234,5 ; 87 %), English 1,234.5 and 87%. Dates: French
29/11/2026, English 2026-11-29 (29 Nov when short). Times are shown in Europe/Paris, the users' clock.
Machine names (API and download columns, component ids) are never translated.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, timedelta
from typing import Final, Literal, TypeGuard
from zoneinfo import ZoneInfo

DISPLAY_TZ: Final = ZoneInfo("Europe/Paris")

Language = Literal["fr", "en"]
LANGUAGES: Final[tuple[Language, ...]] = ("fr", "en")
DEFAULT_LANGUAGE: Final[Language] = "fr"
# Each language's name in itself: the switch offers a language to those who read it.
LANGUAGE_NAMES: Final[dict[Language, str]] = {"fr": "Français", "en": "English"}

_NNBSP: Final = "\u202f"  # narrow no-break space: thousands separator and before % in French
_MINUS: Final = "\u2212"  # a true minus sign reads better than a hyphen in figures
_MONTHS_EN: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_LANGUAGE: ContextVar[Language | None] = ContextVar("synopse_language", default=None)


def is_language(value: object) -> TypeGuard[Language]:
    """Whether ``value`` is one of :data:`LANGUAGES` (a cookie, a URL parameter: anything else is ignored)."""
    return value in LANGUAGES


def current_language() -> Language:
    """The language of the request being served (French outside a request)."""
    return _LANGUAGE.get() or DEFAULT_LANGUAGE


def set_language(language: Language | None) -> None:
    """Set the language of the current context (a request hook; None goes back to the default)."""
    _LANGUAGE.set(language)


@contextmanager
def use_language(language: Language) -> Iterator[None]:
    """Render in ``language`` within the block (tests, and anything built outside a request)."""
    token = _LANGUAGE.set(language)
    try:
        yield
    finally:
        _LANGUAGE.reset(token)


FR: Final[dict[str, str]] = {
    "page_title": "Synopse — Nantes Métropole",
    "app_title": "Synopse — Nantes Métropole",
    "app_subtitle": "Veille sanitaire territoriale",
    "skip_link": "Aller au contenu",
    "language_switch": "Langue",
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
    # Access: login page, account bar, downloads.
    "login_title": "Connexion — Synopse",
    "login_heading": "Connexion",
    "login_username": "Identifiant",
    "login_password": "Mot de passe",
    "login_submit": "Se connecter",
    "login_failed": "Identifiant ou mot de passe incorrect.",
    "login_locked": "Trop de tentatives de connexion : réessayez dans {minutes} min.",
    "login_expired": "Le formulaire a expiré : veuillez réessayer.",
    "login_unavailable": "Service momentanément indisponible : réessayez dans un instant.",
    "login_logged_out": "Vous êtes déconnecté.",
    "account_signed_in": "Connecté : {name}",
    "account_organisation": "({organisation})",
    "account_logout": "Se déconnecter",
    "account_downloads": "Télécharger :",
    "download_facilities": "établissements",
    "download_communes": "communes",
    "download_environment": "environnement",
    "role_administrator": "administrateur",
    "role_crisis_cell": "cellule de crise",
    "role_partner": "partenaire",
    "role_viewer": "lecteur",
    # Protected views (partners, viewers): published counts.
    "suppressed_short": "< {threshold}",
    "suppressed_name": "effectif inférieur à {threshold}, masqué",
    "disclosure_legend": "Secret statistique : « < {threshold} » signale un effectif inférieur à {threshold}, masqué. "
    "Les effectifs sont arrondis à {base} près ; les totaux et évolutions sont calculés à partir des valeurs "
    "publiées et masqués dès que l'une d'elles l'est. Jours et semaines complets uniquement.",
    "not_shared": "non partagé",
    "shared_all_facilities": "Tous les établissements partagés",
    "shared_no_facility": "Aucun établissement n'est partagé avec votre organisation.",
    "shared_beds": "Lits occupés : ≈ {occupied} / {total}",
    "shared_beds_not_shared": "Lits : non partagé",
    "shared_admissions_day": "Admissions le {day} : {count}",
    "shared_ed_day": "Passages aux urgences le {day} : {count}",
    "shared_change_vs": "{change} vs le {day}",
    "shared_week_caption": "Par commune de résidence, semaine complète du {first} au {last}.",
    "shared_no_commune": "Aucune commune n'est partagée avec votre organisation.",
    "shared_chart_title": "{scope} — {days} derniers jours complets",
    "shared_series_admissions": "Admissions (par jour)",
    "shared_series_ed_visits": "Passages aux urgences (par jour)",
    "shared_axis_count": "Nombre par jour",
    "shared_chart_summary": "Sur {days} jours complets : {admissions} admissions, {visits} passages aux urgences.",
    "shared_not_available": "Ce contenu n'est pas partagé avec votre organisation.",
    "shared_data_until": "Données publiées jusqu'au {day} inclus",
    # Pages: navigation and shared pieces (dashboard/pages/router.py, _common.py).
    "nav_label": "Pages du tableau de bord",
    "nav_overview": "Vue d'ensemble",
    "nav_detail": "Détail",
    "nav_map": "Carte",
    "nav_alerts": "Alertes",
    "nav_quality": "Qualité des prévisions",
    "nav_health": "Santé des données",
    "pages_footer": "Rafraîchissement automatique toutes les {refresh} s (seulement si les données ont changé).",
    "page_not_found": "Cette page n'existe pas.",
    "not_available_yet": "{what} : pas encore disponible sur cette installation.",
    "what_forecasts": "Prévisions",
    "what_scores": "Scores des prévisions",
    "what_alerts": "Alertes",
    "what_pipeline": "Santé du pipeline (retard des consommateurs, lettres mortes)",
    "show_table": "Voir les données en tableau",
    "show_table_named": "Voir en tableau : {what}",
    "col_day": "Jour",
    "col_q05": "Prévision 5 %",
    "col_q95": "Prévision 95 %",
    "col_facility": "Établissement",
    "col_admissions_7d": "Admissions (7 j)",
    # Detail page.
    "detail_heading": "Détail d'un établissement ou d'un territoire",
    "detail_intro": "Observé, prévision avec ses intervalles et capacité en lits, signaux environnementaux.",
    "section_detail": "Observé, prévu et capacité",
    "section_environment_relation": "Environnement et admissions",
    "place_picker": "Lieu",
    "place_facility": "établissement",
    "place_commune": "commune",
    "metric_picker": "Indicateur",
    "metric_bed_occupancy": "Lits occupés",
    "metric_admissions": "Admissions",
    "metric_ed_visits": "Passages aux urgences",
    "axis_bed_occupancy": "Lits occupés (moyenne du jour)",
    "axis_admissions": "Admissions par jour",
    "axis_ed_visits": "Passages par jour",
    "period_90d": "90 jours",
    "period_365d": "1 an",
    "indicator_picker": "Signal environnemental",
    "detail_title": "{metric} — observé, prévision et capacité",
    "series_observed": "Observé",
    "series_forecast": "Prévision (médiane)",
    "series_interval_50": "Intervalle 50 %",
    "series_interval_90": "Intervalle 90 %",
    "series_admissions_daily": "Admissions par jour",
    "capacity_line": "capacité : {beds} lits",
    "detail_last_value": "Dernière valeur observée : {value}.",
    "detail_capacity": "Capacité : {beds} lits.",
    "detail_forecast_to": "Prévision jusqu'au {day} : médiane {median}.",
    "detail_no_forecast": "Aucune prévision calculée pour ce lieu et cet indicateur.",
    "detail_outlook": "Probabilité de dépasser la capacité sur l'horizon : {p}.",
    "detail_saturation": "Saturation attendue le {day}.",
    "detail_no_saturation": "Pas de saturation attendue sur l'horizon.",
    "env_table_caption": "Admissions par jour et {indicator}",
    "lag_heading": "Relation décalée (0 à 7 jours)",
    "lag_table_caption": "Corrélation selon le décalage en jours",
    "axis_lag": "Décalage (jours)",
    "axis_correlation": "Corrélation",
    "lag_hover": "décalage %{{x}} j : %{{y:.2f}}",  # doubled braces: plotly placeholders, not format fields
    "lag_not_enough": "Pas assez de jours avec {indicator} et des admissions pour estimer une relation.",
    "lag_none": "Pas de relation nette entre {indicator} et les admissions des 0 à 7 jours suivants.",
    "lag_positive": "Les admissions augmentent avec {indicator}, surtout {lag} jour(s) après (corrélation {r}).",
    "lag_negative": "Les admissions baissent quand {indicator} augmente, surtout {lag} jour(s) après "
    "(corrélation {r}).",
    "lag_caveat": "Une corrélation n'est pas une cause : saisons et jours de la semaine peuvent l'expliquer.",
    # Map page.
    "map_heading": "Carte des communes et des établissements",
    "map_intro": "Cercles : communes (taille = population, couleur = admissions pour 100 000 hab. sur 7 jours) ; "
    "symboles : établissements selon leur taux d'occupation.",
    "section_map": "Carte",
    "map_legend": "Légende des établissements",
    "map_communes": "Communes",
    "map_colorbar": "Admissions / 100 000 hab. (7 j)",
    "map_commune_hover": "{name} : {rate} admissions pour 100 000 hab. ({admissions} sur 7 jours)",
    "map_howto": "Cliquez sur une commune ou un établissement (ou sur son nom dans le tableau) pour ouvrir son détail.",
    "map_communes_caption": "Communes : admissions des résidents sur 7 jours",
    "map_facilities_caption": "Établissements : taux d'occupation actuel",
    "axis_longitude": "Longitude",
    "axis_latitude": "Latitude",
    # Alerts page.
    "alerts_heading": "Alertes",
    "alerts_intro": "Alertes en cours et récentes : observé, attendu, seuil et raison ; actions et notifications.",
    "section_alerts_firing": "En cours",
    "section_alerts_act": "Agir sur une alerte",
    "section_alerts_recent": "Récentes (résolues)",
    "section_ledger": "Notifications envoyées, par destinataire",
    "alerts_none_firing": "Aucune alerte en cours.",
    "alerts_none_recent": "Aucune alerte résolue récemment.",
    "alert_meta": "Règle {rule} — {status} depuis le {since}",
    "alert_status_pending": "en attente",
    "alert_status_firing": "déclenchée",
    "alert_status_resolved": "résolue",
    "alert_observed": "Observé",
    "alert_expected": "Attendu",
    "alert_threshold": "Seuil",
    "alert_why": "Pourquoi :",
    "alert_acked": "Acquittée par {who} le {when}{comment}",
    "alert_not_acked": "Non acquittée",
    "severity_info": "information",
    "severity_warning": "attention",
    "severity_severe": "grave",
    "severity_critical": "critique",
    "alerts_pick": "Alerte",
    "alerts_comment": "Commentaire (publié seul, ou joint à l'acquittement ou à la mise en silence)",
    "alerts_comment_button": "Commenter",
    "alerts_commented_done": "Commentaire ajouté.",
    "alerts_comment_empty": "Écrivez d'abord un commentaire.",
    "alerts_comment_too_long": "Commentaire trop long : {max} caractères au plus.",
    "alert_comments_heading": "Commentaires ({n})",
    "alert_comment_by": "{who}, le {when}",
    "ack_comment_quote": " — « {comment} »",
    "alerts_silence_for": "Mettre en silence pendant",
    "hours_n": "{n} h",
    "alerts_ack_button": "Acquitter",
    "alerts_silence_button": "Mettre en silence",
    "alerts_no_permission": "Votre rôle ne permet pas de commenter, d'acquitter ni de mettre en silence les alertes.",
    "alerts_pick_first": "Choisissez d'abord une alerte.",
    "alerts_unknown": "Cette alerte n'existe plus.",
    "alerts_acked_done": "Alerte acquittée.",
    "alerts_silenced_done": "Notifications de cette alerte suspendues pour {hours} h.",
    "ledger_caption": "Dernières notifications, par destinataire",
    "ledger_empty": "Aucune notification envoyée.",
    "ledger_subscriber": "Destinataire",
    "ledger_event": "Événement",
    "ledger_status": "État",
    "ledger_attempts": "Tentatives",
    "ledger_created": "Créée le",
    "ledger_delivered": "Remise le",
    "ledger_error": "Dernière erreur",
    "delivery_queued": "en file",
    "delivery_delivered": "✓ remise",
    "delivery_failed": "⚠ échec (nouvel essai prévu)",
    "delivery_dead": "✖ abandonnée",
    # Forecast quality page.
    "quality_heading": "Qualité des prévisions",
    "quality_intro": "Scores de rétro-prévision par série et horizon : jusqu'où se fier à une projection.",
    "section_quality": "Scores par série et horizon",
    "quality_help_wis": "WIS relatif : erreur de la prévision divisée par celle d'une prévision naïve ; "
    "sous 1, le modèle fait mieux que la référence.",
    "quality_help_coverage": "Couverture : part des jours observés tombés dans l'intervalle 50 % ou 90 % "
    "(idéalement 50 % et 90 %).",
    "scores_caption": "Dernier score de chaque série",
    "scores_empty": "Aucun score calculé pour l'instant.",
    "scores_series": "Série",
    "scores_horizon": "Horizon",
    "scores_origins": "Origines",
    "scores_relative_wis": "WIS relatif",
    "scores_coverage_50": "Couverture 50 %",
    "scores_coverage_90": "Couverture 90 %",
    "scores_verdict": "Confiance",
    "horizon_days": "J+{n}",
    "trust_good": "fiable",
    "trust_caution": "intervalles trop étroits : prudence",
    "trust_poor": "pas mieux que la référence",
    "trust_unknown": "non évaluable",
    # Data health page.
    "health_heading": "Santé des données",
    "health_intro": "Retard des consommateurs, lettres mortes par flux et fraîcheur de chaque source.",
    "section_pipeline": "Pipeline : retard et lettres mortes",
    "section_sources": "Fraîcheur par source",
    "health_sources_help": "Âge : retard de la source sur la donnée la plus récente de toutes les sources.",
    "health_topics_caption": "Par groupe de consommateurs et flux",
    "health_sources_caption": "Dernier événement de chaque source",
    "health_no_topics": "Aucun flux consommé pour l'instant.",
    "health_group": "Groupe",
    "health_lag": "Retard (messages)",
    "health_dead": "Lettres mortes",
    "health_events": "Événements reçus",
    "health_last_batch": "Dernier lot",
    "health_age": "Âge",
    "health_ok": "normal",
    "health_attention": "à surveiller",
    "health_stale_lag": "aucun consommateur actif",
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

# Imported here, after the French tables it mirrors (dashboard.text_en imports nothing from this module).
from dashboard.text_en import EN, INDICATOR_NAMES_EN, TOPIC_NAMES_EN  # noqa: E402

CATALOGS: Final[dict[Language, dict[str, str]]] = {"fr": FR, "en": EN}
INDICATOR_CATALOGS: Final[dict[Language, dict[str, str]]] = {"fr": INDICATOR_NAMES, "en": INDICATOR_NAMES_EN}
TOPIC_CATALOGS: Final[dict[Language, dict[str, str]]] = {"fr": TOPIC_NAMES, "en": TOPIC_NAMES_EN}

# How plotly writes numbers and dates in each language (its own d3 formats; plotly.js ships English month names
# only, so French dates are numeric).
PLOT_FORMATS: Final[dict[Language, dict[str, str]]] = {
    "fr": {"separators": ", ", "hour_tick": "%d/%m\n%Hh", "hour_hover": "%d/%m/%Y %H:%M", "day_tick": "%d/%m/%y",
           "day_short": "%d/%m", "day_hover": "%d/%m/%Y", "percent": " %"},
    "en": {"separators": ".,", "hour_tick": "%d %b\n%H:%M", "hour_hover": "%Y-%m-%d %H:%M", "day_tick": "%d %b %Y",
           "day_short": "%d %b", "day_hover": "%Y-%m-%d", "percent": "%"},
}


def t(key: str, **values: object) -> str:
    """The text of ``key`` in the current language with ``values`` filled in."""
    return CATALOGS[current_language()][key].format(**values)


def plot_format(name: str) -> str:
    """A plotly format of the current language: ``separators``, ``hour_tick``, ``day_tick``, ``percent``..."""
    return PLOT_FORMATS[current_language()][name]


def _group(text: str) -> str:
    # Python writes 1,234.5: French swaps in a narrow no-break space and a decimal comma.
    if current_language() == "fr":
        return text.replace(",", _NNBSP).replace(".", ",")
    return text


def fmt_int(value: int) -> str:
    """12345 -> '12 345' in French (narrow no-break space), '12,345' in English; -3 -> '−3'."""
    text = _group(f"{abs(value):,}")
    return _MINUS + text if value < 0 else text


def fmt_decimal(value: float, digits: int = 1) -> str:
    """1234.56 -> '1 234,6' in French, '1,234.6' in English; a negative value takes a true minus sign."""
    rounded = round(value, digits) + 0.0  # adding 0.0 turns -0.0 into 0.0: no "−0,0"
    text = _group(f"{abs(rounded):,.{digits}f}")
    return _MINUS + text if rounded < 0 else text


def fmt_percent(rate: float, digits: int = 0) -> str:
    """0.873 -> '87 %' in French (narrow no-break space), '87%' in English."""
    return fmt_decimal(rate * 100, digits) + (_NNBSP + "%" if current_language() == "fr" else "%")


def fmt_signed_int(value: int) -> str:
    """+5, −3 or 0."""
    return ("+" if value > 0 else "") + fmt_int(value)


def fmt_date(day: date) -> str:
    """A day: '29/11/2026' in French, '2026-11-29' in English."""
    return day.strftime("%d/%m/%Y") if current_language() == "fr" else day.isoformat()


def fmt_day_month(day: date) -> str:
    """A day of the current year: '29/11' in French, '29 Nov' in English."""
    if current_language() == "fr":
        return day.strftime("%d/%m")
    return f"{day.day:02d} {_MONTHS_EN[day.month - 1]}"


def fmt_datetime(instant: datetime) -> str:
    """An instant as the users' local day and time: '14/03/2025 09:05' (French), '2025-03-14 09:05' (English)."""
    local = instant.astimezone(DISPLAY_TZ)
    return f"{fmt_date(local.date())} {local:%H:%M}"


def fmt_time(instant: datetime) -> str:
    """An instant as local time of day with its date: '13/03 09:05' (French), '13 Mar 09:05' (English)."""
    local = instant.astimezone(DISPLAY_TZ)
    return f"{fmt_day_month(local.date())} {local:%H:%M}"


def fmt_duration(delay: timedelta) -> str:
    """A delay in the largest sensible units: '45 min', '3 h 10', '2 j 4 h' (English: '3 h 10 min', '2 d 4 h')."""
    english = current_language() == "en"
    day = "d" if english else "j"
    minutes = max(0, int(delay.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        if not minutes:
            return f"{hours} h"
        return f"{hours} h {minutes:02d} min" if english else f"{hours} h {minutes:02d}"
    days, hours = divmod(hours, 24)
    return f"{days} {day} {hours} h" if hours else f"{days} {day}"


def topic_name(topic: str) -> str:
    """A readable name of a topic, whatever environment prefix it carries."""
    for name, label in TOPIC_CATALOGS[current_language()].items():
        if topic.endswith(name):
            return label
    return topic


def indicator_name(indicator: str) -> str:
    """The display name of an environmental indicator (its code when unknown)."""
    return INDICATOR_CATALOGS[current_language()].get(indicator, indicator)
