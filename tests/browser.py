"""Helpers for the browser tests (tests/test_web_browser.py): a headless Chromium driven by
Selenium through the system chromedriver, and what every page is checked for.

Debian packages `chromium` and `chromium-driver` provide /usr/bin/chromium and
/usr/bin/chromedriver; PyPI `selenium` drives them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
SCREENSHOTS = ROOT / "docs" / "screenshots"
PHONE = (412, 915)
DESK = (1280, 900)

T = TypeVar("T")


def chromium(size: tuple[int, int] = DESK) -> webdriver.Chrome:
    """A headless Chromium of `size` (CSS pixels), no network besides what a page asks."""
    options = Options()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--window-size={size[0]},{size[1]}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    resize(driver, size)
    return driver


def resize(driver: webdriver.Chrome, size: tuple[int, int]) -> None:
    """The viewport (not the window) becomes `size`, as on a phone or a desk."""
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": size[0], "height": size[1], "deviceScaleFactor": 1, "mobile": size[0] < 600},
    )


def wait(driver: webdriver.Chrome, timeout: float = 15.0) -> WebDriverWait[webdriver.Chrome]:
    return WebDriverWait(
        driver,
        timeout,
        poll_frequency=0.2,
        ignored_exceptions=(StaleElementReferenceException,),
    )


def until(driver: webdriver.Chrome, check: Callable[[webdriver.Chrome], T], timeout: float) -> T:
    """`check(driver)` once it is truthy (bounded by `timeout` seconds)."""
    return wait(driver, timeout).until(check)


def testid(name: str) -> tuple[str, str]:
    return (By.CSS_SELECTOR, f'[data-testid="{name}"]')


def find(driver: webdriver.Chrome, name: str) -> WebElement:
    return driver.find_element(*testid(name))


def present(driver: webdriver.Chrome, name: str) -> list[WebElement]:
    return driver.find_elements(*testid(name))


def js(driver: webdriver.Chrome, script: str, *args: object) -> Any:
    return driver.execute_script(script, *args)


def post_status(driver: webdriver.Chrome, path: str, body: dict[str, str] | None = None) -> int:
    """POST from the page (same origin, its cookie) the way a forged form would: the status."""
    status: int = driver.execute_async_script(
        """
        const [path, body, done] = arguments;
        fetch(path, {method: "POST", redirect: "manual", credentials: "same-origin",
                     headers: {"Content-Type": "application/x-www-form-urlencoded",
                               "Accept": "application/json"},
                     body: new URLSearchParams(body || {})})
          .then(r => done(r.status), e => done(-1));
        """,
        path,
        body or {},
    )
    return status


def post_json_status(driver: webdriver.Chrome, path: str, body: object) -> int:
    status: int = driver.execute_async_script(
        """
        const [path, body, done] = arguments;
        fetch(path, {method: "POST", credentials: "same-origin",
                     headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)})
          .then(r => done(r.status), e => done(-1));
        """,
        path,
        body,
    )
    return status


def foreign_urls(driver: webdriver.Chrome) -> list[str]:
    """Every URL the page loaded or refers to (scripts, styles, images, frames, requests in
    the performance timeline) that is not on the page's own origin."""
    origin = js(driver, "return location.origin")
    found: list[str] = js(
        driver,
        """
        const urls = performance.getEntriesByType("resource").map(e => e.name);
        for (const el of document.querySelectorAll(
            "script[src], img[src], iframe[src], source[src], link[href], form[action]")) {
          urls.push(el.src || el.href || el.action);
        }
        return urls;
        """,
    )
    return [url for url in found if not same_origin(url, origin)]


def same_origin(url: str, origin: str) -> bool:
    parts, own = urlsplit(url), urlsplit(origin)
    return (parts.scheme, parts.netloc) == (own.scheme, own.netloc)


def horizontal_overflow(driver: webdriver.Chrome) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no sideways scroll)."""
    width: int = js(
        driver,
        "return Math.max(document.body.scrollWidth, document.documentElement.scrollWidth)"
        " - window.innerWidth",
    )
    return width


def screenshot(driver: webdriver.Chrome, name: str, size: tuple[int, int] = DESK) -> Path:
    """The whole page (not only the viewport) as docs/screenshots/NAME.png, overwritten."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    height = int(js(driver, "return document.documentElement.scrollHeight"))
    resize(driver, (size[0], max(size[1], min(height, 4000))))
    try:
        assert driver.save_screenshot(str(path)), path
    finally:
        resize(driver, size)
    return path
