"""`manage.py check --deploy` and the security settings read from the environment.

Each case starts a fresh process: settings are read once, at start-up, from
an environment this test builds from scratch (nothing of the caller's leaks in).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.nodb

ROOT = Path(settings.BASE_DIR)
BLOCK = re.compile(r"^# =+ Production example.*?^# =+ End of production example", re.M | re.S)
EXAMPLE_LINE = re.compile(r"^# ([A-Z][A-Z0-9_]*)=(.*)$", re.M)


def production_example() -> dict[str, str]:
    """The variables of .env.example's production block, as a deployer sets them."""
    block = BLOCK.search((ROOT / ".env.example").read_text())
    assert block is not None, ".env.example has no production example block"
    return dict(EXAMPLE_LINE.findall(block.group()))


def manage(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "LEFT4ME_VAR_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=base | env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def deploy_check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return manage(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **env)


def test_it_parses_a_production_example_that_turns_https_on():
    example = production_example()
    assert example["DEBUG"] == "false"
    assert example["SECURE_PROXY_SSL_HEADER"] == "HTTP_X_FORWARDED_PROTO"
    assert example["SECURE_SSL_REDIRECT"] == "true"
    assert int(example["SECURE_HSTS_SECONDS"]) >= 31536000
    assert example["CSRF_TRUSTED_ORIGINS"] == "https://" + example["ALLOWED_HOSTS"]


def test_it_passes_the_deploy_check_with_the_production_example(tmp_path):
    # compose gives every app container the URLs of its PostgreSQL and Redis.
    services = {"REDIS_URL": "redis://redis:6379/0"}
    result = deploy_check(tmp_path, **production_example(), **services)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert not re.search(r"\bW0\d\d\b", output), output


def test_it_warns_a_public_deployment_without_https_settings(tmp_path):
    result = deploy_check(
        tmp_path, DEBUG="false", ALLOWED_HOSTS="panel.example.org", SESSION_COOKIE_SECURE="false"
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in output, output


def print_settings(tmp_path: Path, *names: str, **env: str) -> list[str]:
    code = "from django.conf import settings\nfor n in %r: print(repr(getattr(settings, n)))"
    result = manage(tmp_path, "shell", "--no-imports", "-c", code % (names,), **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize(
    ("env", "secure"),
    [
        ({"DEBUG": "false"}, "True"),
        ({"DEBUG": "true"}, "False"),
        ({"DEBUG": "false", "SESSION_COOKIE_SECURE": "false"}, "False"),
        ({"DEBUG": "true", "SESSION_COOKIE_SECURE": "true"}, "True"),
    ],
)
def test_it_makes_cookies_secure_unless_debug_or_told_not_to(tmp_path, env, secure):
    names = ("SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE")
    assert print_settings(tmp_path, *names, **env) == [secure, secure]


def test_it_reads_the_proxy_header_and_login_limits(tmp_path):
    values = print_settings(
        tmp_path,
        "SECURE_PROXY_SSL_HEADER",
        "AXES_FAILURE_LIMIT",
        "AXES_COOLOFF_TIME",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO",
        LOGIN_FAILURE_LIMIT="3",
        LOGIN_LOCKOUT_MINUTES="2",
    )
    assert values == [
        "('HTTP_X_FORWARDED_PROTO', 'https')",
        "3",
        "datetime.timedelta(seconds=120)",
    ]
    assert print_settings(tmp_path, "SECURE_PROXY_SSL_HEADER", SECURE_PROXY_SSL_HEADER="") == [
        "None"
    ]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SECURE_PROXY_SSL_HEADER", "X-Forwarded-Proto"),
        ("LOGIN_FAILURE_LIMIT", "0"),
        ("LOGIN_LOCKOUT_MINUTES", "soon"),
        ("SECURE_HSTS_SECONDS", "-1"),
        ("SECURE_SSL_REDIRECT", "maybe"),
    ],
)
def test_it_refuses_to_start_with_a_bad_security_value(tmp_path, name, value):
    result = manage(tmp_path, "check", **{name: value})
    assert result.returncode != 0
    assert f"EnvError: {name}" in result.stderr
