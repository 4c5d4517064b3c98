"""A step's Kubernetes Job from creation to its end, against the stand-in API server (tests/kubernetes_standin.py)
with a tiny CLI in the CLAMS template's form as the container: success, failure, deadline, cancel, adoption,
an API server that goes away, progress sentences, and manifests the server refuses."""

import textwrap
import threading

import kubernetes_validate
import pytest
import yaml

from jobs.kubernetes import (
    KUBERNETES_VERSION,
    Cluster,
    ClusterRefused,
    ClusterUnreachable,
    JobSpec,
    Volume,
    build_manifest,
    run_job,
)
from tests.kubernetes_standin import KubernetesStandIn
from tests.runner_helpers import wait_for

IMAGE = "ghcr.io/clamsproject/app-tiny:v1"
NAMESPACE = "chowda-apps"
GPU_FULL = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available."

# The CLAMS template's cli.py in miniature: flags, then `--`, then the input and output paths.
TINY_CLI = textwrap.dedent(
    """
    import pathlib, sys, time

    args = sys.argv[1:]
    flags, (source, target) = args[: args.index("--")], args[args.index("--") + 1 :]
    mode = flags[flags.index("--mode") + 1] if "--mode" in flags else "ok"
    pathlib.Path(target).write_text("")
    print(f"tiny app: reading {source}", flush=True)
    if mode == "fail":
        print("tiny app: the video has no audio track", file=sys.stderr, flush=True)
        sys.exit(3)
    while mode == "hang" or (mode == "gate" and not pathlib.Path(source + ".go").exists()):
        time.sleep(0.05)
    pathlib.Path(target).write_text(pathlib.Path(source).read_text() + " -> tagged")
    print("tiny app: done", flush=True)
    """
)


@pytest.fixture
def exchange(tmp_path):
    folder = tmp_path / "exchange"
    (folder / "r17-s2").mkdir(parents=True)
    (folder / "r17-s2" / "in.mmif").write_text("mmif")
    return folder


@pytest.fixture
def standin(tmp_path, exchange):
    image = tmp_path / "image"
    image.mkdir()
    (image / "cli.py").write_text(TINY_CLI)
    logs = tmp_path / "logs"
    logs.mkdir()
    with KubernetesStandIn(claims={"chowda-exchange": exchange}, images={IMAGE: image}, logs=logs) as server:
        yield server


@pytest.fixture
def cluster(standin):
    return Cluster.connect(standin.url, token=standin.token, timeout=10)


def step_spec(mode="ok", **changes) -> JobSpec:
    fields = {
        "name": "chowda-r17-s2-d1",
        "namespace": NAMESPACE,
        "image": IMAGE,
        "command": ["python3", "cli.py", "--mode", mode, "--", "/exchange/in.mmif", "/exchange/out.mmif"],
        "labels": {"chowda.clams.ai/run": "17", "chowda.clams.ai/step": "2"},
        "volumes": (Volume("exchange", "chowda-exchange", "/exchange", sub_path="r17-s2"),),
        "deadline_seconds": 120,
        "ttl_seconds": 3600,
    }
    return JobSpec(**(fields | changes))


class Watch:
    """run_job in a thread, as a worker runs it, with what it said and a switch to cancel it."""

    def __init__(self, cluster, spec, **options):
        self.progress: list[str] = []
        self.stop = threading.Event()
        self.outcome = None
        self.error = None
        self.thread = threading.Thread(target=self.run, args=(cluster, spec, options), daemon=True)
        self.thread.start()

    def run(self, cluster, spec, options):
        try:
            self.outcome = run_job(
                cluster,
                spec,
                should_stop=options.pop("should_stop", self.stop.is_set),
                on_progress=self.progress.append,
                **({"poll": 0.05} | options),
            )
        except BaseException as error:  # a worker that dies: the test looks at it
            self.error = error

    def said(self, text: str) -> bool:
        return any(text in sentence for sentence in self.progress)

    def result(self):
        wait_for(lambda: not self.thread.is_alive(), 60, "run_job to end")
        return self.outcome


