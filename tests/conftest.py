import json
import os
import shutil
import socket
import sys
import time
import uuid
from pathlib import Path

import clams
import pytest
from django.contrib.auth.models import Group
from kombu import Queue

from tests import clams_test_apps
from tests.factories import UserFactory

# clams-python versions an app from the git checkout beside __main__'s file. In a pytest-xdist worker
# __main__ is execnet's, which has no file and makes AppMetadata raise: give it pytest's, as `python -m
# pytest` has (no checkout there, so the version is the same "unresolved" one).
if not getattr(sys.modules["__main__"], "__file__", None):
    sys.modules["__main__"].__file__ = pytest.__file__


@pytest.fixture(scope="session")
def clams_apps_served():
    """Real clams-python apps on loopback, shared by the whole session: name -> base URL."""
    served = {
        "segmenter": clams_test_apps.serve(clams_test_apps.Segmenter()),
        "transcriber": clams_test_apps.serve(clams_test_apps.Transcriber()),
        "ocr": clams_test_apps.serve(clams_test_apps.OcrOnImages()),
        "not_clams": clams_test_apps.serve(clams_test_apps.not_clams_app),
    }
    yield {name: app.url for name, app in served.items()}
    for app in served.values():
        app.stop()


def registered_test_app(app_class, name):
    """A registered app whose metadata is what the real test app answers to GET /, without serving it."""
    from tests.factories import ClamsAppFactory

    return ClamsAppFactory(name=name, metadata=json.loads(app_class().appmetadata()))


@pytest.fixture
def segmenter(db):
    return registered_test_app(clams_test_apps.Segmenter, "Test Segmenter")


@pytest.fixture
def transcriber(db):
    return registered_test_app(clams_test_apps.Transcriber, "Test Transcriber")


@pytest.fixture
def ocr(db):
    return registered_test_app(clams_test_apps.OcrOnImages, "Test OCR")


@pytest.fixture
def tones(db):
    """An app built for MMIF 1.0.4, as app-tonedetection v1.0 is."""
    return registered_test_app(clams_test_apps.ToneDetector, "Test Tones")


@pytest.fixture
def unreachable_url():
    """A loopback URL where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# Personas: the people whose permissions the tests talk about.


@pytest.fixture
def superuser(db):
    return UserFactory(username="root", is_superuser=True)


@pytest.fixture
def curator(db):
    user = UserFactory(username="curator")
    user.groups.add(Group.objects.get(name="Curators"))
    return user


@pytest.fixture
def viewer(db):
    user = UserFactory(username="viewer")
    user.groups.add(Group.objects.get(name="Viewers"))
    return user


@pytest.fixture
def curator_client(client, curator):
    client.force_login(curator)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def api(curator):
    """An API client signed in as the curator (tests switch persona with ``api.force_authenticate``)."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(curator)
    return client


@pytest.fixture
def superuser_client(client, superuser):
    client.force_login(superuser)
    return client


# The runner's world: one Redis, one Celery worker and one set of CLAMS apps per session.


@pytest.fixture(scope="session", autouse=True)
def redis_url(tmp_path_factory):
    """CHOWDA_REDIS_URL if set, else an embedded Redis on a free loopback port, stopped at the end.

    Every test has it: a page or a command that reaches Redis never reaches one that happens to run on this
    machine (the tests once leant on one at the default port), nor the one a `make run` here records.
    """
    from channels.layers import channel_layers
    from django.conf import settings

    from chowda_site.celery import app as celery_app
    from chowda_site.redis_server import free_port, start_redis

    process = None
    url = os.environ.get("CHOWDA_REDIS_URL")
    if not url:
        port = free_port()
        process = start_redis(port, tmp_path_factory.mktemp("redis"), durable=False)
        url = f"redis://127.0.0.1:{port}/0"
    # A queue and key prefix of our own, so a shared Redis's leftovers never reach this session.
    session = uuid.uuid4().hex[:8]
    settings.REDIS_URL = url
    settings.REDIS_KEY_PREFIX = f"chowda-test-{session}"
    settings.BACKGROUND_QUEUE = f"{settings.REDIS_KEY_PREFIX}-background"
    celery_app.conf.update(
        broker_url=url,
        result_backend=url,
        task_default_queue=settings.REDIS_KEY_PREFIX,
        task_queues=(Queue(settings.REDIS_KEY_PREFIX), Queue(settings.BACKGROUND_QUEUE)),
    )
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                **settings.CHANNEL_LAYERS["default"]["CONFIG"],
                "hosts": [{"address": url, **settings.CHANNEL_LAYER_REDIS_OPTIONS}],
                "prefix": f"{settings.REDIS_KEY_PREFIX}:asgi",
            },
        }
    }
    channel_layers.backends.clear()
    yield url
    if process is not None:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def celery_worker(redis_url, django_db_setup, django_db_blocker):
    """A real Celery worker with a pool of 8 threads, in this process, for the whole session.

    Its heartbeat and dispatcher threads (runs/workers.py) use the test database between tests too.
    """
    from celery.contrib.testing.worker import start_worker

    from chowda_site.celery import app as celery_app
    from runs import workers

    with django_db_blocker.unblock():
        with start_worker(
            celery_app, pool="threads", concurrency=8, perform_ping_check=False, shutdown_timeout=30, loglevel="WARNING"
        ) as worker:
            yield worker
        workers.stop()  # the test worker does not always send worker_shutdown


