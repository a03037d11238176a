"""left4me settings: one module, every knob read from the environment.

Defaults run the whole product on one machine with no services (SQLite in
var/, a filesystem Celery broker); set DATABASE_URL and REDIS_URL for the
multi-machine path. The table in README.md lists every variable.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.utils.csp import CSP

from left4me import crypto
from left4me.env import (
    EnvError,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_networks,
    env_str,
    persistent_secret_key,
    private_dir,
    private_file,
)
from left4me.outbound import DEFAULT_REFUSED

BASE_DIR = Path(__file__).resolve().parent.parent
# Only this user may enter var/ (0700): database, keys, broker messages.
VAR_DIR = private_dir(Path(env_str("LEFT4ME_VAR_DIR", str(BASE_DIR / "var"))))

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
    "axes",
    "left4me.apps.Left4meConfig",
    "servers",
    "livestate",
    "steamprofiles",
    "alerts",
]

MIDDLEWARE = [
    # First: loopback health probes pass whatever ALLOWED_HOSTS and the HTTPS redirect say.
    "left4me.pages.probes.LoopbackProbeMiddleware",
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
    # Last, as axes asks: it turns a refused login into the lockout page.
    "axes.middleware.AxesMiddleware",
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
# A Redis that stalls must fail a call within seconds (and say so in the log),
# not freeze a worker or beat; idle pooled connections are checked before use.
REDIS_SOCKET_TIMEOUT_SECONDS = env_float("REDIS_SOCKET_TIMEOUT_SECONDS", 5, minimum=1)
_redis_sockets: dict[str, Any] = {
    "socket_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
    "socket_connect_timeout": REDIS_SOCKET_TIMEOUT_SECONDS,
    "socket_keepalive": True,
    "health_check_interval": 10,
}
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": dict(_redis_sockets),
        }
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
    # filesystem:// is left4me/broker.py's transport (atomic writes and claims),
    # registered under kombu's name when left4me.celery imports it.
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = dict(_redis_sockets)
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_SOCKET_TIMEOUT_SECONDS
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_SOCKET_TIMEOUT_SECONDS
CELERY_REDIS_BACKEND_HEALTH_CHECK_INTERVAL = 10
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Prefork, with fresh pipes for every replacement child (left4me/pool.py).
CELERY_WORKER_POOL = "left4me.pool:TaskPool"
# A worker whose pool takes no task for this long exits to be restarted (0: never).
WORKER_WEDGED_SECONDS = env_float("WORKER_WEDGED_SECONDS", 3, minimum=0)
# A pool child's death is reported after this long (Celery's default, 10 s,
# kept a killed chunk's servers waiting for three poll periods).
CELERY_WORKER_LOST_WAIT = 2.0
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
# Hourly and daily rollups outlive the raw history: the 30-day and 1-year charts.
LIVE_STATE_ROLLUP_DAYS = env_int("LIVE_STATE_ROLLUP_DAYS", 400, minimum=1)
# How often the recent hourly and daily rollups are recomputed (livestate.rollup).
LIVE_STATE_ROLLUP_SECONDS = env_int("LIVE_STATE_ROLLUP_SECONDS", 60, minimum=10)
# Server statistics summed from the raw history (sessions, maps) are cached this
# long per server snapshot (livestate/stats.py); 0 recomputes them on every view.
LIVE_STATE_STATS_CACHE_SECONDS = env_int("LIVE_STATE_STATS_CACHE_SECONDS", 60, minimum=0)
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
    "every-minute-roll-up-live-state": {
        "task": "livestate.rollup",
        "schedule": LIVE_STATE_ROLLUP_SECONDS,
        # A late rollup is redone by the next one: never queue them up.
        "options": {"expires": LIVE_STATE_ROLLUP_SECONDS},
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
X_FRAME_OPTIONS = "DENY"

# Cookies travel over HTTPS only unless DEBUG is on, or SESSION_COOKIE_SECURE=false
# says this panel is served over plain HTTP (a LAN, the quick start).
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # pages send the token from the template, no script reads it
SESSION_COOKIE_SAMESITE = "Lax"  # Strict would log out everyone who follows a link here
CSRF_COOKIE_SAMESITE = "Lax"

# HTTPS behind a TLS proxy. The proxy header is trusted as given: name it only
# when the proxy always sets it (compose's Caddy does) and clients cannot reach
# the web server around it.
_proxy_ssl_header = env_str("SECURE_PROXY_SSL_HEADER").strip()
if _proxy_ssl_header and not re.fullmatch(r"HTTP_[A-Z0-9_]+", _proxy_ssl_header):
    raise EnvError(
        "SECURE_PROXY_SSL_HEADER must be a request.META name such as HTTP_X_FORWARDED_PROTO, "
        f"got {_proxy_ssl_header!r}"
    )
SECURE_PROXY_SSL_HEADER = (_proxy_ssl_header, "https") if _proxy_ssl_header else None
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]  # loopback health probes speak plain HTTP
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
# Preloading commits the whole registrable domain, not just this panel, to HTTPS
# in browsers for months: its owner's decision, so no warning nags for it.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# DEBUG pages and error mails hide connection URLs (credentials) as well.
DEFAULT_EXCEPTION_REPORTER_FILTER = "left4me.security.SecretUrlFilter"

# Login throttling (django-axes, both login pages): LOGIN_FAILURE_LIMIT failures
# from one address, or against one username, lock that address or username out
# for LOGIN_LOCKOUT_MINUTES after the last counted failure. Failures are rows in
# the database (SQLite or PostgreSQL alike; staff see them in the admin).
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "left4me.security.LoginThrottleHandler"
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
AXES_RESET_ON_SUCCESS = True
# Attempts while locked out do not restart the clock, so the page's "try again
# in N minutes" holds and the lockout always ends.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "left4me.security.client_ip"
AXES_LOCKOUT_CALLABLE = "left4me.security.lockout_response"
AXES_SENSITIVE_PARAMETERS = ["username"]  # people type passwords there; log addresses

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
        for name in ("left4me", "servers", "livestate", "steamprofiles", "alerts")
    },
}


# --- Secrets at rest -------------------------------------------------------

# RCON passwords are stored encrypted (Fernet) with keys kept out of the
# database. RCON_PASSWORD_KEYS: comma-separated keys, the first encrypts and
# all decrypt (rotation steps: README); unset, one key generated once into
# var/. Every process that reads the database needs the same keys: set the
# variable when web, workers and beat do not share one var/ (compose).
RCON_PASSWORD_KEYS = crypto.configured_keys(
    env_str("RCON_PASSWORD_KEYS"), key_file=VAR_DIR / "rcon-password.key"
)

# The SQLite database file 0600 (SQLite gives its -wal and -shm files the same
# mode), created so before SQLite would create it with the umask's.
_sqlite_name = str(DATABASES["default"]["NAME"] or "")
if (
    DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
    and _sqlite_name not in ("", ":memory:")
    and not _sqlite_name.startswith("file:")
    and Path(_sqlite_name).parent.is_dir()
):
    private_file(Path(_sqlite_name))
    for _beside in (Path(f"{_sqlite_name}-wal"), Path(f"{_sqlite_name}-shm")):
        if _beside.exists():  # left by an earlier version with the umask's mode
            private_file(_beside)


# --- Metrics ---------------------------------------------------------------

# /metrics (Prometheus text format) answers `Authorization: Bearer <METRICS_TOKEN>`;
# unset, it answers loopback clients only. A token is a secret: checked here by
# shape only, never echoed.
METRICS_TOKEN = env_str("METRICS_TOKEN").strip()
if METRICS_TOKEN and not re.fullmatch(r"[A-Za-z0-9._~+/-]{16,}=*", METRICS_TOKEN):
    raise EnvError(
        "METRICS_TOKEN must be at least 16 characters of A-Z a-z 0-9 . _ ~ + / - "
        "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
    )
# A scraper on loopback speaks plain HTTP, like the health probe; the redirect
# would protect nothing (a token is sent before any redirect comes back).
SECURE_REDIRECT_EXEMPT = [*SECURE_REDIRECT_EXEMPT, r"^metrics/?$"]


# --- Alerts ----------------------------------------------------------------

# Owners' webhooks (Discord or signed JSON) when a server goes down, comes
# back, rejects the panel's RCON password, crosses a player count or a
# watched player joins. Destinations obey the OUTBOUND_* networks above.
ALERT_DOWN_AFTER_SECONDS = env_int("ALERT_DOWN_AFTER_SECONDS", 60, minimum=1)
# At most this many sends a minute to one destination host (all rules together).
ALERT_RATE_PER_MINUTE = env_int("ALERT_RATE_PER_MINUTE", 30, minimum=1)
# A rule whose deliveries have all failed for this long is paused.
ALERT_PAUSE_AFTER_SECONDS = env_int("ALERT_PAUSE_AFTER_SECONDS", 86400, minimum=60)
ALERT_HISTORY_DAYS = env_int("ALERT_HISTORY_DAYS", 30, minimum=1)
# The panel's public address, for links in alerts (https://panel.example.org); empty: no link.
ALERT_PANEL_URL = env_str("ALERT_PANEL_URL").strip()
if ALERT_PANEL_URL and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", ALERT_PANEL_URL):
    raise EnvError(f"ALERT_PANEL_URL must be an http(s) URL, got {ALERT_PANEL_URL!r}")
# A CA bundle file for HTTPS webhooks (a private CA); empty: the system's.
ALERT_CA_BUNDLE = env_str("ALERT_CA_BUNDLE").strip()
CELERY_BEAT_SCHEDULE["every-5s-evaluate-alerts"] = {
    "task": "alerts.evaluate",
    "schedule": LIVE_STATE_POLL_SECONDS,
    "options": {"expires": LIVE_STATE_POLL_SECONDS},
}
CELERY_BEAT_SCHEDULE["hourly-prune-alert-deliveries"] = {
    "task": "alerts.prune",
    "schedule": LIVE_STATE_PRUNE_SECONDS,
    "options": {"expires": LIVE_STATE_PRUNE_SECONDS},
}