def test_a_job_runs_to_success_and_leaves_its_output(standin, cluster, exchange):
    spec = step_spec()

    outcome = run_job(cluster, spec, should_stop=lambda: False, on_progress=lambda _: None, poll=0.05)

    assert outcome.kind == "succeeded", outcome.message
    assert outcome.exit_code == 0
    assert (exchange / "r17-s2" / "out.mmif").read_text() == "mmif -> tagged"
    assert "tiny app: done" in outcome.log_tail
    # A finished Job is left for its TTL: Chowda reads the output and the log first.
    assert standin.job(NAMESPACE, spec.name)["status"]["succeeded"] == 1
    assert len(standin.processes(spec.name)) == 1


def test_the_server_receives_the_manifest_exactly_as_built(standin, cluster):
    spec = step_spec(gpus=1, memory="8Gi", env={"HF_HOME": "/exchange/cache"})

    run_job(cluster, spec, should_stop=lambda: False, on_progress=lambda _: None, poll=0.05)

    assert standin.received == [build_manifest(spec)]


def test_a_failing_app_fails_the_job_with_its_log_tail(standin, cluster):
    outcome = run_job(cluster, step_spec("fail"), should_stop=lambda: False, on_progress=lambda _: None, poll=0.05)

    assert outcome.kind == "failed"
    assert outcome.exit_code == 3
    assert outcome.message == "Failed: BackoffLimitExceeded: the app exited with code 3 (Error)"
    assert "tiny app: the video has no audio track" in outcome.log_tail
    assert "tiny app: reading /exchange/in.mmif" not in outcome.log_tail, "the path was the local one"


def test_a_job_past_its_deadline_is_stopped_and_keeps_its_log(standin, cluster):
    spec = step_spec("hang", deadline_seconds=4)

    outcome = run_job(cluster, spec, should_stop=lambda: False, on_progress=lambda _: None, poll=0.05)

    assert outcome.kind == "deadline"
    assert outcome.exit_code is None, "killed, not exited"
    assert outcome.message == "Failed: DeadlineExceeded: the Job ran past its deadline of 4 s and was stopped"
    assert "tiny app: reading" in outcome.log_tail
    assert standin.processes(spec.name)[0].poll() is not None


def test_cancel_deletes_the_job_and_ends_its_process(standin, cluster):
    spec = step_spec("hang")
    watch = Watch(cluster, spec)
    wait_for(lambda: watch.said("Running on node"), message="the Job to run")

    watch.stop.set()
    outcome = watch.result()

    assert outcome.kind == "cancelled"
    assert outcome.message == f"Cancelled: Job {spec.name} deleted with its pod"
    assert standin.job(NAMESPACE, spec.name) is None
    assert standin.processes(spec.name)[0].poll() is not None, "the app's process was left running"


def test_a_step_sent_again_after_a_worker_restart_adopts_its_running_job(standin, cluster, exchange):
    spec = step_spec("gate")

    class WorkerKilled(BaseException):
        pass

    def die_once_running():
        if standin.processes(spec.name):
            raise WorkerKilled
        return False

    first = Watch(cluster, spec, should_stop=die_once_running)
    first.result()
    assert isinstance(first.error, WorkerKilled)

    second = Watch(cluster, spec)
    wait_for(lambda: second.said("Running on node"), message="the second worker to watch the Job")
    (exchange / "r17-s2" / "in.mmif.go").touch()
    outcome = second.result()

    assert outcome.kind == "succeeded", outcome.message
    assert standin.answered("POST", 409) == 1, "the second create met the first Job"
    assert len(standin.processes(spec.name)) == 1, "the app ran once"


