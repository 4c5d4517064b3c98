"""A command started in another terminal reaches the Redis of the Chowda that `make run` runs from the same
folder, as the launcher records it while it runs; CHOWDA_REDIS_URL wins; with no Chowda running (or only a
record left by a launcher that died), a command, a worker and the web server refuse with a sentence, and
nothing changes."""

import json
import subprocess
import sys
import uuid

import pytest
import redis

from background.models import BackgroundJob
from batches.models import MediaFile
from runs.models import Run
from tests.factories import BatchFactory, MediaFileFactory, PipelineStepFactory
from tests.fault_helpers import RedisServer, chowda_env
from tests.live_server import ROOT

pytestmark = pytest.mark.django_db(transaction=True)

NO_CHOWDA = "needs the Redis of a running Chowda, and none is known: CHOWDA_REDIS_URL is unset"

# What the launcher does while it runs (tests/test_launcher_record.py runs the real one): hold an exclusive lock
# on var/launcher.json, which names its Redis, until it ends.
LAUNCHER = """
import fcntl, json, os, sys
record = open(sys.argv[1], "w")
fcntl.flock(record, fcntl.LOCK_EX)
record.write(json.dumps({"redis_url": sys.argv[2], "pid": os.getpid()}))
record.flush()
print("recorded", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def var_dir(tmp_path):
    folder = tmp_path / "var"
    folder.mkdir()
    return folder


@pytest.fixture
def servers(tmp_path):
    """Two Redis servers: the one `make run` uses, and another that happens to run on this machine."""
    started = [RedisServer(tmp_path / name, durable=False) for name in ("launched", "other")]
    for server in started:
        server.start()
    yield started
    for server in started:
        server.stop()


@pytest.fixture
def launched(var_dir):
    """Start a stand-in launcher recording ``url``; it runs until the test ends or kills it."""
    running = []

    def launch(url: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(var_dir / "launcher.json"), url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        running.append(process)
        assert process.stdout.readline().strip() == "recorded"
        return process

    yield launch
    for process in running:
        process.kill()
        process.wait(timeout=10)


def manage(var_dir, *args, prefix="chowda", **env) -> subprocess.CompletedProcess:
    """``manage.py`` in another terminal: this folder's settings, the test database, no CHOWDA_REDIS_URL."""
    environment = chowda_env("", CHOWDA_VAR_DIR=str(var_dir), CHOWDA_REDIS_KEY_PREFIX=prefix, **env)
    if "CHOWDA_REDIS_URL" not in env:
        del environment["CHOWDA_REDIS_URL"]
    return subprocess.run(
        [sys.executable, *args], env=environment, cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def import_one(var_dir, tmp_path, guid: str, prefix: str, **env) -> subprocess.CompletedProcess:
    listing = tmp_path / f"{guid}.csv"
    listing.write_text(f"guid,location,mime\n{guid},file:///media/{guid}.mp4,video/mp4\n")
    return manage(
        var_dir, "manage.py", "import_media", str(listing), prefix=prefix, CHOWDA_THUMBNAILS_ON_IMPORT="true", **env
    )


def queued(server: RedisServer, prefix: str) -> int:
    """Messages waiting in Chowda's background queue on this Redis."""
    return redis.Redis.from_url(server.url).llen(f"{prefix}-background")


def test_import_media_sends_its_thumbnails_to_the_redis_that_make_run_records(var_dir, tmp_path, servers, launched):
    launched_redis, other_redis = servers
    launched(launched_redis.url)
    prefix = f"chowda-{uuid.uuid4().hex[:8]}"

    imported = import_one(var_dir, tmp_path, "cpb-aacip-1", prefix)
    told = import_one(var_dir, tmp_path, "cpb-aacip-2", prefix, CHOWDA_REDIS_URL=other_redis.url)

    assert imported.returncode == 0, imported.stderr
    assert told.returncode == 0, told.stderr
    assert queued(launched_redis, prefix) == 1  # cpb-aacip-1's thumbnail
    assert queued(other_redis, prefix) == 1  # CHOWDA_REDIS_URL wins over the record


def test_with_no_chowda_running_a_start_is_refused_and_an_import_only_records(var_dir, tmp_path, servers, launched):
    batch = BatchFactory(name="Nightly", media_files=[MediaFileFactory(guid="cpb-aacip-1")])
    PipelineStepFactory(pipeline=batch.pipeline, position=1)

    def start_is_refused_and_import_records(guid: str):
        refused = manage(var_dir, "manage.py", "start_batch", "Nightly")
        assert refused.returncode == 1, (refused.stdout, refused.stderr)
        assert NO_CHOWDA in refused.stderr, refused.stderr
        assert "Start Chowda with `make run` and try again, or set CHOWDA_REDIS_URL" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert not Run.objects.exists()
        # An import sends nothing: its files and their thumbnails to make are rows, for whichever Chowda runs next.
        imported = import_one(var_dir, tmp_path, guid, "chowda")
        assert imported.returncode == 0, imported.stderr
        assert imported.stderr == ""
        media = MediaFile.objects.get(guid=guid)
        assert BackgroundJob.objects.filter(kind="thumbnail", target=media.pk).exists()

    start_is_refused_and_import_records("cpb-aacip-2")  # nothing recorded
    # A launcher killed with SIGKILL leaves its record behind, naming a Redis that may still answer.
    died = launched(servers[0].url)
    died.kill()
    died.wait(timeout=10)
    assert servers[0].answers()
    assert json.loads((var_dir / "launcher.json").read_text())["redis_url"] == servers[0].url
    start_is_refused_and_import_records("cpb-aacip-3")
    assert queued(servers[0], "chowda") == 0


@pytest.mark.parametrize(
    ("who", "command"),
    [
        ("A Celery worker", ["-m", "celery", "-A", "chowda_site", "worker", "--pool", "threads"]),
        ("The web server", ["-c", "import chowda_site.asgi"]),
    ],
)
def test_a_worker_or_web_server_with_no_chowda_running_refuses_to_start(var_dir, who, command):
    refused = manage(var_dir, *command)

    assert refused.returncode != 0
    assert f"{who} {NO_CHOWDA}" in refused.stderr, refused.stderr
