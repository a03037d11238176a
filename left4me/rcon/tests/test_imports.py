"""The package stays framework-free: its own modules never import Django or Celery."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

# `left4me/__init__.py` loads the Celery app (the Django project's convention), so
# the parent package is stubbed out to see what left4me.rcon itself pulls in.
CODE = """
import sys, types
parent = types.ModuleType("left4me")
parent.__path__ = ["left4me"]
sys.modules["left4me"] = parent
import left4me.rcon, left4me.rcon.fleet, left4me.rcon.fleet.__main__
print(sorted({m.split(".")[0] for m in sys.modules} & {"django", "celery"}))
"""


def test_it_imports_neither_django_nor_celery():
    result = subprocess.run(
        [sys.executable, "-c", CODE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