@pytest.fixture(autouse=True)
def worker_idle_before_flush(request):
    """Let the session's worker go quiet before a transactional test's database is flushed.

    On PostgreSQL the flush TRUNCATEs every table. A task still running after the test has seen what it
    waited for (a notification check after a run ended, a step delivered again), or a dispatcher round
    locking runs and batches, deadlocks with it. So the worker's heartbeat and dispatcher threads stop
    first, its tasks finish, and the threads start again when the next test that uses the worker begins.
    """
    if "celery_worker" not in request.fixturenames:
        yield
        return
    from celery.worker import state

    from runs import workers

    worker = request.getfixturevalue("celery_worker")
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and marker.kwargs.get("transaction")
    if transactional:
        request.getfixturevalue("transactional_db")  # set up first, so torn down after this waits
    if not workers._threads:
        with request.getfixturevalue("django_db_blocker").unblock():
            workers.start(sender=worker)
    yield
    if not transactional:
        return
    workers.stop()
    deadline, idle_checks = time.monotonic() + 30, 0
    while idle_checks < 3 and time.monotonic() < deadline:
        busy = state.active_requests or state.reserved_requests
        idle_checks = 0 if busy else idle_checks + 1
        time.sleep(0.05)


@pytest.fixture(scope="session")
def runner_apps():
    """Real CLAMS apps and impostors on loopback: name -> (url, behaviour)."""
    from tests import runner_apps as apps

    specs = {
        "first": apps.tagger_wsgi("First"),
        "second": apps.tagger_wsgi("Second", inputs=()),
        "third": apps.tagger_wsgi("Third", inputs=()),
        "not_json": apps.static_answer(b"<html>Hello</html>", "text/html"),
        "not_mmif": apps.static_answer(b'{"documents": "none"}'),
        "lazy": apps.echo_unchanged,
        "tones": apps.tones_wsgi(),
    }
    served, behaviours = {}, {}
    for name, wsgi_app in specs.items():
        behaviours[name] = apps.Behaviour()
        served[name] = clams_test_apps.serve(apps.with_behaviour(wsgi_app, behaviours[name]))
    yield {name: (served[name].url, behaviours[name]) for name in specs}
    for app in served.values():
        app.stop()


@pytest.fixture
def daphne(redis_url, tmp_path, settings):
    """Chowda served by Daphne in its own process (see tests/live_server.py), stopped after the test."""
    from tests.live_server import Daphne

    settings.MEDIA_ROOT = str(tmp_path / "media")
    server = Daphne(redis_url, tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's S3-compatible server (moto[server], a dev dependency) on loopback for the session: its URL."""
    from tests.staging_helpers import start_moto

    process, endpoint, problem = start_moto(tmp_path_factory.mktemp("moto"))
    if problem:
        pytest.fail(f"moto's S3 server did not start: {problem}. `make install-dev` installs it.")
    yield endpoint
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def paused_dispatcher():
    """Stop the in-process test worker's heartbeat and dispatcher (if they run) while a fault test runs
    workers of its own on another Redis: both read the same database. The next test that uses the
    session's worker starts them again (worker_idle_before_flush)."""
    from runs import workers

    if workers._threads:
        workers.stop()


@pytest.fixture
def faults(tmp_path, paused_dispatcher):
    """Redis servers and Celery worker processes of the test's own (tests/fault_helpers.py)."""
    from tests.fault_helpers import FaultWorld

    world = FaultWorld(tmp_path)
    yield world
    world.close()


@pytest.fixture
def idle_runner_apps(runner_apps, settings, tmp_path):
    """The runner apps with their counters reset, once the requests of earlier tests are done, and the
    test's own MMIF storage."""
    from tests.runner_helpers import wait_for

    settings.MEDIA_ROOT = str(tmp_path / "media")
    for _url, behaviour in runner_apps.values():
        # A request abandoned by an earlier test (a timeout) may still be running in the app.
        wait_for(lambda b=behaviour: b.in_flight == 0, message="the apps to finish earlier requests")
        behaviour.reset()
    return runner_apps


@pytest.fixture(scope="session")
def identity_provider(tmp_path_factory):
    """A real OpenID Provider (oidc-provider on Node, tests/oidc/) on loopback for the session."""
    from tests.identity_provider import IdentityProvider

    provider = IdentityProvider(tmp_path_factory.mktemp("identity-provider"))
    yield provider
    provider.stop()


@pytest.fixture
def single_sign_on(settings, identity_provider):
    """Chowda (this process, Django's test client) set up to sign in with the identity provider."""
    from sso.configuration import single_sign_on_from

    config = single_sign_on_from(identity_provider.chowda_env("http://testserver"))
    settings.SITE_URL = "http://testserver"
    settings.SINGLE_SIGN_ON = config
    settings.SOCIALACCOUNT_PROVIDERS = config.allauth_providers()
    return config


# Apps run as jobs (tests/test_apps_as_commands.py, tests/test_kubernetes_steps.py): the test app in the CLAMS app
# template's layout, with the template's own cli.py from the installed clams-python.
TEMPLATE_CLI = Path(clams.__file__).parent / "develop" / "templates" / "app" / "cli.py.template"
METADATA_PY = """import sys

from clams.app import ClamsApp

from app import appmetadata

if __name__ == "__main__":
    metadata = appmetadata()
    for param in ClamsApp.universal_parameters:
        metadata.add_parameter(**param)
    sys.stdout.write(metadata.jsonify(pretty=True))
"""


@pytest.fixture(scope="session")
def job_app(tmp_path_factory):
    """The test app in the CLAMS app template's layout: tests/job_test_app.py as app.py, the template's cli.py."""
    folder = tmp_path_factory.mktemp("job-tester")
    shutil.copy(Path(__file__).resolve().parent / "job_test_app.py", folder / "app.py")
    shutil.copy(TEMPLATE_CLI, folder / "cli.py")
    (folder / "metadata.py").write_text(METADATA_PY)
    return folder
