"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server."""

import os
from importlib import import_module
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 360, "height": 740}


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Chromium is missing: `make test` installs it (apt-get install chromium)."
    # Playwright's sync API runs an event loop in this thread, which Django's ORM would take
    # for async code. Allowed only while the browser is up (browser tests run last).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def desktop(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name, full_page=True):
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take


@pytest.fixture(autouse=True)
def _roles(transactional_db):
    """Transactional tests flush the database, and with it the groups the migrations made."""
    from django.apps import apps

    from enrollment.roles import grant_role_permissions

    for module in (
        "enrollment.migrations.0002_roles",
        "scheduling.migrations.0002_role_permissions",
        "enrollment.migrations.0005_participation_permissions",
        "safety.migrations.0002_role_permissions",
        "billing.migrations.0002_role_permissions",
        "billing.migrations.0005_subsidy_permissions",
        "enrollment.migrations.0009_document_permissions",
    ):
        grant_role_permissions(apps, import_module(module).ROLE_PERMISSIONS)
