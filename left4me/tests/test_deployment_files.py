"""docker-compose.yml cannot run here (no engine), so read it and check what it names."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(settings.BASE_DIR)
APP_SERVICES = {"web", "worker", "beat"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def commands_of(service: dict) -> list[list[str]]:
    command = service["command"]
    text = command if isinstance(command, str) else shlex.join(command)
    text = re.sub(r'^sh -c "(.*)"$', r"\1", text.strip(), flags=re.S)
    return [shlex.split(part) for part in text.split("&&")]


def test_it_defines_every_service_with_a_health_check(compose):
    assert set(compose["services"]) == {"postgres", "redis"} | APP_SERVICES
    for name, service in compose["services"].items():
        assert "test" in service["healthcheck"], name


def test_it_builds_app_services_from_our_image_with_the_shared_env(compose):
    for name in APP_SERVICES:
        service = compose["services"][name]
        assert service["build"] == "."
        assert service["env_file"] == ".env"
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert set(service["depends_on"]) == {"postgres", "redis"}
    assert (ROOT / "Dockerfile").exists()
    assert (ROOT / ".env.example").exists()


def test_it_names_only_commands_and_modules_that_exist(compose):
    manage_commands = set(get_commands())
    for name in APP_SERVICES:
        for argv in commands_of(compose["services"][name]):
            program = argv[0]
            if program == "python":
                assert argv[1] == "manage.py"
                assert argv[2] in manage_commands, argv
            elif program == "gunicorn":
                module = argv[1].partition(":")[0]
                assert (ROOT / (module.replace(".", "/") + ".py")).exists()
            else:
                assert program == "celery", argv
                assert argv[1:3] == ["-A", "left4me"]
                assert argv[3] in {"worker", "beat"}
            assert (Path(settings.BASE_DIR) / ".venv/bin" / program).exists() or program == "python"


def test_it_consumes_every_queue_the_routes_use(compose):
    argv = commands_of(compose["services"]["worker"])[0]
    queues = set(argv[argv.index("-Q") + 1].split(","))
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} <= queues


def test_it_lists_every_setting_in_env_example():
    example = (ROOT / ".env.example").read_text()
    source = (ROOT / "left4me/settings.py").read_text()
    names = set(re.findall(r'env_(?:str|bool|int|float|list)\(\s*"([A-Z0-9_]+)"', source))
    assert names, "no settings found: the pattern is out of date"
    missing = sorted(name for name in names if name not in example)
    assert missing == []
