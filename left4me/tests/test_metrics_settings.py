"""METRICS_TOKEN is checked at start-up by its shape, and never echoed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings

pytestmark = pytest.mark.nodb

TOKEN = "s3cr3t-metrics-token_0123456789"


def settings_import(**env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "METRICS_TOKEN"}
    return subprocess.run(
        [sys.executable, "-c", "import left4me.settings as s; print(len(s.METRICS_TOKEN))"],
        env=base | env, cwd=Path(django_settings.BASE_DIR), capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    "bad", ["short-token", "a token with spaces in it", "tøken-not-ascii-0123"]
)
def test_it_refuses_a_weak_or_malformed_token_at_start_up_without_echoing_it(bad, tmp_path):
    result = settings_import(METRICS_TOKEN=bad, LEFT4ME_VAR_DIR=str(tmp_path))
    assert result.returncode != 0
    assert "METRICS_TOKEN must be at least 16 characters" in result.stderr
    assert bad not in result.stderr + result.stdout


def test_it_accepts_a_generated_token(tmp_path):
    result = settings_import(METRICS_TOKEN=f" {TOKEN} ", LEFT4ME_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(len(TOKEN))
