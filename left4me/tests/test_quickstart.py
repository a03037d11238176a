"""The quick start: finding Python, preparing the database, printing a working login."""

from __future__ import annotations

import re
import shutil
import subprocess
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command


@pytest.mark.nodb
def test_it_explains_what_to_install_when_no_python_is_new_enough(tmp_path):
    shutil.copy(settings.BASE_DIR / "dev", tmp_path / "dev")
    tools = tmp_path / "bin"  # the shell tools the script uses, and no Python at all
    tools.mkdir()
    for tool in ("dirname", "ls", "sort", "sed", "rm", "cat"):
        (tools / tool).symlink_to(shutil.which(tool))
    result = subprocess.run(
        ["/bin/bash", str(tmp_path / "dev"), "setup"],
        env={"PATH": str(tools), "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "none")},
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "needs Python 3.12 or newer" in result.stderr
    assert "pyenv install" in result.stderr
    assert not (tmp_path / ".venv").exists()


@pytest.mark.django_db
def test_it_prepares_a_demo_login_that_works(client, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    out = StringIO()
    call_command("quickstart", "--prepare-only", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000/" in text
    login = re.search(r"Log in as (\S+) / (\S+)", text)
    assert login is not None, text
    username, password = login.groups()
    response = client.post("/login/", {"username": username, "password": password})
    assert response.status_code == 302
    assert client.get("/servers/").context["user"].username == "demo"
    again = StringIO()
    call_command("quickstart", "--prepare-only", stdout=again)
    assert f"Log in as demo / {password}" in again.getvalue()  # same login on re-runs
