"""docker-compose.yml cannot run here (no engine), so read it and check what it names."""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
import shutil
import subprocess
import sysconfig
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands

pytestmark = pytest.mark.nodb

ROOT = Path(settings.BASE_DIR)
INFRASTRUCTURE = {"postgres", "redis", "proxy"}  # every other service runs our image
WEB_SERVER = ["python", "-m", "left4me.serve"]
# Where this interpreter's packages put their programs (the image installs the
# same lock file), wherever the virtualenv lives.
SCRIPTS = sysconfig.get_path("scripts")
INTERPOLATION = re.compile(r"^\$\{(\w+)(?::-(.*))?\}$", flags=re.S)


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def app_services(compose) -> dict[str, dict]:
    """Found by what they are, not by name, so celery workers can be split per queue."""
    return {n: s for n, s in compose["services"].items() if n not in INFRASTRUCTURE}


@pytest.fixture(scope="module")
def caddyfile() -> str:
    return (ROOT / "deploy/Caddyfile").read_text()


def commands_of(service: dict) -> list[list[str]]:
    command = service["command"]
    text = command if isinstance(command, str) else shlex.join(command)
    text = re.sub(r'^sh -c "(.*)"$', r"\1", text.strip(), flags=re.S)
    argvs = [shlex.split(part) for part in text.split("&&")]
    return [argv[1:] if argv[0] == "exec" else argv for argv in argvs]


def role(service: dict) -> str:
    """Its job: "web", "beat", or "poller"/"worker" for celery workers by their queues."""
    argv = commands_of(service)[-1]
    if argv[:3] == WEB_SERVER:
        return "web"
    if argv[3] == "beat":
        return "beat"
    return "poller" if "polling" in argv[argv.index("-Q") + 1].split(",") else "worker"


def default_of(value: str) -> str:
    """The value compose uses when .env does not set the variable."""
    match = INTERPOLATION.match(value)
    assert match is not None, value
    return match[2] or ""


def procfile_web() -> list[str]:
    line = re.search(r"^web:\s*(.+)$", (ROOT / "Procfile").read_text(), flags=re.M)
    assert line is not None
    return shlex.split(line[1])


def test_it_defines_every_service_with_a_health_check(compose, app_services):
    assert set(compose["services"]) > INFRASTRUCTURE
    roles = [role(service) for service in app_services.values()]
    assert sorted(roles) == ["beat", "poller", "web", "worker"]  # one beat: no task sent twice
    for name, service in compose["services"].items():
        assert "test" in service["healthcheck"], name


def test_it_health_checks_each_app_service_with_the_command_for_its_role(app_services):
    for name, service in app_services.items():
        check = service["healthcheck"]
        assert check["test"] == ["CMD", "python", "manage.py", "healthcheck", role(service)], name
        for key in ("interval", "timeout", "retries", "start_period"):
            assert key in check, (name, key)


def test_it_health_checks_with_a_command_that_exists():
    assert "healthcheck" in get_commands()


def test_it_builds_app_services_from_our_image_with_the_shared_env(app_services):
    for service in app_services.values():
        assert service["build"] == "."
        assert service["env_file"] == ".env"
        assert default_of(service["environment"]["DATABASE_URL"]).startswith("postgres://")
        assert set(service["depends_on"]) == {"postgres", "redis"}
        assert service["init"] is True  # signals reach Celery through tini
    assert (ROOT / ".env.example").exists()


def test_it_lets_env_set_every_value_the_services_are_given(compose, app_services):
    """`environment:` beats env_file, so a literal there would silently override .env."""
    for name, service in [*app_services.items(), ("proxy", compose["services"]["proxy"])]:
        for key, value in service["environment"].items():
            match = INTERPOLATION.match(str(value))
            assert match is not None, (name, key, value)
            assert match[1] == key, (name, key, value)


