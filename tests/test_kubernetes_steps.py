"""Steps of a Kubernetes app through the real worker: one Job per step on the stand-in API server
(tests/kubernetes_standin.py, which runs the Job's container as a local process: the clams-python template's
cli.py of the test app), judged from the MMIF it wrote on the exchange volume as a command's step is.

What the stand-in cannot tell (scheduling, a real kubelet) is said in docs/apps-as-jobs.md."""

import json
import subprocess
import sys

import pytest

from batches.models import DocumentType
from clams_apps.models import Mode
from clams_apps.services import app_register_job
from jobs.kubernetes import KUBERNETES_VERSION
from runs.models import Status, StepRun
from runs.services import batch_cancel, batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.kubernetes_standin import ANY, KubernetesStandIn
from tests.runner_helpers import wait_for, wait_until_finished

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("celery_worker")]

IMAGE = "ghcr.io/example/job-tester:v1"
NAMESPACE = "chowda-test"


@pytest.fixture
def cluster(settings, tmp_path, job_app):
    """The stand-in API server, and the worker's settings pointing at it; the exchange claim is CHOWDA_JOB_ROOT."""
    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (tmp_path / "logs").mkdir()
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.JOB_ROOT = str(jobs)
    settings.STEP_RETRY_BACKOFF = 0.05
    settings.KUBERNETES_NAMESPACE = NAMESPACE
    settings.KUBERNETES_EXCHANGE_CLAIM = "exchange"
    settings.KUBERNETES_POLL = 0.2
    settings.KUBERNETES_RETRY = 0.5
    with KubernetesStandIn(
        claims={"exchange": jobs}, images={IMAGE: job_app}, namespaces=(NAMESPACE,), logs=tmp_path / "logs"
    ) as server:
        settings.KUBERNETES_API, settings.KUBERNETES_TOKEN = server.url, server.token
        yield server


def kubernetes_app(job_app, **fields):
    return app_register_job(
        Mode.KUBERNETES,
        name="job-tester-k8s",
        image=IMAGE,
        metadata_command=f"{sys.executable} {job_app / 'metadata.py'}",
        **fields,
    )


def one_file_batch(app, parameters):
    pipeline = PipelineFactory()
    PipelineStepFactory(pipeline=pipeline, position=1, app=app, parameters=parameters)
    media = MediaFileFactory(location="file:///media/a.wav", mime_type="audio/wav", document_type=DocumentType.AUDIO)
    return BatchFactory(pipeline=pipeline, media_files=[media])


def the_step(batch) -> StepRun:
    return StepRun.objects.get(run__batch=batch)


def test_a_step_runs_as_a_job_whose_pending_pod_the_step_shows(cluster, job_app):
    app = kubernetes_app(job_app, gpus=1)
    batch = one_file_batch(app, {"label": "speech"})
    cluster.hold(ANY, "Unschedulable", "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")

    batch_start(batch)

    waiting = wait_for(
        lambda: StepRun.objects.filter(run__batch=batch, job_state__contains="GPU").first(),
        message="the step to show its pod waiting for a GPU",
    )
    assert waiting.status == Status.RUNNING and waiting.job_name.startswith(f"chowda-r{waiting.run_id}-s1-d")
    (received,) = [manifest for manifest in cluster.received if manifest["metadata"]["name"] == waiting.job_name]
    container = received["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"]["nvidia.com/gpu"] in (1, "1")
    assert container["command"][:2] == ["python3", "cli.py"] and "--label=speech" in container["command"]
    assert received["spec"]["activeDeadlineSeconds"] == app.timeout
    cluster.release(ANY)
    (run,) = wait_until_finished(batch, timeout=60)

    step = the_step(batch)
    assert run.status == Status.SUCCEEDED, run.error
    assert (step.job_name, step.job_state, step.http_status) == ("", "", None)
    assert not any((cluster.claims["exchange"]).glob("*/*")), "the step's exchange folder goes once it is read"


def test_an_app_that_fails_in_its_job_says_why_with_its_log(cluster, job_app):
    batch = one_file_batch(kubernetes_app(job_app), {"behaviour": "fail"})

    batch_start(batch)
    (run,) = wait_until_finished(batch, timeout=60)

    step = the_step(batch)
    assert run.status == Status.FAILED
    assert step.error_message == (
        f"App 'job-tester-k8s' (image {IMAGE}) failed: <class 'RuntimeError'>: the test app failed on purpose"
    )
    assert "Error in annotation" in step.log_tail and step.error_mmif


def test_cancel_deletes_the_job_and_its_process(cluster, job_app, tmp_path):
    batch = one_file_batch(kubernetes_app(job_app), {"behaviour": "hang", "pidDir": str(tmp_path)})
    batch_start(batch)
    wait_for(lambda: (tmp_path / "pids").exists(), message="the Job's app to hang")
    name = the_step(batch).job_name

    batch_cancel(batch)

    step = wait_for(lambda: StepRun.objects.filter(run__batch=batch, status=Status.CANCELLED).first())
    assert step.error_message.endswith("was stopped because its run was cancelled; its Job was deleted.")
    wait_for(lambda: cluster.job(NAMESPACE, name) is None, message="the Job to be deleted")


