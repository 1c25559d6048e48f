"""Shared fixtures: named people for permission tests, a pinned language, browser settings."""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest
from django.utils import translation

# Playwright's sync API runs an event loop in the test thread; the ORM must still be usable there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "motdepasse-test"


def pytest_configure(config):
    """A fast password hasher: every create_user would otherwise run the full PBKDF2 (about 0.3 s
    each here). Processes the tests start (workers, the benchmark) keep the real hashers."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Only browser tests may use pytest-playwright's fixtures. A test that names `page` (even as a
    parameter) is parametrized by browser, and pytest then regroups it with the browser tests:
    the tests after the group run after the live-server tests, which empty the database (the
    EXC group, the shipped settings) — as happened once with a parameter called `page`."""
    playwright = {"page", "browser", "context", "browser_name"}
    strays = [
        item.nodeid
        for item in items
        if playwright & set(getattr(item, "fixturenames", ())) and not item.get_closest_marker("browser")
    ]
    if strays:
        raise pytest.UsageError("pytest-playwright fixtures outside browser tests: " + ", ".join(strays))


@pytest.fixture(autouse=True)
def _french_by_default():
    """Every test starts in the product's default language, whatever the previous one activated."""
    with translation.override("fr-ca"):
        yield


@pytest.fixture(autouse=True)
def _empty_cache():
    """Sign-in throttling counters (and anything else cached) never leak from one test to the next."""
    from django.core.cache import cache

    # With the database cache, tests without database access cannot (and need not) clear it:
    # their rows are rolled back with each test anyway.
    with contextlib.suppress(Exception):
        cache.clear()
    yield


@pytest.fixture
def admin_user(django_user_model):
    """Alice, an administrator."""
    return django_user_model.objects.create_user(
        "ALICE", PASSWORD, name="Alice Administratrice", email="alice@prextra.test", is_staff=True
    )


@pytest.fixture
def crm_user(django_user_model):
    """Bob, CRM staff (not an administrator)."""
    return django_user_model.objects.create_user("BOB", PASSWORD, name="Bob Bélanger", email="bob@prextra.test")


@pytest.fixture
def outsider(django_user_model):
    """Charlie, another CRM user whose private data Bob must never see."""
    return django_user_model.objects.create_user("CHARLIE", PASSWORD, name="Charlie Côté", email="charlie@prextra.test")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium, never a downloaded browser (docs/recipes/browser-tests.md), in French
    (Canada) so date and time inputs look as the customer's browsers show them."""
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    return {**browser_type_launch_args, "executable_path": executable, "args": ["--lang=fr-CA"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "fr-CA", "timezone_id": "America/Toronto"}
