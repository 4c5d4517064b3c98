"""Chowda settings: everything an operator may change comes from CHOWDA_* environment variables."""

import os
from pathlib import Path

import environ
from kombu import Queue

from chowda_site.running import launched_redis_url
from sso.configuration import single_sign_on_from

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
# Local state: the SQLite database, MMIF, static files, the embedded Redis's data, logs, and while `make run`
# runs, the record of its Redis (chowda_site/running.py).
VAR_DIR = Path(env.str("CHOWDA_VAR_DIR", default=str(BASE_DIR / "var")))

# Fine for development and for tooling (migrate, makemigrations, check); the web server and
# the workers refuse to start with it while CHOWDA_DEBUG is off (chowda_site/startup.py).
DEVELOPMENT_SECRET_KEY = "chowda-development-only-do-not-use-in-production"  # pragma: allowlist secret

DEBUG = env.bool("CHOWDA_DEBUG", default=False)
SECRET_KEY = env.str("CHOWDA_SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)

ALLOWED_HOSTS = env.list("CHOWDA_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CHOWDA_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    # Daphne first, so runserver serves ASGI (websockets included).
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "background",
    "clams_apps",
    "pipelines",
    "batches",
    "runs",
    "findings",
    "reports",
    "deliverables",
    "django_celery_beat",
    "sources",
    "jobs",
    "search",
    "evaluations",
    "api",
    # Sign-in with the archive's OpenID Connect provider (docs/single-sign-on.md). Installed whether or not it is
    # set up, so the database is the same either way; without CHOWDA_OIDC_ISSUER nothing of it is served.
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "sso",
    # Last: its post_migrate handler gives the role groups every app's permissions.
    "ops",
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
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "chowda_site.urls"

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
                "sso.context_processors.single_sign_on",
            ],
        },
    },
]

WSGI_APPLICATION = "chowda_site.wsgi.application"
ASGI_APPLICATION = "chowda_site.asgi.application"

