"""The Celery application `left4me`: settings come from Django's CELERY_* names."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "left4me.settings")

app = Celery("left4me")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
