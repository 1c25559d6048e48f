"""Settings switch from the embedded defaults to PostgreSQL and Redis through the environment alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "db = settings.DATABASES['default'];"
    "print(json.dumps({'db': db['ENGINE'], 'name': str(db['NAME']),"
    " 'broker': settings.CELERY_BROKER_URL, 'cache': settings.CACHES['default']['BACKEND'], 'debug': settings.DEBUG,"
    " 'lang': settings.LANGUAGE_CODE, 'tz': settings.TIME_ZONE, 'use_tz': settings.USE_TZ,"
    " 'transport': getattr(settings, 'CELERY_BROKER_TRANSPORT_OPTIONS', {}),"
    " 'apps': settings.INSTALLED_APPS}))"
)
CONFIG_VARIABLES = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "PREXTRA_ENV",
    "DJANGO_DEBUG",
    "DJANGO_SECRET_KEY",
    "PREXTRA_ENCRYPTION_KEY",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "PREXTRA_STAMP_REFRESH",
    "PREXTRA_STALE_AFTER",
    "PREXTRA_TRUSTED_PROXY_HOPS",
    "PREXTRA_PUBLIC_URL",
    "PREXTRA_SAFETY_POLL",
    "PREXTRA_NOTIFIED_RECHECKS",
    *(f"EMAIL_{name}" for name in ("BACKEND", "FILE_PATH", "HOST", "PORT", "HOST_USER", "HOST_PASSWORD")),
    *(f"EMAIL_{name}" for name in ("HOST_PASSWORD_FILE", "USE_TLS", "USE_SSL", "TIMEOUT")),
    "DEFAULT_FROM_EMAIL",
)


def _run(env: dict[str, str], code: str = PROBE, *args: str) -> subprocess.CompletedProcess:
    clean = {key: value for key, value in os.environ.items() if key not in CONFIG_VARIABLES}
    clean["DJANGO_SETTINGS_MODULE"] = "prextra_sync.settings"
    return subprocess.run(
        [sys.executable, "-c", code, *args] if code else [sys.executable, *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _settings(env: dict[str, str]) -> dict:
    result = _run(env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_nothing_set_means_sqlite_and_the_embedded_broker(tmp_path):
    values = _settings({"PREXTRA_VAR_DIR": str(tmp_path)})
    assert values["db"] == "django.db.backends.sqlite3"
    assert values["name"] == str(tmp_path / "prextra.sqlite3")
    assert values["broker"] == f"sqla+sqlite:///{tmp_path / 'celery-broker.sqlite3'}"
    assert values["transport"] == {"connect_args": {"timeout": 30}}
    assert values["cache"].endswith("DatabaseCache")
    assert values["debug"] is True


def test_environment_switches_to_postgresql_and_redis(tmp_path):
    values = _settings(
        {
            "PREXTRA_VAR_DIR": str(tmp_path),
            "DATABASE_URL": "postgres://prextra:pw@db.internal:5432/prextra",
            "CELERY_BROKER_URL": "redis://cache.internal:6379/0",
            "REDIS_URL": "redis://cache.internal:6379/1",
        }
    )
    assert values["db"] == "django.db.backends.postgresql"
    assert values["name"] == "prextra"
    assert values["broker"] == "redis://cache.internal:6379/0"
    assert values["cache"].endswith("RedisCache")
    # With late acks, Redis must not redeliver a task that is still running.
    assert values["transport"]["visibility_timeout"] > 30 * 60


def test_french_canada_toronto_time_by_default(tmp_path):
    values = _settings({"PREXTRA_VAR_DIR": str(tmp_path)})
    assert (values["lang"], values["tz"], values["use_tz"]) == ("fr-ca", "America/Toronto", True)


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _run({"PREXTRA_VAR_DIR": str(tmp_path), "PREXTRA_ENV": "production"})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_malformed_boolean_is_refused_with_its_name(tmp_path):
    result = _run({"PREXTRA_VAR_DIR": str(tmp_path), "DJANGO_DEBUG": "peut-être"})
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be a boolean" in result.stderr


def test_stamps_refreshed_less_often_than_the_red_marker_are_refused(tmp_path):
    env = {"PREXTRA_VAR_DIR": str(tmp_path), "PREXTRA_STAMP_REFRESH": "900", "PREXTRA_STALE_AFTER": "900"}
    result = _run(env)
    assert result.returncode != 0
    assert "PREXTRA_STAMP_REFRESH must be shorter than PREXTRA_STALE_AFTER" in result.stderr


@pytest.mark.parametrize("url", ["http://prextra.example.com", "prextra.example.com", "ftp://x"])
def test_a_public_address_other_than_https_is_refused(tmp_path, url):
    """Graph posts notifications to HTTPS addresses only (exchange/subscriptions.py)."""
    result = _run({"PREXTRA_VAR_DIR": str(tmp_path), "PREXTRA_PUBLIC_URL": url})
    assert result.returncode != 0
    assert "PREXTRA_PUBLIC_URL must be an https:// address" in result.stderr


@pytest.mark.parametrize(("value", "offsets"), [(None, [3, 20]), ("5,30,120", [5, 30, 120]), ("", [])])
def test_the_second_looks_of_a_notified_sync_are_seconds_after_the_first(tmp_path, value, offsets):
    env = {"PREXTRA_VAR_DIR": str(tmp_path)} | ({"PREXTRA_NOTIFIED_RECHECKS": value} if value is not None else {})
    code = "import django; from django.conf import settings; django.setup(); print(settings.PREXTRA_NOTIFIED_RECHECKS)"
    result = _run(env, code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(offsets)


@pytest.mark.parametrize("value", ["20,3", "3,3", "0", "trois", "400"])
def test_second_looks_out_of_order_or_past_the_safety_poll_are_refused(tmp_path, value):
    result = _run({"PREXTRA_VAR_DIR": str(tmp_path), "PREXTRA_NOTIFIED_RECHECKS": value})
    assert result.returncode != 0
    assert "PREXTRA_NOTIFIED_RECHECKS must be" in result.stderr


@pytest.mark.parametrize("hops", ["-1", "un", "1.5"])
def test_a_malformed_trusted_proxy_count_stops_the_start_with_its_name(tmp_path, hops):
    result = _run({"PREXTRA_VAR_DIR": str(tmp_path), "PREXTRA_TRUSTED_PROXY_HOPS": hops})
    assert result.returncode != 0
    assert "ImproperlyConfigured: PREXTRA_TRUSTED_PROXY_HOPS must be" in result.stderr


@pytest.mark.parametrize(("hops", "trusted"), [(None, None), ("0", None), ("1", ["HTTP_X_FORWARDED_PROTO", "https"])])
def test_x_forwarded_proto_is_trusted_only_behind_a_trusted_proxy(tmp_path, hops, trusted):
    """Without a trusted hop, anyone could claim HTTPS with the header; X-Forwarded-Host never counts."""
    env = {
        "PREXTRA_VAR_DIR": str(tmp_path),
        "PREXTRA_ENV": "production",
        "DJANGO_SECRET_KEY": "p3-" + "x7Qz!9kLm#2vB8nR$4tY" * 3,
        "PREXTRA_ENCRYPTION_KEY": "0" * 43 + "=",
    }
    if hops is not None:
        env["PREXTRA_TRUSTED_PROXY_HOPS"] = hops
    code = (
        "import json, django; from django.conf import settings; django.setup(); "
        "print(json.dumps([settings.PREXTRA_TRUSTED_PROXY_HOPS, settings.SECURE_PROXY_SSL_HEADER,"
        " settings.USE_X_FORWARDED_HOST]))"
    )
    result = _run(env, code)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [int(hops or 0), trusted, False]


def test_demo_and_benchmark_are_development_tools_absent_from_production(tmp_path):
    development = _settings({"PREXTRA_VAR_DIR": str(tmp_path)})
    production = _settings(
        {
            "PREXTRA_VAR_DIR": str(tmp_path),
            "PREXTRA_ENV": "production",
            "DJANGO_SECRET_KEY": "p3-" + "x7Qz!9kLm#2vB8nR$4tY" * 3,
            "PREXTRA_ENCRYPTION_KEY": "0" * 43 + "=",
        }
    )
    assert "devtools" in development["apps"]
    assert "devtools" not in production["apps"]
    assert {"accounts", "crm", "exchange"} <= set(production["apps"])


def test_secret_key_can_come_from_a_file(tmp_path):
    key_file = tmp_path / "secret"
    key_file.write_text("k" * 60 + "\n")
    code = "import django; from django.conf import settings; django.setup(); print(settings.SECRET_KEY)"
    result = _run({"PREXTRA_VAR_DIR": str(tmp_path), "DJANGO_SECRET_KEY_FILE": str(key_file)}, code)
    assert result.stdout.strip() == "k" * 60


@pytest.mark.slow
def test_production_mode_passes_check_deploy(tmp_path):
    env = {
        "PREXTRA_VAR_DIR": str(tmp_path),
        "PREXTRA_ENV": "production",
        "DJANGO_SECRET_KEY": "p3-" + "x7Qz!9kLm#2vB8nR$4tY" * 3,
        "PREXTRA_ENCRYPTION_KEY": "0" * 43 + "=",
        "DJANGO_ALLOWED_HOSTS": "prextra.example.com",
    }
    result = _run(env, "", "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


EMAIL_PROBE = (
    "import json, django; from django.conf import settings; django.setup(); print(json.dumps({name: "
    "str(getattr(settings, name)) for name in ('EMAIL_BACKEND', 'EMAIL_FILE_PATH', 'EMAIL_HOST', 'EMAIL_PORT',"
    " 'EMAIL_HOST_USER', 'EMAIL_HOST_PASSWORD', 'EMAIL_USE_TLS', 'DEFAULT_FROM_EMAIL')}))"
)
PRODUCTION = {
    "PREXTRA_ENV": "production",
    "DJANGO_SECRET_KEY": "p3-" + "x7Qz!9kLm#2vB8nR$4tY" * 3,
    "PREXTRA_ENCRYPTION_KEY": "0" * 43 + "=",
}


def test_development_writes_emails_as_files_under_var_mail(tmp_path):
    """The demo's sign-in codes (R2 « Authentification par courriel ») are read in var/mail/."""
    result = _run({"PREXTRA_VAR_DIR": str(tmp_path)}, EMAIL_PROBE)
    values = json.loads(result.stdout)
    assert values["EMAIL_BACKEND"] == "django.core.mail.backends.filebased.EmailBackend"
    assert values["EMAIL_FILE_PATH"] == str(tmp_path / "mail")