DATABASES = {
    "default": env.db_url("CHOWDA_DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'chowda.sqlite3'}"),
}
# Workers run thousands of short tasks: keep each thread's connection instead of opening one per task.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CHOWDA_DATABASE_CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while a worker writes; IMMEDIATE avoids
    # "database is locked" when two writers upgrade their locks at once.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            # Seconds a write waits for another writer before it fails with "database is locked".
            "timeout": env.float("CHOWDA_SQLITE_BUSY_TIMEOUT", default=20.0),
        }
    )
    if DATABASES["default"]["NAME"] != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("CHOWDA_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("CHOWDA_STATIC_ROOT", default=VAR_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
# In development WhiteNoise serves straight from the apps; elsewhere run collectstatic (the launcher does).
WHITENOISE_USE_FINDERS = DEBUG
MEDIA_ROOT = env.path("CHOWDA_MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "media/"
# The folder of media files (audio, video) that Chowda may serve to the viewer's player, with range requests.
# Only files whose real path (symlinks followed) lies under it are served; empty serves none.
SERVED_MEDIA_ROOT = env.str("CHOWDA_SERVED_MEDIA_ROOT", default=str(VAR_DIR / "demo-media")) or None

# Staging (runs/staging.py, docs/media.md): media an app cannot read where the archive keeps it is copied once
# per run into this folder, which the apps share, and removed when the run ends. The budget is in bytes.
SCRATCH_ROOT = env.str("CHOWDA_SCRATCH_ROOT", default=str(VAR_DIR / "scratch"))
SCRATCH_BUDGET = env.int("CHOWDA_SCRATCH_BUDGET", default=50 * 1024**3)
# Apps run as jobs (jobs/, docs/apps-as-jobs.md): each step's input and output MMIF, and its command's logs,
# are exchanged in a folder of its own under this one, removed when the step ends. For Kubernetes apps it is
# the volume the workers share with the Jobs (CHOWDA_KUBERNETES_EXCHANGE_CLAIM).
JOB_ROOT = env.str("CHOWDA_JOB_ROOT", default=str(VAR_DIR / "jobs"))
# Kubernetes apps (docs/apps-as-jobs.md): how the workers reach the API server ("in-cluster", "kubeconfig", or the
# server's URL with a bearer token and CA file), the Jobs' default namespace, the claims the Jobs mount (the
# exchange volume at CHOWDA_JOB_ROOT, the media where file:// locations point, a cache at /cache), and how long a
# finished Job stays for its output and logs to be read.
KUBERNETES_API = env.str("CHOWDA_KUBERNETES_API", default="in-cluster")
KUBERNETES_TOKEN = env.str("CHOWDA_KUBERNETES_TOKEN", default="")
KUBERNETES_CA_FILE = env.str("CHOWDA_KUBERNETES_CA_FILE", default="")
KUBERNETES_NAMESPACE = env.str("CHOWDA_KUBERNETES_NAMESPACE", default="chowda")
KUBERNETES_EXCHANGE_CLAIM = env.str("CHOWDA_KUBERNETES_EXCHANGE_CLAIM", default="chowda-exchange")
KUBERNETES_MEDIA_CLAIM = env.str("CHOWDA_KUBERNETES_MEDIA_CLAIM", default="")
KUBERNETES_MEDIA_MOUNT = env.str("CHOWDA_KUBERNETES_MEDIA_MOUNT", default="/media")
KUBERNETES_CACHE_CLAIM = env.str("CHOWDA_KUBERNETES_CACHE_CLAIM", default="")
KUBERNETES_TTL = env.int("CHOWDA_KUBERNETES_TTL", default=3600)
# Seconds between two looks at a Job; and before a step whose API server could not be reached is sent again.
KUBERNETES_POLL = env.float("CHOWDA_KUBERNETES_POLL", default=2.0)
KUBERNETES_RETRY = env.float("CHOWDA_KUBERNETES_RETRY", default=60.0)
# Seconds a run waits before it tries again when staging its file would pass the budget.
SCRATCH_WAIT = env.float("CHOWDA_SCRATCH_WAIT", default=30.0)
# The folders whose files a worker may read for a file:// location (to stage it for an app, or make its
# thumbnail); real paths, symlinks followed. Anything else on this machine (secrets, /proc) is refused.
MEDIA_FILE_ROOTS = env.list("CHOWDA_MEDIA_FILE_ROOTS", default=[str(VAR_DIR / "demo-media")])
# Seconds to wait for a media server (HTTP or S3) to connect or to send the next chunk.
STAGING_TIMEOUT = env.float("CHOWDA_STAGING_TIMEOUT", default=30.0)
# An S3-compatible store for s3:// locations; credentials come from the standard AWS_* variables.
S3_ENDPOINT_URL = env.str("CHOWDA_S3_ENDPOINT_URL", default="") or None

# Queue a thumbnail (batches/thumbnails.py) for every media file an import creates.
THUMBNAILS_ON_IMPORT = env.bool("CHOWDA_THUMBNAILS_ON_IMPORT", default=True)

# Where imported media without an explicit location live, e.g. file:///media/{guid}.mp4
MEDIA_LOCATION_TEMPLATE = env.str("CHOWDA_MEDIA_LOCATION_TEMPLATE", default="")

# Seconds to wait for a CLAMS app's metadata (GET /); app calls use the app's own timeout.
CLAMS_METADATA_TIMEOUT = env.float("CHOWDA_CLAMS_METADATA_TIMEOUT", default=10.0)

# Redis carries the Celery queue, the live pages' events and the apps' slots. Unset, it is the Redis of the
# Chowda that `make run` (manage.py launch) is running from VAR_DIR, which records it there; with neither it is
# "", and servers, workers and the commands that send work refuse, saying so (chowda_site/startup.py), rather
# than send to whatever Redis answers on the default port. The launcher and the tests set it for their children.
REDIS_URL = env.str("CHOWDA_REDIS_URL", default="") or launched_redis_url(VAR_DIR)
# Prefix of Chowda's Redis keys, channel-layer groups and Celery queue, so several Chowdas can share one Redis.
REDIS_KEY_PREFIX = env.str("CHOWDA_REDIS_KEY_PREFIX", default="chowda")

# The longest any app may take to answer one MMIF; an app's timeout cannot exceed it.
MAX_APP_TIMEOUT = env.int("CHOWDA_MAX_APP_TIMEOUT", default=6 * 3600)
# How often a step is tried when the app is unreachable, times out or answers 429/502/503/504.
STEP_MAX_ATTEMPTS = env.int("CHOWDA_STEP_MAX_ATTEMPTS", default=5)
# Exponential backoff between those attempts: base * 2**(attempt-1), with jitter, capped.
STEP_RETRY_BACKOFF = env.float("CHOWDA_STEP_RETRY_BACKOFF", default=5.0)
STEP_RETRY_BACKOFF_MAX = env.float("CHOWDA_STEP_RETRY_BACKOFF_MAX", default=600.0)
# Seconds to wait for an app to accept a connection (its own timeout covers the answer).
APP_CONNECT_TIMEOUT = env.float("CHOWDA_APP_CONNECT_TIMEOUT", default=10.0)

# Seconds a live page waits for an app's progress figure (docs/reports.md, "Progress inside a step").
APP_PROGRESS_TIMEOUT = env.float("CHOWDA_APP_PROGRESS_TIMEOUT", default=1.0)

# --- Which URLs Chowda may call as a CLAMS app (clams_apps/url_policy.py) ---
# Empty: any http(s) address but link-local (cloud metadata), unspecified, multicast and reserved ones.
# Set: only these host names and CIDR networks, e.g. "apps.internal,10.20.0.0/16,127.0.0.1/32".
APP_URL_ALLOW = env.list("CHOWDA_APP_URL_ALLOW", default=[])

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": env.int("CHOWDA_API_PAGE_SIZE", default=50),
    "EXCEPTION_HANDLER": "api.exceptions.handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Chowda API",
    "DESCRIPTION": "Run pipelines of CLAMS apps over batches of archive media.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI is served from the sidecar package: nothing is fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Evaluations' statuses and gold kinds are named apart from runs' and sources' in the schema.
    "ENUM_NAME_OVERRIDES": {
        "EvaluationStatusEnum": "evaluations.models.EvaluationStatus",
        "GoldKindEnum": "evaluations.models.GoldKind",
    },
}

# Every Redis client's read timeout must outlast the longest blocking read it performs, or a
# quiet connection dies with "Timeout reading from ...". channels-redis waits up to 5 s in
# BZPOPMIN for the next message, while redis-py 8 made 5 s its default socket timeout
# (channels_redis issue 422, redis-py issue 4091): every quiet websocket was closed with 1011.
# A bounded timeout (not None) still notices a Redis that vanished without closing the socket.
CHANNEL_LAYER_REDIS_OPTIONS = {"socket_timeout": 30.0, "socket_connect_timeout": 5.0, "socket_keepalive": True}
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, **CHANNEL_LAYER_REDIS_OPTIONS}],
            "prefix": f"{REDIS_KEY_PREFIX}:asgi",
            # Events a live page has not read yet; a busy batch sends many, and a dropped one waits for a resync.
            "capacity": 1000,
        },
    },
}

# Kombu's Redis transport sets no socket timeout (None) and blocks in BRPOP for 1 s; the result
# backend reads with 120 s and polls for at most 1 s: neither is cut short by redis-py 8's default.
CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_DEFAULT_QUEUE = REDIS_KEY_PREFIX
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# An unacknowledged task is delivered again after this long. Chowda recovers lost work itself
# (runs/dispatcher.py), so this only bounds how long a message a dead worker held stays hidden; a
# long step that is still alive is not run twice (its redelivered task sees the step running).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env.int("CHOWDA_BROKER_VISIBILITY_TIMEOUT", default=300)}
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = CELERY_BROKER_TRANSPORT_OPTIONS
# Celery closes database connections around every task unless told to reuse them.
CELERY_DB_REUSE_MAX = env.int("CHOWDA_CELERY_DB_REUSE_MAX", default=1000)
CELERY_WORKER_CONCURRENCY = env.int("CHOWDA_WORKER_CONCURRENCY", default=16)

# Background work (thumbnails, duration probes…) has its own Celery queue, so that it never stands in front of
# a run's step; at most BACKGROUND_WINDOW jobs are queued or running at once, across all workers. A worker
# started without -Q consumes both queues; `-Q chowda` or `-Q chowda-background` gives one queue its own workers.
BACKGROUND_QUEUE = f"{REDIS_KEY_PREFIX}-background"
BACKGROUND_WINDOW = env.int("CHOWDA_BACKGROUND_WINDOW", default=4)
CELERY_TASK_QUEUES = (Queue(CELERY_TASK_DEFAULT_QUEUE), Queue(BACKGROUND_QUEUE))
# A schedule's tick (sources/tasks.py) only writes rows: it goes with the background work.
CELERY_TASK_ROUTES = {"sources.tick": {"queue": BACKGROUND_QUEUE}}
# Schedules live in the database (django-celery-beat), read by exactly one beat process: `make run` starts it,
# compose has a `beat` service. A second beat started by mistake sends each tick again, and the tick does nothing
# the second time (Schedule.last_due).
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# The dispatcher (runs/dispatcher.py) keeps at most this many runs of each batch in the queue or
# running, so every active batch progresses and a cancel has little to take back.
# The largest MMIF upload (a file or a zip, counted unpacked) that may become a batch's inputs (runs/inputs.py).
INPUT_UPLOAD_MAX_BYTES = env.int("CHOWDA_INPUT_UPLOAD_MAX_BYTES", default=200 * 1024 * 1024)
DISPATCH_WINDOW = env.int("CHOWDA_DISPATCH_WINDOW", default=2 * CELERY_WORKER_CONCURRENCY)
# Seconds between the dispatcher's rounds in each worker (it also runs when a run starts or ends).
DISPATCH_INTERVAL = env.float("CHOWDA_DISPATCH_INTERVAL", default=5.0)
# A worker writes its heartbeat this often; one silent for WORKER_LOST_AFTER seconds is gone, and
# the runs it had taken are sent again from the step it was on.
WORKER_HEARTBEAT = env.float("CHOWDA_WORKER_HEARTBEAT", default=10.0)
WORKER_LOST_AFTER = env.float("CHOWDA_WORKER_LOST_AFTER", default=30.0)
# A step whose task loses Chowda's own database waits this many seconds for it to answer again, then gives its
# run back to the dispatcher (or, if it is still down, its message back to the queue).
DATABASE_WAIT = env.float("CHOWDA_DATABASE_WAIT", default=60.0)
# An app at its limit gets one run on standby: sent to a worker ahead of time, it takes the app's next free slot
# the moment a step frees it, so a slow app is never idle between calls (docs/operating.md, "Performance").
STANDBY = env.bool("CHOWDA_STANDBY", default=True)
# How long a run on standby waits for its app before it goes back to pending (another takes its place).
STANDBY_WAIT = env.float("CHOWDA_STANDBY_WAIT", default=60.0)
# An app's concurrency slot is a lease of this many seconds, renewed by the heartbeat while the call lasts.
SLOT_LEASE = env.float("CHOWDA_SLOT_LEASE", default=30.0)

