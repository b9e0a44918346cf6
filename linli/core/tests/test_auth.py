import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import time_machine
from django.conf import settings
from django.utils import timezone

from linli.core.models import AuditLog
from linli.factories import TEST_PASSWORD


def login(client, username, password, ip="10.0.0.9"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_sign_in_lands_on_home_and_is_logged(world, client):
    response = login(client, "alice", TEST_PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    entry = AuditLog.objects.get(action="login")
    assert (entry.actor, entry.ip) == (world.alice, "10.0.0.9")


def test_repeated_failures_lock_the_account_for_a_while(world, client):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert login(client, "alice", "wrong").status_code == 200
    locked = login(client, "alice", TEST_PASSWORD)
    assert locked.status_code == 200
    assert "Too many failed sign-ins" in locked.content.decode()
    assert AuditLog.objects.filter(action="login_failed").count() == settings.LOGIN_FAILURE_LIMIT
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.LOGIN_FAILURE_WINDOW_SECONDS + 60)):
        assert login(client, "alice", TEST_PASSWORD).status_code == 302


def test_sessions_expire(world, client):
    login(client, "alice", TEST_PASSWORD)
    assert client.get("/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)):
        assert client.get("/").status_code == 302


def test_production_settings_pass_the_deploy_check():
    env = {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "x" * 64 + "-deploy-check-secret-with-enough-entropy",
        "ALLOWED_HOSTS": "linli.example.org",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest in this process
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    env = {**os.environ, "DEBUG": "false", "DJANGO_SETTINGS_MODULE": "config.settings"}
    env.pop("SECRET_KEY", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr
