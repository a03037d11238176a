"""docker-compose.yml cannot run here (no engine), so read it and check what it names."""

from __future__ import annotations

import re
import shlex
import shutil
import sysconfig
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands

ROOT = Path(settings.BASE_DIR)
INFRASTRUCTURE = {"postgres", "redis"}  # every other service runs our image
# Where this interpreter's packages put their programs (the image installs the
# same lock file), wherever the virtualenv lives.
SCRIPTS = sysconfig.get_path("scripts")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def app_services(compose) -> dict[str, dict]:
    """Found by what they are, not by name, so celery workers can be split per queue."""
    return {n: s for n, s in compose["services"].items() if n not in INFRASTRUCTURE}


def commands_of(service: dict) -> list[list[str]]:
    command = service["command"]
    text = command if isinstance(command, str) else shlex.join(command)
    text = re.sub(r'^sh -c "(.*)"$', r"\1", text.strip(), flags=re.S)
    return [shlex.split(part) for part in text.split("&&")]


def role(service: dict) -> str:
    """Its job: "web" for gunicorn, else the celery subcommand ("worker" or "beat")."""
    argv = commands_of(service)[-1]
    return "web" if argv[0] == "gunicorn" else argv[3]


def test_it_defines_every_service_with_a_health_check(compose, app_services):
    assert set(compose["services"]) > INFRASTRUCTURE
    roles = [role(service) for service in app_services.values()]
    assert sorted(set(roles)) == ["beat", "web", "worker"]
    assert roles.count("beat") == 1  # a second beat would send every scheduled task twice
    for name, service in compose["services"].items():
        assert "test" in service["healthcheck"], name


def test_it_builds_app_services_from_our_image_with_the_shared_env(app_services):
    for service in app_services.values():
        assert service["build"] == "."
        assert service["env_file"] == ".env"
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert set(service["depends_on"]) == {"postgres", "redis"}
    assert (ROOT / "Dockerfile").exists()
    assert (ROOT / ".env.example").exists()


def test_it_names_only_commands_and_modules_that_exist(app_services):
    manage_commands = set(get_commands())
    for service in app_services.values():
        for argv in commands_of(service):
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
            assert program == "python" or shutil.which(program, path=SCRIPTS), program


def test_it_consumes_every_queue_the_routes_use(app_services):
    queues = set()
    for service in app_services.values():
        if role(service) == "worker":
            argv = commands_of(service)[0]
            queues |= set(argv[argv.index("-Q") + 1].split(","))
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert routed | {settings.CELERY_TASK_DEFAULT_QUEUE} <= queues


def test_it_lists_every_setting_in_env_example():
    example = (ROOT / ".env.example").read_text()
    source = (ROOT / "left4me/settings.py").read_text()
    names = set(re.findall(r'env_(?:str|bool|int|float|list)\(\s*"([A-Z0-9_]+)"', source))
    assert names, "no settings found: the pattern is out of date"
    missing = sorted(name for name in names if name not in example)
    assert missing == []