# --- Reports and notifications (reports/) ---
# Days of steps per day in the app statistics' charts.
REPORTS_CHART_DAYS = env.int("CHOWDA_REPORTS_CHART_DAYS", default=14)
# How notification emails go out: consolemail:// prints them, smtp://mail.example.org:587 sends them.
vars().update(env.email_url("CHOWDA_EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("CHOWDA_EMAIL_FROM", default="chowda@localhost")
# The site's address as people reach it, for links in emails.
SITE_URL = env.str("CHOWDA_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Batch webhooks: the body is signed with HMAC-SHA256 under this secret; unset, no webhook is sent.
WEBHOOK_SECRET = env.str("CHOWDA_WEBHOOK_SECRET", default="")
WEBHOOK_ATTEMPTS = env.int("CHOWDA_WEBHOOK_ATTEMPTS", default=5)
WEBHOOK_BACKOFF = env.float("CHOWDA_WEBHOOK_BACKOFF", default=30.0)
WEBHOOK_TIMEOUT = env.float("CHOWDA_WEBHOOK_TIMEOUT", default=10.0)

LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"

# --- Single sign-on (sso/, docs/single-sign-on.md) ---
# The CHOWDA_OIDC_* variables, checked here: a wrong or missing value stops every process with a sentence that
# says which. None when CHOWDA_OIDC_ISSUER is unset: then only local accounts sign in, as before.
SINGLE_SIGN_ON = single_sign_on_from(os.environ)
SOCIALACCOUNT_PROVIDERS = SINGLE_SIGN_ON.allauth_providers() if SINGLE_SIGN_ON else {}
ACCOUNT_ADAPTER = "sso.adapters.AccountAdapter"
SOCIALACCOUNT_ADAPTER = "sso.adapters.SocialAccountAdapter"
# The provider vouches for its people: Chowda sends no verification mail, and an address two accounts share
# (a local one and a single sign-on one, unless CHOWDA_OIDC_LINK_BY_EMAIL links them) is no reason to refuse.
ACCOUNT_EMAIL_VERIFICATION = "none"
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_UNIQUE_EMAIL = False
SOCIALACCOUNT_AUTO_SIGNUP = True
# A sign-in linked to a local account by e-mail (sso/adapters.py) stays linked, by the provider's subject.
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_STORE_TOKENS = False
# Seconds to wait for the identity provider (discovery, keys, token, userinfo).
SOCIALACCOUNT_REQUESTS_TIMEOUT = 10

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("CHOWDA_SECURE_COOKIES", default=True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("CHOWDA_LOG_LEVEL", default="INFO")},
}

# --- Deliveries (deliverables/) ---
# Where a curator may deliver a batch, by name: name=/absolute/folder or name=s3://bucket/prefix, comma-separated
# (e.g. "catalog=/srv/deliveries,aapb=s3://aapb-deliveries/chowda"). A curator chooses a name, never a path.
DELIVERY_DESTINATIONS = env.dict("CHOWDA_DELIVERY_DESTINATIONS", default={})
# The S3-compatible store of s3:// destinations (empty: AWS); credentials come from the standard AWS_* variables.
DELIVERY_S3_ENDPOINT_URL = env.str("CHOWDA_DELIVERY_S3_ENDPOINT_URL", default="")
