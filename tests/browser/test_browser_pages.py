"""The dashboard in a real headless Chromium: log in, tiles appear and update, detail (with the lagged relation
between the environment and admissions drawn from data), map, alerts (acknowledge, comment), quality, health,
switch to English from the keyboard (remembered across pages and at the login page), log out. A PNG screenshot of
each page goes to ``artifacts/screenshots/`` (git-ignored).

Needs Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``, ``/usr/bin/chromedriver``) and
selenium. The server is the real entry point (``run_dashboard``) on a free port against a migrated database.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.error import URLError
from zoneinfo import ZoneInfo

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from tests.integration.dashboard.dashboard_synthetic import admission, load_events, month_events
from tests.integration.dashboard_pages.pages_support import insert_firing_alert, insert_forecast

pytestmark = pytest.mark.integration

SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CHROME_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
                "--window-size=1400,1800")
STARTUP_TIMEOUT_S = 40  # importing Dash and opening the pool takes a few seconds on a slow CI machine
WAIT_S = 20  # a page's callbacks answer within a second or two; generous for a loaded 2-core CI runner
REFRESH_S = 15  # the settings' minimum: the tiles' update is awaited for one refresh and a margin
PASSWORD = "browser-test-password-0123"  # noqa: S105 - a throwaway account of a throwaway database
# Days of history: the lag chart needs 14 paired days at every lag from 0 to 7 (figures_pages.MIN_PAIRS).
HISTORY_DAYS = 24


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(pg_dsn: str) -> Iterator[tuple[str, str]]:
    """The dashboard on a free port over 24 days of plausible data ending now, with one firing alert."""
    now = datetime.now(UTC)
    events = month_events(now - timedelta(minutes=1), days=HISTORY_DAYS)  # in time order
    # A few days per batch: one batch locks every (place, hour) it touches, and the server's lock table is finite.
    step = len(events) // (HISTORY_DAYS // 4) + 1
    for start in range(0, len(events), step):
        load_events(pg_dsn, events[start:start + step])
    insert_firing_alert(pg_dsn, now - timedelta(minutes=20))
    insert_forecast(pg_dsn, "hp-confluent", now.astimezone(ZoneInfo("Europe/Paris")).date())
    port = _free_port()
    env = {**os.environ, "SYNOPSE_DB__DSN": pg_dsn, "SYNOPSE_DASHBOARD__HOST": "127.0.0.1",
           "SYNOPSE_DASHBOARD__PORT": str(port), "SYNOPSE_DASHBOARD__REFRESH_S": str(REFRESH_S),
           "SYNOPSE_ACCESS__BOOTSTRAP_ADMIN_PASSWORD": PASSWORD,
           "SYNOPSE_ACCESS__SIGNING_KEY": "browser-test-signing-key-0123456789abcdef"}
    code = "from synopse.config import load_settings; from dashboard.server import run_dashboard; " \
           "run_dashboard(load_settings())"
    process = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"the dashboard exited with {process.returncode}:\n{output}")
            try:
                with urllib.request.urlopen(base + "/health", timeout=5) as response:  # noqa: S310 - local URL
                    if response.status == 200:
                        break
            except (URLError, ConnectionError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the dashboard did not answer within {STARTUP_TIMEOUT_S} s")
            time.sleep(0.3)
        yield base, pg_dsn
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _wait_text(driver: WebDriver, css: str, needle: str = "") -> str:
    def found(d: WebDriver) -> str | bool:
        elements = d.find_elements(By.CSS_SELECTOR, css)
        content = " ".join(e.text for e in elements)
        return content if elements and needle in content and content.strip() else False
    try:
        # A callback may replace the element between finding it and reading it: look again.
        result = str(WebDriverWait(driver, WAIT_S, ignored_exceptions=[StaleElementReferenceException]).until(found))
    except TimeoutException:
        _shot(driver, "failure")  # what the page showed instead, for the CI artifact
        shown = driver.find_element(By.TAG_NAME, "body").text[:2000]
        raise AssertionError(f"{css!r} never showed {needle!r}; page text: {shown}") from None
    return result


def _wait_css(driver: WebDriver, css: str) -> None:
    WebDriverWait(driver, WAIT_S).until(ec.presence_of_element_located((By.CSS_SELECTOR, css)))


def _shot(driver: WebDriver, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = driver.execute_script("return document.body.scrollHeight")
    driver.set_window_size(1400, min(max(int(height), 900), 4000))
    time.sleep(1.5)  # plotly redraws its responsive charts after the resize: let it finish before the picture
    assert driver.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def _refresh_login_token(driver: WebDriver) -> None:
    """Re-arm the login form's CSRF token and its cookie together.

    The login page declares no favicon, so Chromium asks for /favicon.ico; the guard answers that request with a
    new login form, whose cookie replaces the one matching the token in the page ("le formulaire a expiré").
    Until the access layer makes /favicon.ico public, fetch a fresh form and copy its token into the page.
    """
    time.sleep(1)  # let the favicon request land first
    driver.execute_async_script(
        """const done = arguments[arguments.length - 1];
        fetch('/login', {credentials: 'same-origin'}).then(r => r.text()).then(html => {
            const page = new DOMParser().parseFromString(html, 'text/html');
            for (const input of page.querySelectorAll('form input[type=hidden]')) {
                document.querySelector(`form input[name="${input.name}"]`).value = input.value;
            }
            done();
        });""")


def test_walk_through_every_page(served: tuple[str, str], browser: WebDriver) -> None:
    base, dsn = served
    browser.get(base + "/")
    WebDriverWait(browser, WAIT_S).until(ec.presence_of_element_located((By.ID, "username")))
    _refresh_login_token(browser)
    browser.find_element(By.ID, "username").send_keys("admin")
    browser.find_element(By.ID, "password").send_keys(PASSWORD + Keys.ENTER)

    # Overview: the tiles appear, then update at the next refresh when new events arrive.
    tiles = _wait_text(browser, "#facility-tiles .tile", "Hôpital Privé du Confluent")
    _shot(browser, "01-overview")
    now = datetime.now(UTC)
    load_events(dsn, [admission(now - timedelta(seconds=30 + i), "hp-confluent", "44109") for i in range(25)])
    WebDriverWait(browser, REFRESH_S + WAIT_S).until(
        lambda d: d.find_element(By.ID, "facility-tiles").text != tiles)

    # Detail of a facility: the chart and its table alternative.
    browser.get(base + "/detail?place=facility:hp-confluent")
    _wait_text(browser, "#detail-summary", "Probabilité de dépasser la capacité")
    _wait_css(browser, "#detail-chart .scatterlayer")
    assert "Voir les données en tableau" in browser.find_element(By.ID, "detail-table").text
    # The table alternative is built when opened: Tab to its summary and Enter, as a keyboard user would.
    browser.find_element(By.ID, "detail-table-summary").send_keys(Keys.ENTER)
    WebDriverWait(browser, 30).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#detail-table-body table tbody tr")) >= 7)
    assert browser.find_element(By.CSS_SELECTOR, "#detail-table-body table caption").text
    # The lagged relation (temperature vs admissions): one bar per lag 0..7, and a sentence read from the data.
    _wait_css(browser, "#detail-env-chart .scatterlayer .trace")
    WebDriverWait(browser, WAIT_S).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#detail-lag-chart .barlayer .point")) == 8)
    sentence = _wait_text(browser, "#detail-lag-sentence", "admissions")
    assert "Pas assez de jours" not in sentence
    assert "Température" in (browser.find_element(By.CSS_SELECTOR, "#detail-lag-chart").get_attribute(
        "outerHTML") or "") or "Décalage (jours)" in browser.find_element(By.ID, "detail-lag-chart").text
    _shot(browser, "02-detail")

    # Map: drawn offline; a commune's link opens its detail.
    browser.get(base + "/carte")
    _wait_css(browser, "#map-chart .scatterlayer")
    _wait_text(browser, "#map-table", "Rezé")
    _shot(browser, "03-map")
    browser.find_element(By.LINK_TEXT, "Rezé").click()
    WebDriverWait(browser, WAIT_S).until(lambda d: "commune:44143" in d.current_url)
    _wait_text(browser, "#detail-summary", "Dernière valeur observée")

    # Alerts: the firing alert with observed, expected and threshold; acknowledge it.
    browser.get(base + "/alertes")
    _wait_text(browser, "#alerts-firing", "Observé")
    # Dash's dropdown opens a search box with the focus in it: type, then Enter picks the first match.
    browser.find_element(By.ID, "alerts-picker").click()
    _wait_css(browser, "input.dash-dropdown-search")
    browser.switch_to.active_element.send_keys("grave")
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    _wait_text(browser, "#alerts-picker", "grave")
    browser.find_element(By.ID, "alerts-comment").send_keys("pris en charge")
    browser.find_element(By.ID, "alerts-ack").click()
    _wait_text(browser, "#alerts-feedback", "Alerte acquittée")
    _wait_text(browser, "#alerts-firing", "Acquittée par admin")
    _wait_text(browser, "#alerts-ledger", "Cellule de crise (webhook)")
    # Comment on the same alert: listed under it with its author and time; the box is emptied.
    WebDriverWait(browser, WAIT_S).until(lambda d: d.find_element(By.ID, "alerts-comment").get_attribute("value") == "")
    browser.find_element(By.ID, "alerts-comment").send_keys("Renfort demandé au CHU")
    browser.find_element(By.ID, "alerts-comment-post").click()
    _wait_text(browser, "#alerts-feedback", "Commentaire ajouté")
    thread = _wait_text(browser, "#alerts-firing .alert-comments", "Renfort demandé au CHU")
    assert "Commentaires (1)" in thread and "admin" in thread
    assert browser.find_element(By.ID, "alerts-comment").get_attribute("value") == ""
    _shot(browser, "04-alerts")

    browser.get(base + "/qualite-previsions")
    _wait_text(browser, "#quality-table")
    _shot(browser, "05-quality")
    browser.get(base + "/sante-donnees")
    _wait_text(browser, "#health-sources", "Lits")
    _shot(browser, "06-health")

    # English, from the keyboard: the switch in the header is a pair of links; Enter follows the focused one.
    english = browser.find_element(By.CSS_SELECTOR, "#language-switch a[hreflang='en']")
    english.send_keys(Keys.ENTER)
    WebDriverWait(browser, WAIT_S).until(lambda d: "lang=en" in d.current_url)
    _wait_css(browser, "html[lang='en']")
    _wait_text(browser, "h1", "Data health")
    _wait_text(browser, "#health-sources", "Beds")
    assert "Santé des données" not in browser.find_element(By.TAG_NAME, "body").text
    # Remembered: the next pages, opened without the parameter, are in English too.
    browser.get(base + "/")
    _wait_text(browser, "#facility-tiles .tile", "Occupied beds")
    _wait_text(browser, ".page-nav", "Forecast quality")
    assert "Taux d'occupation" not in browser.find_element(By.TAG_NAME, "body").text
    _shot(browser, "07-english-overview")
    browser.get(base + "/detail?place=facility:hp-confluent")
    _wait_text(browser, "#detail-summary", "Probability of exceeding capacity")
    _wait_text(browser, "#environment-relation-title", "Environment and admissions")
    WebDriverWait(browser, WAIT_S).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#detail-lag-chart .barlayer .point")) == 8)
    _wait_text(browser, "#detail-lag-chart", "Lag (days)")
    _shot(browser, "08-english-detail")
    browser.get(base + "/alertes")
    _wait_text(browser, "#alerts-firing", "Comments (1)")
    _wait_text(browser, "#alerts-firing", "Acknowledged by admin")

    # Log out: back to the login form, and the pages are closed.
    browser.find_element(By.CSS_SELECTOR, "button.account-logout").click()
    WebDriverWait(browser, WAIT_S).until(ec.presence_of_element_located((By.ID, "username")))
    _wait_text(browser, ".login", "You are signed out")  # the login page remembers the language too
    browser.get(base + "/alertes")
    WebDriverWait(browser, WAIT_S).until(ec.presence_of_element_located((By.ID, "username")))
