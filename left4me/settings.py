"""left4me settings: one module, every knob read from the environment.

Defaults run the whole product on one machine with no services (SQLite in
var/, a filesystem Celery broker); set DATABASE_URL and REDIS_URL for the
multi-machine path. The table in README.md lists every variable.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.csp import CSP

from left4me.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_str,
    persistent_secret_key,
)
from left4me.outbound import DEFAULT_REFUSED

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("LEFT4ME_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or persistent_secret_key(VAR_DIR / "secret_key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "left4me.apps.Left4meConfig",
    "servers",
    "livestate",
    "steamprofiles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "left4me.urls"
WSGI_APPLICATION = "left4me.wsgi.application"
ASGI_APPLICATION = "left4me.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "left4me.context_processors.live_state_settings",
            ],
        },
    },
]


# --- Database --------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'left4me.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the pages read while the poller writes; IMMEDIATE takes the
        # write lock up front so two writers queue instead of deadlocking.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file (not :memory:) so Celery workers in tests share it; per process so
    # two test runs on one machine never clobber each other's database.
    # Under the temporary directory (./dev test gives each run its own and
    # removes it, with the -wal/-shm files SQLite leaves beside the database).
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"left4me-test-{os.getpid()}.sqlite3")
    }
else:
    # Per process too, so two runs sharing one server never drop each other's database.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


# --- Redis, cache, Celery --------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # Shared by every process on the machine (locks, Steam back-off), no server needed.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "left4me_cache",
        }
    }

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = False
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "livestate.poll": {"queue": "polling"},
    "livestate.poll_chunk": {"queue": "polling"},
}


# --- Live state and Steam --------------------------------------------------

LIVE_STATE_POLL_SECONDS = env_float("LIVE_STATE_POLL_SECONDS", 5, minimum=1)
LIVE_STATE_QUERY_TIMEOUT_SECONDS = env_float("LIVE_STATE_QUERY_TIMEOUT_SECONDS", 2, minimum=0.1)
LIVE_STATE_STALE_SECONDS = env_int("LIVE_STATE_STALE_SECONDS", 30, minimum=1)
LIVE_STATE_HISTORY_DAYS = env_int("LIVE_STATE_HISTORY_DAYS", 30, minimum=1)
LIVE_STATE_PRUNE_SECONDS = env_int("LIVE_STATE_PRUNE_SECONDS", 3600, minimum=60)
LIVE_STATE_POLL_CHUNK_SIZE = env_int("LIVE_STATE_POLL_CHUNK_SIZE", 3000, minimum=1)
STUCK_SESSION_SECONDS = env_int("STUCK_SESSION_SECONDS", 60, minimum=1)
RCON_AUTH_BACKOFF_SECONDS = env_int("RCON_AUTH_BACKOFF_SECONDS", 600, minimum=1)

# Where the panel may connect for an owner (SPEC 13): refused networks, and
# allowed ones that override them (the quick start allows its loopback fleet).
OUTBOUND_REFUSED_NETWORKS = env_networks("OUTBOUND_REFUSED_NETWORKS", DEFAULT_REFUSED)
OUTBOUND_ALLOWED_NETWORKS = env_networks("OUTBOUND_ALLOWED_NETWORKS", "")

STEAM_WEB_API_KEY = env_str("STEAM_WEB_API_KEY")
STEAM_PROFILE_TTL_SECONDS = env_int("STEAM_PROFILE_TTL_SECONDS", 86400, minimum=60)
STEAM_ENRICH_SECONDS = env_float("STEAM_ENRICH_SECONDS", 5, minimum=1)
STEAM_AVATAR_HOSTS = env_list(
    "STEAM_AVATAR_HOSTS",
    [
        "avatars.steamstatic.com",
        "avatars.akamai.steamstatic.com",
        "avatars.cloudflare.steamstatic.com",
        "steamcdn-a.akamaihd.net",
    ],
)

CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "every-5s-poll-servers": {
        "task": "livestate.poll",
        "schedule": LIVE_STATE_POLL_SECONDS,
        # A tick that could not start within its own period is worthless: skip it.
        "options": {"expires": LIVE_STATE_POLL_SECONDS, "queue": "polling"},
    },
    "hourly-prune-live-state": {
        "task": "livestate.prune",
        "schedule": LIVE_STATE_PRUNE_SECONDS,
        "options": {"expires": LIVE_STATE_PRUNE_SECONDS},
    },
    "hourly-prune-steam-profiles": {
        "task": "steamprofiles.prune",
        "schedule": LIVE_STATE_PRUNE_SECONDS,
        "options": {"expires": LIVE_STATE_PRUNE_SECONDS},
    },
    "every-5s-enrich-steam-profiles": {
        "task": "steamprofiles.enrich",
        "schedule": STEAM_ENRICH_SECONDS,
        "options": {"expires": STEAM_ENRICH_SECONDS},
    },
}


# --- Security --------------------------------------------------------------

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", *(f"https://{host}" for host in STEAM_AVATAR_HOSTS)],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
X_FRAME_OPTIONS = "DENY"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "servers:list"
LOGOUT_REDIRECT_URL = "servers:list"


# --- i18n, static, logging -------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
# Serve straight from static/ when collectstatic has not run (quick start, tests).
WHITENOISE_USE_FINDERS = True

LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        name: {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False}
        for name in ("left4me", "servers", "livestate", "steamprofiles")
    },
}
