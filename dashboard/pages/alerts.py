"""Layout of the alerts page: firing and recent alerts with their comments, the action form (comment, acknowledge,
silence), the ledger.

Static frame only. The action form is always present but the callbacks refuse any action unless the user's role
may act on alerts (``synopse.domain.access.can_act_on_alerts``); the page then says so in words. The comment box
serves the three buttons: "Comment" posts its text alone to the alert's thread, the others attach it.
"""

from __future__ import annotations

from typing import Final

from dash import dcc, html

from dashboard.pages._common import page, section
from dashboard.pages.overview import dropdown_labels
from dashboard.text import t

REFRESH: Final = "alerts-refresh"
STORE: Final = "alerts-fingerprint"
FIRING: Final = "alerts-firing"
RECENT: Final = "alerts-recent"
PICKER: Final = "alerts-picker"
COMMENT: Final = "alerts-comment"
COMMENT_BUTTON: Final = "alerts-comment-post"
HOURS: Final = "alerts-silence-hours"
ACK: Final = "alerts-ack"
SILENCE: Final = "alerts-silence"
FEEDBACK: Final = "alerts-feedback"
PERMISSION: Final = "alerts-permission"
LEDGER: Final = "alerts-ledger"

# Silence durations offered: an hour (a known incident being handled), a shift, a day.
SILENCE_HOURS: Final = (1, 8, 24)
# A comment is a few sentences for the next shift, not a report (the table's CHECK holds the same limit).
COMMENT_MAX: Final = 1000
# What each button does (the callback reads which one was clicked).
BUTTON_ACTIONS: Final[dict[str, str]] = {COMMENT_BUTTON: "comment", ACK: "ack", SILENCE: "silence"}
ACTIONS: Final = frozenset(BUTTON_ACTIONS.values())


def _form() -> html.Div:
    return html.Div([
        html.Div(id=PERMISSION),
        html.Div([html.Label(t("alerts_pick"), htmlFor=PICKER, className="control-label"),
                  dcc.Dropdown(id=PICKER, options=[], clearable=True, searchable=True, labels=dropdown_labels())],
                 className="control"),
        html.Div([html.Label(t("alerts_comment"), htmlFor=COMMENT, className="control-label"),
                  dcc.Textarea(id=COMMENT, value="", maxLength=COMMENT_MAX,
                               style={"width": "100%", "minHeight": "3em"})],
                 className="control"),
        html.Fieldset([html.Legend(t("alerts_silence_for"), className="control-label"),
                       dcc.RadioItems(id=HOURS, options=[{"label": t("hours_n", n=h), "value": h}
                                                         for h in SILENCE_HOURS],
                                      value=SILENCE_HOURS[0], inline=True)], className="control"),
        html.Div([html.Button(t("alerts_comment_button"), id=COMMENT_BUTTON, n_clicks=0, type="button",
                              className="button"),
                  html.Button(t("alerts_ack_button"), id=ACK, n_clicks=0, type="button", className="button"),
                  html.Button(t("alerts_silence_button"), id=SILENCE, n_clicks=0, type="button",
                              className="button button-secondary")], className="controls"),
        html.P(id=FEEDBACK, role="status", className="chart-summary"),
    ], className="alert-form")


def layout(refresh_s: int) -> html.Div:
    return page("alerts_heading", "alerts_intro", [
        section("section_alerts_firing", "alerts-firing", [html.Div(id=FIRING, className="alert-list")]),
        section("section_alerts_act", "alerts-act", [_form()]),
        section("section_alerts_recent", "alerts-recent", [html.Div(id=RECENT, className="alert-list")]),
        section("section_ledger", "ledger", [html.Div(id=LEDGER)]),
    ], REFRESH, STORE, refresh_s)