def test_it_shares_one_var_volume_between_all_app_containers(compose, app_services):
    """One SECRET_KEY and RCON key file for every container, kept when they are re-created."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^WORKDIR /app$", dockerfile, flags=re.M)  # settings' VAR_DIR: /app/var
    for name, service in app_services.items():
        assert "var:/app/var" in service["volumes"], name
        assert "LEFT4ME_VAR_DIR" not in service["environment"], name
    assert "var" in compose["volumes"]


def test_it_gives_celery_time_for_a_warm_shutdown(app_services):
    for name, service in app_services.items():
        if role(service) in {"worker", "poller"}:
            seconds = int(service["stop_grace_period"].removesuffix("s"))
            assert seconds >= 30, name


def test_it_publishes_only_the_proxy(compose):
    services = compose["services"]
    assert {"80:80", "443:443"} <= set(services["proxy"]["ports"])
    assert [name for name, s in services.items() if "ports" in s] == ["proxy"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in services["proxy"]["volumes"]
    assert services["proxy"]["image"].startswith("caddy:2")


def test_it_trusts_forwarded_headers_from_the_proxy_address_only(compose):
    services = compose["services"]
    proxy_ip = default_of(services["proxy"]["networks"]["front"]["ipv4_address"])
    assert default_of(services["web"]["environment"]["TRUSTED_PROXY"]) == proxy_ip
    assert "front" in services["web"]["networks"]
    (front,) = compose["networks"]["front"]["ipam"]["config"]
    subnet = ipaddress.ip_network(default_of(front["subnet"]))
    dynamic = ipaddress.ip_network(default_of(front["ip_range"]))
    address = ipaddress.ip_address(proxy_ip)
    assert address in subnet
    assert dynamic.subnet_of(subnet)  # type: ignore[arg-type]
    assert address not in dynamic  # Docker never hands the proxy's address to web


def test_it_reverse_proxies_to_web_with_timeouts_and_buffering(caddyfile):
    assert re.search(r"^\s*reverse_proxy web:8000\b", caddyfile, flags=re.M)
    for timeout in ("read_header", "read_body", "write", "idle"):
        assert re.search(rf"^\s*{timeout} \d+[smh]$", caddyfile, flags=re.M), timeout
    assert re.search(r"^\s*request_buffers \d+", caddyfile, flags=re.M)
    assert re.search(r"^\{\$LEFT4ME_DOMAIN:localhost\} \{$", caddyfile, flags=re.M)
    assert not re.search(r"^\s*header\b", caddyfile, flags=re.M)  # security headers: Django's


def test_it_serves_the_web_with_waitress_everywhere(app_services):
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, flags=re.M)
    assert cmd is not None
    assert json.loads(cmd[1])[:3] == WEB_SERVER
    assert procfile_web()[:3] == WEB_SERVER
    (web,) = [s for s in app_services.values() if role(s) == "web"]
    assert commands_of(web)[-1][:3] == WEB_SERVER
    assert "gunicorn" not in (ROOT / "Procfile").read_text() + dockerfile


def test_it_runs_the_image_as_an_unprivileged_user_that_owns_var():
    dockerfile = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER (\S+)$", dockerfile, flags=re.M)
    assert users
    assert users[-1] not in {"root", "0"}
    assert f"chown {users[-1]}:{users[-1]} /app/var" in dockerfile
    assert "uv sync --locked --no-dev" in dockerfile


def test_it_names_only_commands_and_modules_that_exist(app_services):
    manage_commands = set(get_commands())
    for service in app_services.values():
        for argv in commands_of(service):
            program = argv[0]
            if argv[:3] == WEB_SERVER:
                assert (ROOT / "left4me/serve.py").exists()
            elif program == "python":
                assert argv[1] == "manage.py"
                assert argv[2] in manage_commands, argv
            else:
                assert program == "celery", argv
                assert argv[1:3] == ["-A", "left4me"]
                assert argv[3] in {"worker", "beat"}
            assert program == "python" or shutil.which(program, path=SCRIPTS), program


def test_it_consumes_every_queue_the_routes_use(app_services):
    queues = set()
    for service in app_services.values():
        if role(service) in {"worker", "poller"}:
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


def compose_cli_works() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return probe.returncode == 0


@pytest.mark.skipif(not compose_cli_works(), reason="no `docker compose` CLI on this machine")
def test_it_is_a_valid_compose_file(tmp_path):
    """`docker compose config` checks the schema and interpolation without an engine.

    A project directory of its own, so a developer's real .env plays no part.
    """
    (tmp_path / ".env").write_text("SECRET_KEY=dummy\n")
    result = subprocess.run(
        ["docker", "compose", "--project-directory", str(tmp_path),
         "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
