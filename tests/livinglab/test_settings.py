"""Configuration comes from the environment and is validated loudly."""

import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_manage(args, env_overrides, settings="livinglab.settings.production"):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update({"DJANGO_SETTINGS_MODULE": settings, **env_overrides})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


PRODUCTION_ENV = {
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "lab.example.org",
    "DATABASE_URL": "postgres://livinglab:secret@127.0.0.1:5432/livinglab",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
}


def test_production_profile_passes_check_deploy_with_no_warning():
    result = run_manage(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "SECRET_KEY"}
    result = run_manage(["check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_sqlite():
    result = run_manage(["check"], {**PRODUCTION_ENV, "DATABASE_URL": "sqlite:///var/x.sqlite3"})
    assert result.returncode != 0 and "DATABASE_URL" in result.stderr


def test_a_malformed_value_stops_start_up_naming_the_variable():
    result = run_manage(["check"], {"AGE_OF_DIGITAL_CONSENT": "sixteen"}, settings="livinglab.settings.dev")
    assert result.returncode != 0
    assert "AGE_OF_DIGITAL_CONSENT" in result.stderr
    result = run_manage(["check"], {"DATABASE_URL": "not a url"}, settings="livinglab.settings.dev")
    assert result.returncode != 0 and "DATABASE_URL" in result.stderr


def test_an_age_of_digital_consent_outside_13_to_16_is_refused():
    result = run_manage(["check"], {"AGE_OF_DIGITAL_CONSENT": "12"}, settings="livinglab.settings.dev")
    assert result.returncode != 0 and "AGE_OF_DIGITAL_CONSENT" in result.stderr


def test_the_embedded_default_needs_no_environment():
    result = run_manage(["check"], {}, settings="livinglab.settings.dev")
    assert result.returncode == 0, result.stderr
