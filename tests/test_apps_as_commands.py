"""CLAMS apps run as commands: each step runs the app's cli.py (the clams-python template's own) on the worker,
with the step's parameters as its flags, and Chowda judges what it wrote as it judges an HTTP answer.

Run through the session's real Celery worker; the worker killed mid-step is a worker process of its own."""

import os
import sys
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from mmif import Mmif

from batches.models import DocumentType
from clams_apps.models import Mode
from clams_apps.services import app_register, app_register_job
from demo_apps.media import write_demo_media
from demo_apps.serve import serve_in_thread
from runs.models import Status, StepRun
from runs.services import batch_cancel, batch_start
from tests.factories import BatchFactory, MediaFileFactory, PipelineFactory, PipelineStepFactory
from tests.fault_helpers import manage
from tests.runner_helpers import wait_for, wait_until_finished

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def demo_media(tmp_path_factory) -> list[Path]:
    """The demo WAV files that read (not the broken one)."""
    return sorted(p for p in write_demo_media(tmp_path_factory.mktemp("demo-media")) if "broken" not in p.name)


@pytest.fixture
def job_settings(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.JOB_ROOT = str(tmp_path / "jobs")
    settings.STEP_RETRY_BACKOFF = 0.05
    return settings


def job_tester(job_app: Path, **fields):
    return app_register_job(
        Mode.COMMAND,
        name=fields.pop("name", "job-tester"),
        command=f"{sys.executable} {job_app / 'cli.py'}",
        metadata_command=f"{sys.executable} {job_app / 'metadata.py'}",
        **fields,
    )


def audio_files(paths) -> list:
    return [
        MediaFileFactory(location=f"file://{path}", mime_type="audio/wav", document_type=DocumentType.AUDIO)
        for path in paths
    ]


def batch_of(steps, media) -> object:
    pipeline = PipelineFactory()
    for position, (app, parameters) in enumerate(steps, start=1):
        PipelineStepFactory(pipeline=pipeline, position=position, app=app, parameters=parameters)
    return BatchFactory(pipeline=pipeline, media_files=media)


def read_mmif(field_file) -> Mmif:
    with default_storage.open(field_file.name) as f:
        return Mmif(f.read().decode())


def gone(pid: int) -> bool:
    """The process ended (a zombie waiting for a parent that does not reap it has ended too)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def hung_pids(pid_dir: Path) -> list[int]:
    text = wait_for(lambda: (pid_dir / "pids").exists() and (pid_dir / "pids").read_text(), message="the app to hang")
    return [int(pid) for pid in text.split()]


def only_step(batch) -> StepRun:
    return StepRun.objects.get(run__batch=batch)


@pytest.fixture
def template_parser(job_app):
    """The argument parser the template's cli.py builds from the test app's metadata, as it runs."""
    sys.path.insert(0, str(job_app))
    try:
        import app
        import cli

        yield cli.metadata_to_argparser(app.get_app().metadata)
    finally:
        sys.path.remove(str(job_app))
        sys.modules.pop("app", None)
        sys.modules.pop("cli", None)


@pytest.mark.django_db(transaction=False)
def test_flags_parse_as_the_query_string_a_service_gets(template_parser, tmp_path):
    """What the template hands the app (each value a list, as Flask's MultiDict.to_dict(flat=False) gives a
    service) is what the same parameters sent in a query string give."""
    from werkzeug.datastructures import MultiDict

    from clams_apps.parameters import query_params
    from jobs.flags import cli_arguments

    (tmp_path / "in.mmif").write_text("{}")
    parameters = {"label": "-speech", "labelMap": {"speech": "S", "music": "M"}, "pretty": True, "behaviour": "tag"}
    args = template_parser.parse_args(cli_arguments(parameters, str(tmp_path / "in.mmif"), str(tmp_path / "out.mmif")))
    given = {
        name: value if isinstance(value, list) else [value]
        for name, value in vars(args).items()
        if value is not None and name not in ("IN_MMIF_FILE", "OUT_MMIF_FILE")
    }
    args.IN_MMIF_FILE.close(), args.OUT_MMIF_FILE.close()

    assert given == MultiDict(query_params(None, parameters)).to_dict(flat=False)
    assert given["labelMap"] == ["speech:S", "music:M"] and given["label"] == ["-speech"]
    assert args.IN_MMIF_FILE.name == str(tmp_path / "in.mmif")


@pytest.mark.usefixtures("celery_worker")
def test_a_pipeline_runs_a_command_step_then_a_service_step_on_real_audio(job_settings, demo_media):
    """The demo segmenter as a command (its cli.py and metadata.py), the demo summarizer as a web service."""
    folder = ROOT / "demo_apps" / "jobs" / "segmenter"
    segmenter = app_register_job(
        Mode.COMMAND,
        name="segmenter-command",
        command=f"{sys.executable} {folder / 'cli.py'}",
        metadata_command=f"{sys.executable} {folder / 'metadata.py'}",
    )
    url, stop = serve_in_thread("summarizer")
    try:
        summarizer = app_register(url, name="summarizer-service")
        media = audio_files(demo_media[:2])
        batch = batch_of([(segmenter, {"labels": "sound", "minDuration": 0.1}), (summarizer, {})], media)

        batch_start(batch)
        runs = wait_until_finished(batch, timeout=120)
    finally:
        stop()

    assert [run.status for run in runs] == [Status.SUCCEEDED] * 2, [run.error for run in runs]
    for run in runs:
        mmif = read_mmif(run.final_mmif)
        segmented, summarised = mmif.views
        labels = {annotation.get_property("label") for annotation in segmented.annotations}
        assert labels == {"sound"}  # the step's parameter reached the command as --labels sound
        assert segmented.metadata.parameters["minDuration"] == "0.1"
        assert "sound" in summarised.annotations[0].text_value
        first = run.steps.get(position=1)
        assert first.http_status is None and first.duration > 0 and first.error_message == ""
    assert not any(Path(job_settings.JOB_ROOT).glob("*/*")), "a step's folder is removed once it ends"


@pytest.mark.usefixtures("celery_worker")
def test_parameters_reach_the_command_as_the_templates_flags(job_settings, job_app, demo_media):
    app = job_tester(job_app)
    batch = batch_of([(app, {"label": "-speech", "labelMap": {"-speech": "S"}})], audio_files(demo_media[:1]))

    batch_start(batch)
    (run,) = wait_until_finished(batch, timeout=60)

    assert run.status == Status.SUCCEEDED, run.error
    (view,) = read_mmif(run.final_mmif).views
    assert view.annotations[0].get_property("label") == "S"  # a value starting with "-" and a map both went through


@pytest.mark.usefixtures("celery_worker")
def test_an_app_that_fails_writes_its_error_view_and_the_step_says_why(job_settings, job_app, demo_media):
    batch = batch_of([(job_tester(job_app), {"behaviour": "fail"})], audio_files(demo_media[:1]))

    batch_start(batch)
    (run,) = wait_until_finished(batch, timeout=60)

    step = only_step(batch)
    assert run.status == Status.FAILED
    assert step.error_message.endswith("failed: <class 'RuntimeError'>: the test app failed on purpose")
    assert step.error_message.startswith("App 'job-tester' (command `")
    assert 'raise RuntimeError("the test app failed on purpose")' in step.stack_trace
    assert "Error in annotation" in step.log_tail  # its stderr's tail is kept with the step
    assert step.error_mmif, "the error MMIF is kept for download"


@pytest.mark.usefixtures("celery_worker")
def test_a_flag_the_command_refuses_is_a_parameter_error_naming_it(job_settings, job_app, demo_media):
    """The metadata pasted at registration says the app takes ``speed``; its cli.py does not (exit code 2)."""
    import json
    import subprocess

    metadata = json.loads(subprocess.check_output([sys.executable, str(job_app / "metadata.py")]))
    metadata["parameters"].append(
        {"name": "speed", "type": "string", "description": "Not in the app any more.", "multivalued": False}
    )
    app = app_register_job(
        Mode.COMMAND,
        name="outdated",
        command=f"{sys.executable} {job_app / 'cli.py'}",
        metadata_json=json.dumps(metadata),
    )
    batch = batch_of([(app, {"speed": "fast"})], audio_files(demo_media[:1]))

    batch_start(batch)
    wait_until_finished(batch, timeout=60)

    step = only_step(batch)
    assert step.status == Status.FAILED
    assert "refused its parameters (exit code 2): unrecognized arguments: --speed=fast. Check" in step.error_message
    assert "usage: cli.py" in step.log_tail


@pytest.mark.usefixtures("celery_worker")
def test_no_output_is_a_failure_quoting_the_last_lines_it_printed(job_settings, job_app, demo_media):
    batch = batch_of([(job_tester(job_app), {"behaviour": "no_output"})], audio_files(demo_media[:1]))

    batch_start(batch)
    wait_until_finished(batch, timeout=60)

    step = only_step(batch)
    assert step.status == Status.FAILED
    assert step.error_message == (
        f"App 'job-tester' (command `{sys.executable} {job_app / 'cli.py'}`) wrote no output MMIF (exit code 3); "
        "the last lines it printed: ran out of memory decoding the audio"
    )


@pytest.mark.usefixtures("celery_worker")
def test_a_command_past_its_timeout_is_ended_with_everything_it_started(job_settings, job_app, demo_media, tmp_path):
    job_settings.STEP_MAX_ATTEMPTS = 1
    batch = batch_of(
        [(job_tester(job_app, timeout=3), {"behaviour": "hang", "pidDir": str(tmp_path)})], audio_files(demo_media[:1])
    )

    batch_start(batch)
    app_pid, child_pid = hung_pids(tmp_path)
    (run,) = wait_until_finished(batch, timeout=60)

    step = only_step(batch)
    assert run.status == Status.FAILED
    assert "did not finish within 3 seconds (its timeout); Chowda ended it. Gave up after 1 attempts." in (
        step.error_message
    )
    assert gone(app_pid) and wait_for(lambda: gone(child_pid), message="the app's own child to end")


@pytest.mark.usefixtures("celery_worker")
def test_cancel_ends_the_running_command(job_settings, job_app, demo_media, tmp_path):
    batch = batch_of(
        [(job_tester(job_app), {"behaviour": "hang", "pidDir": str(tmp_path)})], audio_files(demo_media[:1])
    )
    batch_start(batch)
    app_pid, child_pid = hung_pids(tmp_path)

    batch_cancel(batch)

    wait_for(lambda: gone(app_pid) and gone(child_pid), message="the command and its child to end")
    step = wait_for(lambda: StepRun.objects.filter(run__batch=batch, status=Status.CANCELLED).first())
    assert step.error_message.endswith("was stopped because its run was cancelled.")
    assert step.run.status == Status.CANCELLED


def test_a_worker_killed_mid_step_leaves_no_process_and_the_step_runs_once_more(
    faults, settings, tmp_path, job_app, demo_media
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    jobs_env = {"CHOWDA_JOB_ROOT": str(tmp_path / "jobs")}
    redis = faults.redis(durable=True)
    pid_dir = tmp_path / "pids"
    pid_dir.mkdir()
    batch = batch_of(
        [(job_tester(job_app), {"behaviour": "hang_once", "pidDir": str(pid_dir)})], audio_files(demo_media[:1])
    )
    doomed = faults.worker(redis, "doomed", env=jobs_env)
    manage(redis.url, "start_batch", str(batch.pk))
    app_pid, child_pid = hung_pids(pid_dir)

    doomed.kill()

    wait_for(lambda: gone(app_pid), message="the app's command to die with its worker")
    faults.worker(redis, "next", env=jobs_env)
    wait_for(lambda: gone(child_pid), message="the next worker to end what the command had started")
    (run,) = wait_until_finished(batch, timeout=90)
    step = only_step(batch)
    assert run.status == Status.SUCCEEDED, run.error
    assert (step.status, step.interruptions, step.attempts) == (Status.SUCCEEDED, 1, 2)
    assert os.listdir(tmp_path / "jobs") == [] or not any((tmp_path / "jobs").glob("*/*"))