def test_a_job_of_the_same_name_made_by_someone_else_is_not_adopted(standin, cluster):
    cluster.create_or_adopt(step_spec("hang", labels={"team": "other"}))

    outcome = run_job(cluster, step_spec(), should_stop=lambda: False, on_progress=lambda _: None, poll=0.05)

    assert outcome.kind == "refused"
    assert "already exists that Chowda did not make for this step" in outcome.message


def test_an_api_server_that_does_not_answer_the_create_leaves_the_step_to_wait(standin, cluster):
    standin.stop()

    outcome = run_job(cluster, step_spec(), should_stop=lambda: False, on_progress=lambda _: None, poll=0.05)

    assert outcome.kind == "unreachable"
    assert outcome.message.startswith(f"The Kubernetes API server at {standin.url} did not answer (Connection refused)")
    assert not standin.processes("chowda-r17-s2-d1")


def test_while_the_api_server_is_away_the_watch_waits_and_then_finishes(standin, cluster, exchange):
    spec = step_spec("gate")
    watch = Watch(cluster, spec, unreachable_for=120)
    wait_for(lambda: watch.said("Running on node"), message="the Job to run")

    standin.stop()
    wait_for(lambda: watch.said("Waiting: the Kubernetes API server does not answer"), message="the watch to wait")
    (exchange / "r17-s2" / "in.mmif.go").touch()
    wait_for(lambda: standin.processes(spec.name)[0].poll() is not None, message="the app to end meanwhile")
    assert watch.thread.is_alive(), "the watch gave up while the server was away"
    standin.start()
    outcome = watch.result()

    assert outcome.kind == "succeeded", outcome.message
    assert watch.progress[-1] == "Succeeded"


def test_an_api_server_away_for_longer_than_the_bound_gives_the_worker_back(standin, cluster):
    spec = step_spec("hang")
    watch = Watch(cluster, spec, unreachable_for=0.5)
    wait_for(lambda: watch.said("Running on node"), message="the Job to run")

    standin.stop()
    outcome = watch.result()

    assert outcome.kind == "unreachable"
    assert f"Job {spec.name} goes on without Chowda watching, and the step sent again adopts it" in outcome.message
    assert standin.processes(spec.name)[0].poll() is None, "the Job goes on"


def test_progress_tells_a_pod_waiting_for_a_gpu_then_running_once_each(standin, cluster, exchange):
    spec = step_spec("gate", gpus=1)
    standin.hold(spec.name, "Unschedulable", GPU_FULL)
    watch = Watch(cluster, spec)
    wait_for(lambda: watch.said("Pending"), message="the pending pod")

    standin.release(spec.name)
    wait_for(lambda: watch.said("Running"), message="the pod to run")
    (exchange / "r17-s2" / "in.mmif.go").touch()
    outcome = watch.result()

    assert outcome.kind == "succeeded"
    assert watch.progress == [
        "Pending: waiting for a node with a free GPU (Unschedulable)",
        "Running on node standin-node-1",
        "Succeeded",
    ]


def test_progress_tells_an_image_being_pulled_or_that_cannot_be(standin, cluster):
    pulling = step_spec(name="chowda-r17-s2-d2")
    standin.hold(pulling.name, "ContainerCreating")
    missing = step_spec(name="chowda-r17-s2-d3", image="ghcr.io/clamsproject/app-nowhere:v9")
    watches = [Watch(cluster, pulling), Watch(cluster, missing)]

    wait_for(lambda: all(watch.progress for watch in watches), message="both pods pending")
    for watch in watches:
        watch.stop.set()
        assert watch.result().kind == "cancelled"

    assert watches[0].progress[0] == f"Pending: pulling image {IMAGE} and starting it on node standin-node-1"
    assert (
        watches[1]
        .progress[0]
        .startswith("Pending: cannot pull image ghcr.io/clamsproject/app-nowhere:v9 (ErrImagePull): rpc error")
    )