def test_while_the_api_server_is_away_the_step_waits_and_runs_once_it_is_back(cluster, job_app):
    batch = one_file_batch(kubernetes_app(job_app), {})
    cluster.stop()

    batch_start(batch)

    waiting = wait_for(
        lambda: StepRun.objects.filter(run__batch=batch, error_message__contains="The step waits for it").first(),
        message="the step to wait for the API server",
    )
    assert waiting.status == Status.QUEUED and waiting.attempts == 0  # Chowda's outage is not the app's attempt
    cluster.start()
    (run,) = wait_until_finished(batch, timeout=60)
    assert run.status == Status.SUCCEEDED, run.error


def test_render_job_prints_the_job_a_step_would_create_and_it_validates_strictly(cluster, job_app, tmp_path):
    kubernetes_app(job_app, gpus=1, memory="8Gi", node_selector={"gpu": "a100"})

    done = subprocess.run(
        [sys.executable, "manage.py", "render_job", "job-tester-k8s", "--parameters", '{"label": "speech"}'],
        capture_output=True,
        text=True,
        env=render_env(),
        check=False,
    )

    assert done.returncode == 0, done.stderr
    manifest = json.loads(done.stdout)
    assert manifest["metadata"]["name"] == "chowda-r0-s1-d0"
    assert manifest["spec"]["template"]["spec"]["nodeSelector"] == {"gpu": "a100"}
    (tmp_path / "job.json").write_text(done.stdout)
    checked = subprocess.run(
        [
            sys.executable,
            "-m",
            "kubernetes_validate",
            "--strict",
            "--kubernetes-version",
            KUBERNETES_VERSION,
            str(tmp_path / "job.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0 and "INFO" in checked.stdout, checked.stdout + checked.stderr


def render_env() -> dict:
    from tests.fault_helpers import chowda_env

    return chowda_env("redis://127.0.0.1:1/0")


@pytest.mark.usefixtures("paused_dispatcher")
def test_a_worker_killed_while_its_job_runs_leaves_the_job_to_the_next_worker(settings, tmp_path, job_app, faults):
    """The step sent again creates the Job of the name it recorded, gets 409, and watches that one: one app run."""
    from tests.fault_helpers import manage

    jobs, pid_dir = tmp_path / "jobs", tmp_path / "pids"
    for folder in (jobs, pid_dir, tmp_path / "logs"):
        folder.mkdir()
    settings.MEDIA_ROOT = str(tmp_path / "media")
    with KubernetesStandIn(
        claims={"exchange": jobs}, images={IMAGE: job_app}, namespaces=(NAMESPACE,), logs=tmp_path / "logs"
    ) as server:
        env = {
            "CHOWDA_JOB_ROOT": str(jobs),
            "CHOWDA_KUBERNETES_API": server.url,
            "CHOWDA_KUBERNETES_TOKEN": server.token,
            "CHOWDA_KUBERNETES_NAMESPACE": NAMESPACE,
            "CHOWDA_KUBERNETES_EXCHANGE_CLAIM": "exchange",
            "CHOWDA_KUBERNETES_POLL": "0.2",
        }
        redis = faults.redis(durable=True)
        batch = one_file_batch(kubernetes_app(job_app), {"behaviour": "wait_for_go", "pidDir": str(pid_dir)})
        doomed = faults.worker(redis, "doomed", env=env)
        manage(redis.url, "start_batch", str(batch.pk))
        wait_for(lambda: (pid_dir / "pids").exists(), message="the Job's app to start")
        name = the_step(batch).job_name

        doomed.kill()
        faults.worker(redis, "next", env=env)
        wait_for(lambda: server.answered("POST", 409) == 1, timeout=90, message="the next worker to adopt the Job")
        (pid_dir / "go").touch()
        (run,) = wait_until_finished(batch, timeout=90)

        step = the_step(batch)
        assert run.status == Status.SUCCEEDED, run.error
        assert (step.interruptions, step.attempts) == (1, 2)
        assert len(server.processes(name)) == 1 and server.answered("POST", 201) == 1  # one Job, one app process


def test_a_job_past_its_deadline_is_tried_again_as_a_new_job(cluster, job_app, settings, tmp_path):
    """A timeout is the app's: the next try starts a Job of its own rather than adopting the one that ran out."""
    settings.STEP_MAX_ATTEMPTS = 2
    batch = one_file_batch(kubernetes_app(job_app, timeout=2), {"behaviour": "hang", "pidDir": str(tmp_path)})

    batch_start(batch)
    (run,) = wait_until_finished(batch, timeout=90)

    step = the_step(batch)
    assert run.status == Status.FAILED and step.attempts == 2
    assert "did not finish within 2 seconds (its timeout); its Job was ended. Gave up after 2 attempts." in (
        step.error_message
    )
    assert cluster.answered("POST", 201) == 2 and cluster.answered("POST", 409) == 0
