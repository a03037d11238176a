"""left4me: a self-hosted panel for Left 4 Dead 2 dedicated servers."""

from __future__ import annotations

# Import the Celery app whenever Django starts so @shared_task binds to it.
from left4me.celery import app as celery_app

__all__ = ("celery_app",)