def test_a_manifest_that_fails_strict_validation_is_refused_with_a_sentence(standin, cluster):
    spec = step_spec(tolerations=({"key": "nvidia.com/gpu", "operatr": "Exists", "effect": "NoSchedule"},))

    outcome = run_job(cluster, spec, should_stop=lambda: False, on_progress=lambda _: None, poll=0.05)

    assert outcome.kind == "refused"
    assert outcome.message.startswith(f"The Kubernetes API server at {standin.url} answered HTTP 422 Invalid: ")
    assert "operatr" in outcome.message
    assert outcome.message.endswith("Correct the app's Kubernetes settings.")
    assert standin.job(NAMESPACE, spec.name) is None


def test_a_name_longer_than_a_label_allows_is_refused(standin, cluster):
    outcome = run_job(
        cluster, step_spec(name="chowda-" + "r" * 60), should_stop=lambda: False, on_progress=lambda _: None
    )

    assert outcome.kind == "refused"
    assert "at most 63 characters" in outcome.message


def test_missing_rbac_is_refused_with_the_role_the_worker_needs(standin, cluster):
    standin.forbid("create", "jobs")

    with pytest.raises(ClusterRefused) as refused:
        cluster.create_or_adopt(step_spec())

    assert refused.value.status == 403
    assert "the worker may not create jobs in namespace chowda-apps" in str(refused.value)
    assert "jobs: create, get, list, watch, delete; pods: get, list, watch; pods/log: get" in str(refused.value)


def test_a_wrong_token_or_namespace_is_refused_with_what_to_check(standin):
    wrong_token = Cluster.connect(standin.url, token="not-the-token")
    cluster = Cluster.connect(standin.url, token=standin.token)

    with pytest.raises(ClusterRefused, match="does not accept the worker's credentials"):
        wrong_token.create_or_adopt(step_spec())
    with pytest.raises(ClusterRefused, match="namespace elsewhere does not exist"):
        cluster.create_or_adopt(step_spec(namespace="elsewhere"))


def test_the_settings_name_a_url_a_kubeconfig_or_the_pods_own_account(standin, tmp_path, monkeypatch):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "standin", "cluster": {"server": standin.url}}],
                "users": [{"name": "worker", "user": {"token": standin.token}}],
                "contexts": [{"name": "standin", "context": {"cluster": "standin", "user": "worker"}}],
                "current-context": "standin",
            }
        )
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    for cluster in (Cluster.from_settings(standin.url, token=standin.token), Cluster.from_settings("kubeconfig")):
        assert cluster.status("chowda-r17-s2-d9", NAMESPACE).reason == "NotFound"
    with pytest.raises(ClusterRefused, match="cannot use its pod's service account"):
        Cluster.from_settings("in-cluster")
    with pytest.raises(ClusterRefused, match="correct CHOWDA_KUBERNETES_API"):
        Cluster.from_settings("incluster")


def test_a_job_deleted_outside_chowda_fails_the_step(standin, cluster):
    spec = step_spec("hang")
    watch = Watch(cluster, spec)
    wait_for(lambda: watch.said("Running on node"), message="the Job to run")

    cluster.delete(spec.name, NAMESPACE)
    outcome = watch.result()

    assert outcome.kind == "failed"
    assert outcome.message.startswith(f"Failed: Job {spec.name} no longer exists in namespace {NAMESPACE}")
    cluster.delete(spec.name, NAMESPACE)  # already gone: fine


def test_a_status_request_to_a_stopped_server_is_unreachable(standin, cluster):
    standin.stop()

    with pytest.raises(ClusterUnreachable, match="Connection refused"):
        cluster.status("chowda-r17-s2-d1", NAMESPACE)


# build_manifest


