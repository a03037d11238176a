"""WSGI entry point: `python -m left4me.serve` serves it with waitress (left4me/serve.py)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "left4me.settings")
application = get_wsgi_application()
