"""The real settings, with a secret key for tests so CHOWDA_DEBUG can stay off as in production."""

import os

os.environ.setdefault("CHOWDA_SECRET_KEY", "tests-only-secret-key-not-used-anywhere-else")  # pragma: allowlist secret

from chowda_site.settings import *  # noqa: F403

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not shared-cache memory: Celery worker threads write to it while tests read.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# The test database is dropped at the end of the session: no worker or consumer thread may keep a connection open.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
CELERY_DB_REUSE_MAX = None

# Most tests import media without a worker or a queue; the thumbnail tests turn this on.
THUMBNAILS_ON_IMPORT = False

# The session's worker sends waiting runs again (a retry after HTTP 503, a busy app) each dispatcher round:
# once a second here, not every 5 s, so a test of retries waits for its backoff rather than the round.
DISPATCH_INTERVAL = 1.0

# A worker's heartbeat says which runs it holds; the dispatcher sends again, after two heartbeats, a run marked
# in flight that none holds. Every second here, so a test of that waits seconds, not half a minute.
WORKER_HEARTBEAT = 1.0

# The session's Redis (tests/conftest.py, ``redis_url``) is set before any test runs. Until then, while tests are
# collected, modules that refuse to load without a Redis (the ASGI application) see this address, where nothing
# listens, rather than a Redis that happens to run on this machine.
REDIS_URL = REDIS_URL or "redis://127.0.0.1:1/0"  # noqa: F405
