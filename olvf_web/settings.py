"""Django settings of OLVF screen, read only from the environment.

Every variable is parsed by a helper in ``olvf_web.env`` that rejects malformed
values. docs/operations.md lists each variable with its default.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from olvf_web.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_optional_int,
    env_path,
    env_secret,
    env_str,
    read_or_create_secret_key,
)

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

DEBUG = env_bool("DEBUG", False)

_EMBEDDED_DEFAULT = env_str("DATABASE_URL", "") == ""

SECRET_KEY = env_secret("SECRET_KEY")
if not SECRET_KEY and _EMBEDDED_DEFAULT:
    # The embedded single-machine default (SQLite) keeps a generated key in var/secret_key.
    SECRET_KEY = read_or_create_secret_key(VAR_DIR / "secret_key")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is missing: set SECRET_KEY or SECRET_KEY_FILE whenever DATABASE_URL is set."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "screening.apps.ScreeningConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Makes the request available to the user and role audit handlers, which then record actor and address.
    "screening.signals.AuditRequestMiddleware",
    "olvf_web.middleware.PasswordChangeRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "olvf_web.urls"
WSGI_APPLICATION = "olvf_web.wsgi.application"
ASGI_APPLICATION = "olvf_web.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: SQLite for the embedded default (DATABASE_URL unset or empty), PostgreSQL in production.
DATABASE_URL = env_str("DATABASE_URL", "") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}"
try:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0, minimum=0))
    }
except ValueError as error:
    raise ImproperlyConfigured(f"DATABASE_URL is invalid: {error}") from None
_DATABASE_PASSWORD = env_secret("DATABASE_PASSWORD")
if _DATABASE_PASSWORD:
    DATABASES["default"]["PASSWORD"] = _DATABASE_PASSWORD
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The in-process dispatcher writes from a second thread. IMMEDIATE transactions take the write lock
    # at BEGIN, so a read-then-write transaction waits for the lock instead of failing with "locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

# Languages: Japanese by default, English on request (LocaleMiddleware honours the browser and the switch).
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env_str("TIME_ZONE", "Asia/Tokyo")
USE_TZ = True
# ISO-style dates and 24-hour times in every language; see olvf_web/formats/shared.py.
FORMAT_MODULE_PATH = ["olvf_web.formats"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env_path("STATIC_ROOT", BASE_DIR / "staticfiles")
# collectstatic writes this manifest of hashed file names. The storage class must be a manifest storage
# even before the manifest exists, or collectstatic never writes it. Until it exists, that storage names
# the unhashed files and WhiteNoise serves them from static/. The check happens once at start-up:
# restart the server after running collectstatic.
STATIC_MANIFEST_PRESENT = (Path(STATIC_ROOT) / "staticfiles.json").is_file()
_HASHED_STATIC_FILES = not DEBUG and STATIC_MANIFEST_PRESENT
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "olvf_web.storage.ManifestIfCollectedStaticFilesStorage"
        )
    },
}
# WhiteNoise serves from the source folders (STATICFILES_DIRS and app static folders) when nothing was collected.
WHITENOISE_USE_FINDERS = not _HASHED_STATIC_FILES

MEDIA_ROOT = env_path("MEDIA_ROOT", VAR_DIR / "media")
# Media is never served under a public URL: originals, crops and overlays go through permission-checked views.
MEDIA_URL = "/media-not-served/"

OLVF_MAX_UPLOAD_BYTES = env_int("OLVF_MAX_UPLOAD_BYTES", 512 * 1024 * 1024, minimum=1)
OLVF_MAX_PIXELS = env_int("OLVF_MAX_PIXELS", 80_000_000, minimum=1)
# Uploads above this size go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Django's default, set here because the upload page and the error for a larger form state it.
DATA_UPLOAD_MAX_NUMBER_FILES = 100
FILE_UPLOAD_PERMISSIONS = 0o640

_DEVICE = env_str("OLVF_INFERENCE_DEVICE", "cpu").strip()
# The values inference.pipeline.load_models accepts.
if not re.fullmatch(r"cpu|cuda|cuda:\d+", _DEVICE):
    raise ImproperlyConfigured(f"OLVF_INFERENCE_DEVICE={_DEVICE!r} is invalid: use cpu, cuda or cuda:N.")

# The one dict that configures inference in the web application and its workers.
OLVF_INFERENCE: dict[str, Any] = {
    "bundle_dir": env_path("MODEL_BUNDLE_DIR", BASE_DIR / "bundles" / "demo"),
    "device": _DEVICE,
    "cpu_threads": env_optional_int("OLVF_CPU_THREADS", minimum=1),
    "max_file_bytes": OLVF_MAX_UPLOAD_BYTES,
    "max_pixels_per_frame": OLVF_MAX_PIXELS,
}

# A study RUNNING longer than this is re-queued (or failed after OLVF_STUCK_MAX_ATTEMPTS) by the sweep.
OLVF_STUCK_AFTER_SECONDS = env_int("OLVF_STUCK_AFTER_SECONDS", 30 * 60, minimum=60)
OLVF_STUCK_MAX_ATTEMPTS = env_int("OLVF_STUCK_MAX_ATTEMPTS", 2, minimum=1)

# Celery. An empty CELERY_BROKER_URL means no broker: tasks run on a background thread of the web process.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Eager runs must not propagate, because Celery implements a retry as a raised Retry exception.
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {"screening.tasks.run_screening_task": {"queue": "inference"}}
CELERY_TASK_SOFT_TIME_LIMIT = env_int("OLVF_TASK_SOFT_TIME_LIMIT", 600, minimum=10)
CELERY_TASK_TIME_LIMIT = env_int("OLVF_TASK_TIME_LIMIT", 660, minimum=11)
if CELERY_TASK_TIME_LIMIT <= CELERY_TASK_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured("OLVF_TASK_TIME_LIMIT must be greater than OLVF_TASK_SOFT_TIME_LIMIT.")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Keep Django's LOGGING (JSON lines in production) in workers instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Transient database and storage errors are retried this many times, waiting base * 2**n seconds.
OLVF_TASK_MAX_RETRIES = env_int("OLVF_TASK_MAX_RETRIES", 5, minimum=0)
OLVF_RETRY_BACKOFF_SECONDS = env_int("OLVF_RETRY_BACKOFF_SECONDS", 5, minimum=0)
OLVF_SWEEP_INTERVAL_SECONDS = env_int("OLVF_SWEEP_INTERVAL_SECONDS", 300, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-studies": {
        "task": "screening.tasks.sweep_stuck_studies",
        "schedule": timedelta(seconds=OLVF_SWEEP_INTERVAL_SECONDS),
        # The inference queue, because the GPU worker is the one worker every deployment runs.
        "options": {"queue": "inference"},
    },
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first, so that an anonymous request gets 401 with "WWW-Authenticate: Token".
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "screening.api.exceptions.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "OLVF screen API",
    "DESCRIPTION": (
        "Upload lateral lumbar radiographs and read screening results. "
        "A screening aid for clinicians, never a diagnosis."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # One schema name for each choice set that several fields share (the upload's facing and its conflict).
    "ENUM_NAME_OVERRIDES": {
        "AnteriorSideEnum": ["left", "right"],
        "AnteriorSideSourceEnum": ["stated", "header", "assumed"],
    },
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOG_FORMAT = env_choice("LOG_FORMAT", "text" if DEBUG else "json", ("text", "json"))
LOG_LEVEL = env_choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "olvf_web.logging.JsonFormatter"},
        "text": {"()": "olvf_web.logging.UtcTextFormatter", "fmt": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint (e.g. ".notdef glyph rendered for Unicode string ...") and fontTools warnings quote
        # the rendered text, which in a report includes the patient name; only their errors are logged.
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "ERROR"},
        # The OpenJPEG encoder (pylibjpeg-openjpeg, logger "openjpeg.encode") logs "tile number 1 / 1" at
        # INFO for every JPEG 2000 DICOM file, hundreds of lines while the demo bundle's phantoms are written.
        "openjpeg": {"level": "WARNING"},
        # Django logs these request limit errors at ERROR with a traceback; olvf_web.error_views.bad_request
        # logs each of them in one WARNING line instead.
        "django.security.RequestDataTooBig": {"level": "CRITICAL"},
        "django.security.TooManyFieldsSent": {"level": "CRITICAL"},
        "django.security.TooManyFilesSent": {"level": "CRITICAL"},
    },
}