def full_spec(**changes) -> JobSpec:
    return step_spec(
        **{
            "gpus": 2,
            "memory": "16Gi",
            "cpu": "4",
            "node_selector": {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"},
            "tolerations": ({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},),
            "service_account": "clams-apps",
            "env": {"HF_HOME": "/cache"},
            "volumes": (
                Volume("exchange", "chowda-exchange", "/exchange", sub_path="r17-s2"),
                Volume("media", "archive-media", "/media", read_only=True),
                Volume("cache", "model-cache", "/cache"),
            ),
            **changes,
        }
    )


def test_the_manifest_is_a_job_run_once_with_its_deadline_and_ttl():
    manifest = build_manifest(full_spec(deadline_seconds=5400, ttl_seconds=7200))

    assert (manifest["apiVersion"], manifest["kind"]) == ("batch/v1", "Job")
    assert manifest["metadata"]["name"] == "chowda-r17-s2-d1"
    assert manifest["metadata"]["namespace"] == NAMESPACE
    spec = manifest["spec"]
    assert spec["backoffLimit"] == 0
    assert spec["activeDeadlineSeconds"] == 5400
    assert spec["ttlSecondsAfterFinished"] == 7200
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == "clams-apps"
    assert pod["containers"][0]["command"] == step_spec().command
    assert pod["containers"][0]["env"] == [{"name": "HF_HOME", "value": "/cache"}]


def test_the_manifest_asks_for_gpus_memory_and_cpu():
    resources = build_manifest(full_spec())["spec"]["template"]["spec"]["containers"][0]["resources"]

    assert resources == {
        "requests": {"memory": "16Gi", "cpu": "4"},
        "limits": {"memory": "16Gi", "nvidia.com/gpu": "2"},
    }
    assert "resources" not in build_manifest(step_spec())["spec"]["template"]["spec"]["containers"][0]


def test_the_manifest_places_the_pod_by_node_selector_and_tolerations():
    pod = build_manifest(full_spec())["spec"]["template"]["spec"]

    assert pod["nodeSelector"] == {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"}
    assert pod["tolerations"] == [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]
    plain = build_manifest(step_spec())["spec"]["template"]["spec"]
    assert "nodeSelector" not in plain and "tolerations" not in plain and "serviceAccountName" not in plain


def test_the_labels_are_on_the_job_and_its_pods():
    manifest = build_manifest(full_spec())

    expected = {"app.kubernetes.io/managed-by": "chowda", "chowda.clams.ai/run": "17", "chowda.clams.ai/step": "2"}
    assert manifest["metadata"]["labels"] == expected
    assert manifest["spec"]["template"]["metadata"]["labels"] == expected


def test_the_manifest_mounts_each_claim_once_read_only_where_every_mount_is():
    spec = full_spec(
        volumes=(
            Volume("exchange", "chowda-exchange", "/exchange", sub_path="r17-s2"),
            Volume("exchange", "chowda-exchange", "/shared", sub_path="common", read_only=True),
            Volume("media", "archive-media", "/media", read_only=True),
        )
    )
    pod = build_manifest(spec)["spec"]["template"]["spec"]

    assert pod["volumes"] == [
        {"name": "exchange", "persistentVolumeClaim": {"claimName": "chowda-exchange"}},
        {"name": "media", "persistentVolumeClaim": {"claimName": "archive-media", "readOnly": True}},
    ]
    assert pod["containers"][0]["volumeMounts"] == [
        {"name": "exchange", "mountPath": "/exchange", "subPath": "r17-s2"},
        {"name": "exchange", "mountPath": "/shared", "subPath": "common", "readOnly": True},
        {"name": "media", "mountPath": "/media", "readOnly": True},
    ]


def test_one_volume_name_for_two_claims_is_refused():
    spec = step_spec(volumes=(Volume("data", "claim-a", "/a"), Volume("data", "claim-b", "/b")))

    with pytest.raises(ValueError, match="Volume 'data' is given two claims"):
        build_manifest(spec)


@pytest.mark.parametrize("spec", [full_spec(), step_spec()], ids=["everything", "the least"])
def test_the_manifest_validates_strictly_for_the_pinned_kubernetes(spec):
    assert kubernetes_validate.validate(build_manifest(spec), KUBERNETES_VERSION, strict=True) == "1.34"
