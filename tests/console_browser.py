"""The console in a real browser: Debian's chromium, headless, driven by Selenium through
/usr/bin/chromedriver (``scripts/ensure-chromium.sh`` installs both where missing), and a live
server over a socket. What tests/console/test_browser.py and test_pages_read.py share."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from callvault.api.app import create_app
from callvault.auth.users import create_user
from callvault.runtime import Runtime
from callvault.settings import Settings
from console_helpers import PASSWORD
from helpers import LiveServer, call_info, post_call, serve_in_thread

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "build" / "console-screenshots"
WAIT = 30  # seconds a page may take on a loaded 2-core machine (a deadline, not a measure)


@contextlib.contextmanager
def live_site(data_dir: Path, wrap: Any = None, **settings: Any) -> Iterator[LiveServer]:
    """A callvault instance served by uvicorn in a thread; ``wrap(app)`` may put an ASGI
    recorder in front of it. The worker runs only when a test says so."""
    configured = Settings(data_dir=data_dir, run_worker=False, **settings)
    runtime = Runtime.open(configured)
    app = create_app(configured, runtime)
    server, thread, port = serve_in_thread(wrap(app) if wrap else app, configured)
    try:
        yield LiveServer(
            url=f"http://127.0.0.1:{port}", runtime=runtime, port=port, app_state=app.state
        )
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        runtime.close()


@contextlib.contextmanager
def chromium(downloads: Path) -> Iterator[WebDriver]:
    """Headless chromium at 1280×800, downloading into ``downloads``, its console log kept."""
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.fail("chromium and chromedriver are missing: run scripts/ensure-chromium.sh")
    # Explicit paths, and Selenium Manager told to stay offline: nothing is ever downloaded.
    os.environ["SE_OFFLINE"] = "true"
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,800",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "safebrowsing.enabled": False,
        },
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    try:
        yield driver
    finally:
        driver.quit()


def shot(driver: WebDriver, name: str, phone_too: bool = True) -> None:
    driver.save_screenshot(str(SHOTS / f"{name}.png"))
    if phone_too:
        driver.set_window_size(390, 844)
        driver.save_screenshot(str(SHOTS / f"{name}-phone.png"))
        # A phone's width must not need sideways scrolling of the page (tables scroll inside).
        width = driver.execute_script("return document.documentElement.scrollWidth")
        assert width <= 390 + 1, f"{name} is {width}px wide at a phone's width: {wider(driver)}"
        driver.set_window_size(1280, 800)


def wider(driver: WebDriver, limit: int = 391) -> list[str]:
    """The elements that reach past ``limit`` pixels: what makes a page scroll sideways."""
    found: list[str] = driver.execute_script(
        "return Array.from(document.querySelectorAll('body *'))"
        ".filter(e => e.getBoundingClientRect().right > arguments[0])"
        ".map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''))",
        limit,
    )
    return found


def csp_violations(driver: WebDriver) -> list[str]:
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]
    ]


def person(site: LiveServer, name: str, *permissions: str) -> str:
    create_user(site.runtime.engine, name, list(permissions), password=PASSWORD)
    return name


def log_in(driver: WebDriver, site: LiveServer, name: str, password: str = PASSWORD) -> None:
    driver.get(site.url + "/console/login")
    driver.find_element(By.ID, "username").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    # Until the answer is in: the next page, or the login page again with its alert.
    WebDriverWait(driver, WAIT, poll_frequency=0.1).until(
        lambda d: (
            not d.current_url.endswith("/console/login") or d.find_elements(By.ID, "login-error")
        )
    )


def wait_for(driver: WebDriver, css: str, text: str | None = None) -> Any:
    def ready(d: WebDriver) -> Any:
        found = d.find_elements(By.CSS_SELECTOR, css)
        if found and (text is None or text in found[0].text):
            return found[0]
        return False

    try:
        # A page being replaced detaches what was found: look again.
        waiting = WebDriverWait(
            driver,
            WAIT,
            poll_frequency=0.1,
            ignored_exceptions=(StaleElementReferenceException, WebDriverException),
        )
        return waiting.until(ready)
    except TimeoutException:
        raise AssertionError(
            f"{css!r} with {text!r} did not appear on {driver.current_url}"
        ) from None


def capture(site: LiveServer, sessions: list[str], phone: str, **overrides: Any) -> list[str]:
    """Calls of a customer with ``phone``, captured through the API; their call IDs."""
    ids = []
    with site.client(site.token("capture")) as client:
        for sid in sessions:
            contacts = [{"type": "Customer", "phoneNumber": phone}]
            info = call_info(sid, contacts=contacts, **overrides)
            answer = post_call(client, info)
            assert answer.status_code == 200, answer.text
            ids.append(answer.json()["callId"])
    return ids