def test_production_sends_emails_through_the_smtp_server_of_the_environment(tmp_path):
    password_file = tmp_path / "smtp-password"
    password_file.write_text("s3cret\n")
    env = {
        **PRODUCTION,
        "PREXTRA_VAR_DIR": str(tmp_path),
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": "587",
        "EMAIL_HOST_USER": "prextra",
        "EMAIL_HOST_PASSWORD_FILE": str(password_file),
        "EMAIL_USE_TLS": "true",
        "DEFAULT_FROM_EMAIL": "Prextra <prextra@example.com>",
    }
    values = json.loads(_run(env, EMAIL_PROBE).stdout)
    assert values == {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "EMAIL_HOST": "smtp.example.com",
        "EMAIL_PORT": "587",
        "EMAIL_HOST_USER": "prextra",
        "EMAIL_HOST_PASSWORD": "s3cret",
        "EMAIL_USE_TLS": "True",
        "DEFAULT_FROM_EMAIL": "Prextra <prextra@example.com>",
    }


def test_tls_and_ssl_together_are_refused(tmp_path):
    result = _run({"PREXTRA_VAR_DIR": str(tmp_path), "EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, EMAIL_PROBE)
    assert result.returncode != 0
    assert "EMAIL_USE_TLS and EMAIL_USE_SSL" in result.stderr
