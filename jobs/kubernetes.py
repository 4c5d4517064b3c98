"""A CLAMS app's step as a Kubernetes Job: the manifest, the API calls, and the watch from creation to its end.

Nothing here knows Chowda's models: the step runner turns an app and a step into a ``JobSpec`` (a deterministic
name from run, step and dispatch number, the ``cli.py`` command, the volumes) and calls ``run_job``, which tells
it how the Job ended as a ``JobOutcome``. Every error is a ``ClusterError`` whose text is a sentence for the
step's page: ``ClusterUnreachable`` when the API server cannot be reached or answers 5xx (the step waits and is
sent again; its Job, adopted by name, goes on meanwhile), ``ClusterRefused`` when it refuses the request (the
step fails, with what the operator must change).

The Job is one pod run once: ``restartPolicy: Never`` and ``backoffLimit: 0``, because Chowda retries a step
itself (with a new dispatch number, so a new Job); ``activeDeadlineSeconds`` is the app's timeout; the finished
Job is removed by ``ttlSecondsAfterFinished`` (see ``JobSpec.ttl_seconds`` for why Chowda never deletes a
finished one itself).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import urllib3
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

# The Kubernetes version whose API the manifests are written for and checked against offline
# (kubernetes-validate --strict, in the tests and in .ci/run for deploy/kubernetes/). One pin for all of them.
KUBERNETES_VERSION = "1.34.0"

# The container's name in every Job's pod: the log is read from it.
CONTAINER = "app"

# What the worker's service account must be granted in the apps' namespace (deploy/kubernetes/rbac.yaml).
RBAC_NEEDED = "jobs: create, get, list, watch, delete; pods: get, list, watch; pods/log: get"


@dataclass(frozen=True)
class Volume:
    """A PersistentVolumeClaim mounted in the app's container.

    Several ``Volume`` may share one ``name`` and ``claim`` (the same claim mounted at two paths, or two
    ``sub_path`` of it): the pod gets the claim once.
    """

    name: str
    claim: str
    mount_path: str
    sub_path: str = ""
    read_only: bool = False


@dataclass(frozen=True)
class JobSpec:
    """Everything a step's Job is made of.

    ``name`` is the caller's deterministic name (``chowda-r17-s2-d3``): a step sent again finds its Job by it
    (409 on create) instead of starting a second one. ``command`` is the container's whole command, with paths
    as the container sees them. ``memory`` is both request and limit; ``cpu`` is a request only, since a CPU limit
    throttles an app that could use an idle core. ``deadline_seconds`` becomes ``activeDeadlineSeconds``: it
    counts from the Job's start, time spent pending for a GPU node included.

    ``ttl_seconds`` becomes ``ttlSecondsAfterFinished``: Kubernetes deletes the finished Job, its pod and the
    pod's log that long after it ends. It must exceed the time Chowda may take to notice the end and read the
    log: a watch interval, plus the longest API server outage ``run_job`` rides through (``unreachable_for``),
    plus a worker restart, after which the step is sent again and adopts the Job by name. If the TTL removed the
    Job first, the log is lost and the step sent again would run the app a second time. The output MMIF is on
    the exchange volume and does not depend on it. An hour or more is a sound value.
    """

    name: str
    namespace: str
    image: str
    command: list[str]
    labels: dict[str, str]
    volumes: tuple[Volume, ...]
    deadline_seconds: int
    ttl_seconds: int
    gpus: int = 0
    memory: str = ""
    cpu: str = ""
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[dict, ...] = ()
    service_account: str = ""
    env: dict[str, str] = field(default_factory=dict)
    image_pull_policy: str = "IfNotPresent"


@dataclass(frozen=True)
class JobStatus:
    """Where a Job is: ``phase`` (pending, running, succeeded, failed), Kubernetes' ``reason`` for it, and a
    short sentence for the live page ("Pending: waiting for a node with a free GPU (Unschedulable)")."""

    phase: Literal["pending", "running", "succeeded", "failed"]
    reason: str
    message: str
    exit_code: int | None = None


@dataclass(frozen=True)
class JobOutcome:
    """How ``run_job`` ended. ``log_tail`` is the last lines of the pod's log when the Job ran to an end, and
    ``exit_code`` its container's exit code when it exited by itself (None when it never ran, or was killed at its
    deadline)."""

    kind: Literal["succeeded", "failed", "deadline", "cancelled", "unreachable", "refused"]
    message: str
    log_tail: str = ""
    exit_code: int | None = None


class ClusterError(Exception):
    """The Kubernetes API could not do what was asked; the text is a sentence for the step's page."""


class ClusterUnreachable(ClusterError):
    """The API server did not answer (connection refused, timeout) or answered 429/5xx: try again later."""


class ClusterRefused(ClusterError):
    """The API server refused the request (4xx) or the connection settings are wrong: a person must act."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


def build_manifest(spec: JobSpec) -> dict:
    """The batch/v1 Job that runs ``spec``, as the API server receives it."""
    container: dict = {
        "name": CONTAINER,
        "image": spec.image,
        "imagePullPolicy": spec.image_pull_policy,
        "command": list(spec.command),
    }
    if spec.env:
        container["env"] = [{"name": key, "value": value} for key, value in spec.env.items()]
    resources = _resources(spec)
    if resources:
        container["resources"] = resources
    if spec.volumes:
        container["volumeMounts"] = [_mount(volume) for volume in spec.volumes]

    labels = {"app.kubernetes.io/managed-by": "chowda", **spec.labels}
    pod_spec: dict = {
        "restartPolicy": "Never",
        # A CLAMS app has no business with the Kubernetes API: no token in its container.
        "automountServiceAccountToken": False,
        "containers": [container],
    }
    if spec.service_account:
        pod_spec["serviceAccountName"] = spec.service_account
    if spec.node_selector:
        pod_spec["nodeSelector"] = dict(spec.node_selector)
    if spec.tolerations:
        pod_spec["tolerations"] = [dict(toleration) for toleration in spec.tolerations]
    if spec.volumes:
        pod_spec["volumes"] = _pod_volumes(spec.volumes)

    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": spec.name, "namespace": spec.namespace, "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": spec.deadline_seconds,
            "ttlSecondsAfterFinished": spec.ttl_seconds,
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def _resources(spec: JobSpec) -> dict:
    requests: dict = {}
    limits: dict = {}
    if spec.memory:
        requests["memory"] = limits["memory"] = spec.memory
    if spec.cpu:
        requests["cpu"] = spec.cpu
    if spec.gpus:
        # An extended resource: the request defaults to the limit, and a GPU is never shared between pods.
        limits["nvidia.com/gpu"] = str(spec.gpus)
    return {key: value for key, value in (("requests", requests), ("limits", limits)) if value}


def _mount(volume: Volume) -> dict:
    mount: dict = {"name": volume.name, "mountPath": volume.mount_path}
    if volume.sub_path:
        mount["subPath"] = volume.sub_path
    if volume.read_only:
        mount["readOnly"] = True
    return mount


def _pod_volumes(volumes: tuple[Volume, ...]) -> list[dict]:
    claims: dict[str, str] = {}
    read_only: dict[str, bool] = {}
    for volume in volumes:
        if claims.setdefault(volume.name, volume.claim) != volume.claim:
            raise ValueError(
                f"Volume {volume.name!r} is given two claims, {claims[volume.name]!r} and {volume.claim!r}: "
                "give each claim its own volume name."
            )
        # The claim is read-only in the pod only if every mount of it is.
        read_only[volume.name] = read_only.get(volume.name, True) and volume.read_only
    pod_volumes = []
    for name, claim in claims.items():
        source: dict = {"claimName": claim}
        if read_only[name]:
            source["readOnly"] = True
        pod_volumes.append({"name": name, "persistentVolumeClaim": source})
    return pod_volumes


class Cluster:
    """The few calls Chowda makes to a Kubernetes API server, each turning the client's errors into a
    ``ClusterUnreachable`` or ``ClusterRefused`` sentence. Build one with ``connect``, ``in_cluster`` or
    ``from_kubeconfig``; it is safe to share between threads (the client pools its connections)."""

    def __init__(self, configuration: client.Configuration, *, timeout: float = 15.0):
        # No retries inside the client: run_job retries with its own backoff, and a call must fail fast.
        configuration.retries = 0
        self.host = configuration.host
        self.timeout = timeout
        api_client = client.ApiClient(configuration)
        self.batch = client.BatchV1Api(api_client)
        self.core = client.CoreV1Api(api_client)

    @classmethod
    def connect(
        cls, host: str, *, token: str = "", ca_file: str = "", verify: bool = True, timeout: float = 15.0
    ) -> Cluster:
        """A cluster at ``host`` (``https://k8s.example.org:6443``) with a bearer token; ``ca_file`` is the
        CA bundle of its certificate, ``verify=False`` skips the check (a test cluster only)."""
        configuration = client.Configuration(host=host.rstrip("/"), ssl_ca_cert=ca_file or None, verify_ssl=verify)
        if token:
            configuration.api_key = {"BearerToken": token}
            configuration.api_key_prefix = {"BearerToken": "Bearer"}
        return cls(configuration, timeout=timeout)

    @classmethod
    def from_settings(cls, api: str, *, token: str = "", ca_file: str = "", timeout: float = 15.0) -> Cluster:
        """The cluster as a worker's settings name it: ``api`` is "in-cluster" (the pod's service account),
        "kubeconfig" (``$KUBECONFIG`` or ``~/.kube/config``), or the API server's URL, with ``token`` and
        ``ca_file``. Raises ``ClusterRefused`` with what to correct when they cannot be used."""
        if api == "in-cluster":
            return cls.in_cluster(timeout=timeout)
        if api == "kubeconfig":
            return cls.from_kubeconfig(timeout=timeout)
        if api.startswith(("https://", "http://")):
            return cls.connect(api, token=token, ca_file=ca_file, timeout=timeout)
        raise ClusterRefused(
            f'The Kubernetes API setting {api!r} is none of "in-cluster", "kubeconfig" or the API server\'s '
            "URL (https://…): correct CHOWDA_KUBERNETES_API."
        )

    @classmethod
    def in_cluster(cls, *, timeout: float = 15.0) -> Cluster:
        """The cluster this worker runs in, as its pod's service account."""
        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException as error:
            raise ClusterRefused(
                f"This worker cannot use its pod's service account to reach Kubernetes ({error}): run it in a pod "
                "of the cluster, or give it the API server's URL and a token instead."
            ) from error
        return cls(configuration, timeout=timeout)

    @classmethod
    def from_kubeconfig(cls, path: str = "", *, context: str = "", timeout: float = 15.0) -> Cluster:
        """The cluster a kubeconfig file names (``path``, else ``$KUBECONFIG`` or ``~/.kube/config``)."""
        configuration = client.Configuration()
        try:
            # $KUBECONFIG as it is now: the client reads it once, when it is imported.
            config.load_kube_config(
                config_file=path or os.environ.get("KUBECONFIG") or None,
                context=context or None,
                client_configuration=configuration,
            )
        except (config.ConfigException, OSError) as error:
            raise ClusterRefused(
                f"The kubeconfig {path or '(default)'} cannot be used ({error}): correct the path or the context."
            ) from error
        return cls(configuration, timeout=timeout)

    def create_or_adopt(self, spec: JobSpec) -> bool:
        """Create the Job; True if it was created, False if a Job of that name and labels was already there (a
        step sent again after a worker restart), which is then the step's Job. Raises ``ClusterRefused`` when a
        Job of that name is someone else's (its labels differ), ``ClusterUnreachable`` while one is being
        deleted."""
        manifest = build_manifest(spec)
        where = f"Job {spec.name} in namespace {spec.namespace}"
        try:
            self._call(
                "create",
                "jobs",
                spec.namespace,
                lambda: self._create_job(spec.namespace, manifest),
                where,
            )
            return True
        except ClusterRefused as error:
            if error.status != 409:
                raise
        existing = self._read_job(spec.name, spec.namespace)
        if existing is None or existing["metadata"].get("deletionTimestamp"):
            # A Job of this name is on its way out: a new one can be made once it is gone.
            raise ClusterUnreachable(f"The {where} from before is being deleted; the step is to be sent again.")
        labels = existing["metadata"].get("labels") or {}
        if any(labels.get(key) != value for key, value in manifest["metadata"]["labels"].items()):
            raise ClusterRefused(
                f"A {where} already exists that Chowda did not make for this step (its labels differ): delete it, "
                "or give the app another namespace.",
                409,
            )
        return False

    def status(self, name: str, namespace: str) -> JobStatus:
        """Where the Job is, from its conditions and its pod. A Job that no longer exists is ``failed``."""
        job = self._read_job(name, namespace)
        if job is None:
            return JobStatus(
                "failed",
                "NotFound",
                f"Failed: Job {name} no longer exists in namespace {namespace}: it was deleted outside Chowda, "
                "or its TTL ran out before Chowda read it.",
            )
        conditions = {
            condition["type"]: condition
            for condition in (job.get("status") or {}).get("conditions") or []
            if condition.get("status") == "True"
        }
        pod = self._newest_pod(name, namespace)
        if "Complete" in conditions:
            return JobStatus("succeeded", "Complete", "Succeeded", _exit_code(pod))
        # FailureTarget comes first, while the pod is still there to read its log; Failed once it is gone.
        failed = conditions.get("FailureTarget") or conditions.get("Failed")
        if failed:
            reason = failed.get("reason") or "Failed"
            sentence = _failure_sentence(reason, failed.get("message", ""), job, pod)
            return JobStatus("failed", reason, sentence, None if reason == "DeadlineExceeded" else _exit_code(pod))
        return _pod_progress(pod)

    def log_tail(self, name: str, namespace: str, lines: int = 50) -> str:
        """The last ``lines`` of the Job's pod's log; empty when there is no pod or no log (yet, or any more)."""
        pod = self._newest_pod(name, namespace)
        if pod is None:
            return ""
        try:
            response = self._call(
                "get",
                "pods/log",
                namespace,
                lambda: self.core.read_namespaced_pod_log(
                    pod["metadata"]["name"],
                    namespace,
                    container=CONTAINER,
                    tail_lines=lines,
                    limit_bytes=64 * 1024,
                    _preload_content=False,
                    _request_timeout=self.timeout,
                ),
                f"the log of Job {name}",
            )
        except ClusterRefused as error:
            # 404: the pod is gone; 400: its container has not started.
            if error.status in (400, 404):
                return ""
            raise
        return response.data.decode("utf-8", errors="replace")

    def delete(self, name: str, namespace: str) -> None:
        """Delete the Job and, first, its pod (foreground propagation: the app's process is ended, not left
        running orphaned as the API's default for Jobs would). A Job already gone is fine."""
        try:
            self._call(
                "delete",
                "jobs",
                namespace,
                lambda: self.batch.delete_namespaced_job(
                    name,
                    namespace,
                    propagation_policy="Foreground",
                    _preload_content=False,
                    _request_timeout=self.timeout,
                ),
                f"Job {name}",
            )
        except ClusterRefused as error:
            if error.status != 404:
                raise

    def _create_job(self, namespace: str, manifest: dict):
        """POST the manifest as it is. The client's own models would re-type it (a GPU count must be a string there)
        and silently drop a field they do not know (a misspelt toleration key): the API server checks it instead,
        and rejects unknown fields (fieldValidation=Strict)."""
        api_client = self.batch.api_client
        method, url, headers, body, _ = api_client.param_serialize(
            "POST",
            "/apis/batch/v1/namespaces/{namespace}/jobs",
            path_params={"namespace": namespace},
            query_params=[("fieldValidation", "Strict")],
            header_params={"Content-Type": "application/json", "Accept": "application/json"},
            body=manifest,
            auth_settings=["BearerToken"],
        )
        response = api_client.call_api(method, url, headers, body, _request_timeout=self.timeout)
        response.read()
        if not 200 <= response.status <= 299:
            raise ApiException.from_response(http_resp=response, body=None, data=None)
        return response

    def _read_job(self, name: str, namespace: str) -> dict | None:
        try:
            response = self._call(
                "get",
                "jobs",
                namespace,
                lambda: self.batch.read_namespaced_job(
                    name, namespace, _preload_content=False, _request_timeout=self.timeout
                ),
                f"Job {name}",
            )
        except ClusterRefused as error:
            if error.status == 404:
                return None
            raise
        return json.loads(response.data)

    def _newest_pod(self, job_name: str, namespace: str) -> dict | None:
        response = self._call(
            "list",
            "pods",
            namespace,
            lambda: self.core.list_namespaced_pod(
                namespace,
                label_selector=f"job-name={job_name}",
                _preload_content=False,
                _request_timeout=self.timeout,
            ),
            f"the pods of Job {job_name}",
        )
        pods = json.loads(response.data).get("items") or []
        return max(pods, key=lambda pod: pod["metadata"].get("creationTimestamp", ""), default=None)

    def _call(self, verb: str, resource: str, namespace: str, call: Callable, what: str):
        try:
            return call()
        except ApiException as error:
            raise self._refusal(error, verb, resource, namespace, what) from error
        except (urllib3.exceptions.HTTPError, OSError) as error:
            raise ClusterUnreachable(
                f"The Kubernetes API server at {self.host} did not answer ({_cause(error)}) when asked to {verb} "
                f"{what}."
            ) from error

    def _refusal(self, error: ApiException, verb: str, resource: str, namespace: str, what: str) -> ClusterError:
        status = error.status or 0
        reason, message = _status_body(error)
        answered = f"The Kubernetes API server at {self.host} answered HTTP {status} {reason}"
        if status == 0:
            # The client's own error, e.g. an SSL failure: a certificate or CA to correct.
            return ClusterRefused(f"Cannot talk to the Kubernetes API server at {self.host}: {error.reason}", status)
        if status == 429 or status >= 500:
            return ClusterUnreachable(f"{answered} when asked to {verb} {what}: {message}")
        if status == 401:
            return ClusterRefused(
                f"{answered}: it does not accept the worker's credentials. Check the token or the service account "
                "the worker runs as.",
                status,
            )
        if status == 403:
            return ClusterRefused(
                f"{answered}: the worker may not {verb} {resource} in namespace {namespace} ({message}). Bind the "
                f"worker's service account to a Role in that namespace granting {RBAC_NEEDED} "
                "(deploy/kubernetes/rbac.yaml).",
                status,
            )
        if status == 404 and verb == "create":
            return ClusterRefused(
                f"{answered}: namespace {namespace} does not exist ({message}). Create it, or correct the app's "
                "namespace.",
                status,
            )
        if status == 422:
            return ClusterRefused(
                f"{answered}: {what} is not valid ({message}). Correct the app's Kubernetes settings.", status
            )
        return ClusterRefused(f"{answered} when asked to {verb} {what}: {message}", status)


def _status_body(error: ApiException) -> tuple[str, str]:
    """The reason and message of the API's Status object in an error answer."""
    try:
        body = json.loads(error.body or "")
    except ValueError:
        return str(error.reason or ""), (error.body or "").strip()[:300]
    if not isinstance(body, dict):
        return str(error.reason or ""), str(body)[:300]
    return str(body.get("reason") or error.reason or ""), str(body.get("message") or "")


def _cause(error: BaseException) -> str:
    """The innermost reason a connection failed, e.g. "Connection refused" or "timed out"."""
    reason = getattr(error, "reason", None)
    while isinstance(reason, BaseException) and getattr(reason, "reason", None) is not None:
        reason = reason.reason
    text = str(reason or error)
    refused = re.search(r"\[Errno -?\d+\] ([^')]+)", text)
    if refused:
        return refused.group(1)
    return "timed out" if "timed out" in text.lower() else text[:200]


def _pod_progress(pod: dict | None) -> JobStatus:
    if pod is None:
        return JobStatus("pending", "NoPod", "Pending: the Job has not made its pod yet")
    status = pod.get("status") or {}
    phase = status.get("phase", "Pending")
    node = (pod.get("spec") or {}).get("nodeName", "")
    if phase == "Running":
        return JobStatus("running", "Running", f"Running on node {node}")
    if phase in ("Succeeded", "Failed"):
        return JobStatus("running", phase, f"Running on node {node}: the app has ended, the Job is finishing")
    if phase != "Pending":
        return JobStatus("running", phase, f"{phase}: node {node} does not report the pod's state")

    scheduled = next((c for c in status.get("conditions") or [] if c.get("type") == "PodScheduled"), None)
    if scheduled and scheduled.get("status") == "False":
        reason = scheduled.get("reason") or "Unschedulable"
        message = scheduled.get("message", "")
        if "nvidia.com/gpu" in message:
            return JobStatus("pending", reason, f"Pending: waiting for a node with a free GPU ({reason})")
        return JobStatus("pending", reason, f"Pending: waiting for a node with room for it ({reason}): {message}")
    waiting = _waiting(status)
    image = _image(pod)
    if waiting:
        reason, detail = waiting.get("reason", ""), waiting.get("message", "")
        if reason == "ContainerCreating":
            return JobStatus("pending", reason, f"Pending: pulling image {image} and starting it on node {node}")
        if reason in ("ErrImagePull", "ImagePullBackOff", "InvalidImageName"):
            return JobStatus("pending", reason, _with_detail(f"Pending: cannot pull image {image} ({reason})", detail))
        return JobStatus("pending", reason, _with_detail(f"Pending: {reason} on node {node}", detail))
    if node:
        return JobStatus("pending", "Scheduled", f"Pending: placed on node {node}, starting")
    return JobStatus("pending", "Pending", "Pending: waiting to be placed on a node")


def _failure_sentence(reason: str, message: str, job: dict, pod: dict | None) -> str:
    if reason == "DeadlineExceeded":
        deadline = (job.get("spec") or {}).get("activeDeadlineSeconds")
        return f"Failed: DeadlineExceeded: the Job ran past its deadline of {deadline} s and was stopped"
    terminated = _terminated(pod)
    if terminated and terminated.get("reason") == "OOMKilled":
        memory = ((pod.get("spec") or {}).get("containers") or [{}])[0].get("resources", {}).get("limits", {})
        limit = memory.get("memory", "")
        return f"Failed: OOMKilled: the app ran out of its memory{f' ({limit})' if limit else ''}; give it more"
    if terminated:
        return (
            f"Failed: {reason}: the app exited with code {terminated.get('exitCode')}"
            f" ({terminated.get('reason') or 'Error'})"
        )
    return _with_detail(f"Failed: {reason}", message)


def _with_detail(sentence: str, detail: str) -> str:
    return f"{sentence}: {detail}" if detail else sentence


def _container_state(pod: dict | None, state: str) -> dict:
    for container in ((pod or {}).get("status") or {}).get("containerStatuses") or []:
        if container.get("name") == CONTAINER and state in (container.get("state") or {}):
            return container["state"][state] or {}
    return {}


def _waiting(status: dict) -> dict:
    return _container_state({"status": status}, "waiting")


def _terminated(pod: dict | None) -> dict:
    return _container_state(pod, "terminated")


def _exit_code(pod: dict | None) -> int | None:
    code = _terminated(pod).get("exitCode")
    return code if isinstance(code, int) else None


def _image(pod: dict) -> str:
    containers = (pod.get("spec") or {}).get("containers") or []
    return next((c.get("image", "") for c in containers if c.get("name") == CONTAINER), "")


def run_job(
    cluster: Cluster,
    spec: JobSpec,
    *,
    should_stop: Callable[[], bool],
    on_progress: Callable[[str], None],
    poll: float = 2.0,
    unreachable_for: float = 600.0,
    log_lines: int = 50,
) -> JobOutcome:
    """Run the step's Job to its end: create it (or adopt the one a previous dispatch of this step made), watch
    it every ``poll`` seconds, and say how it ended.

    ``on_progress`` is called with the Job's sentence each time it changes ("Pending: waiting for a node with a
    free GPU (Unschedulable)", "Running on node gpu-3"). ``should_stop`` is asked between polls; when it turns
    True the Job is deleted (foreground: its pod first) and the outcome is ``cancelled``.

    The outcome is ``succeeded``, ``failed`` or ``deadline`` (with the pod's log tail, read while the pod is
    still there: the caller judges success from the output file and quotes the log when it is missing);
    ``refused`` when the API server refuses a request (the sentence says what to change); ``unreachable`` when
    the API server does not answer the create, or stops answering while watching for longer than
    ``unreachable_for`` seconds (10 minutes by default: more than an API server restart or a control-plane
    upgrade takes). While it does not answer, ``run_job`` keeps asking with a backoff up to 30 s and the Job goes
    on on the cluster; after ``unreachable`` the caller should send the step again later, which adopts the Job.
    A finished Job is left for its TTL to remove (see ``JobSpec.ttl_seconds``).
    """
    try:
        cluster.create_or_adopt(spec)
    except ClusterUnreachable as error:
        return JobOutcome("unreachable", str(error))
    except ClusterRefused as error:
        return JobOutcome("refused", str(error))

    said = ""
    silent_since: float | None = None
    backoff = poll
    while True:
        if should_stop():
            return _cancel(cluster, spec)
        try:
            status = cluster.status(spec.name, spec.namespace)
        except ClusterUnreachable as error:
            now = time.monotonic()
            silent_since = now if silent_since is None else silent_since
            if now - silent_since >= unreachable_for:
                return JobOutcome(
                    "unreachable",
                    f"{error} It has not answered for {round(now - silent_since)} s; Job {spec.name} goes on "
                    "without Chowda watching, and the step sent again adopts it.",
                )
            said = _say(on_progress, said, "Waiting: the Kubernetes API server does not answer; the Job goes on")
            _wait(backoff, poll, should_stop)
            backoff = min(backoff * 2, max(poll, 30.0))
            continue
        except ClusterRefused as error:
            return JobOutcome("refused", str(error))
        silent_since, backoff = None, poll
        said = _say(on_progress, said, status.message)
        if status.phase in ("succeeded", "failed"):
            kind = "deadline" if status.reason == "DeadlineExceeded" else status.phase
            return JobOutcome(kind, status.message, _log_tail(cluster, spec, log_lines), status.exit_code)
        _wait(poll, poll, should_stop)


def _say(on_progress: Callable[[str], None], said: str, sentence: str) -> str:
    if sentence != said:
        on_progress(sentence)
    return sentence


def _wait(seconds: float, poll: float, should_stop: Callable[[], bool]) -> None:
    """Sleep ``seconds``, asking ``should_stop`` every ``poll`` seconds so that a cancel is not held up by a
    long backoff."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(left, poll))
        if should_stop():
            return


def _log_tail(cluster: Cluster, spec: JobSpec, lines: int) -> str:
    try:
        return cluster.log_tail(spec.name, spec.namespace, lines)
    except ClusterError:
        # The outcome stands without its log: the log is a help to read it, not part of it.
        return ""


def _cancel(cluster: Cluster, spec: JobSpec) -> JobOutcome:
    try:
        cluster.delete(spec.name, spec.namespace)
    except ClusterError as error:
        return JobOutcome(
            "cancelled",
            f"Cancelled, but Job {spec.name} could not be deleted: {error} Its deadline ends it, or delete it: "
            f"kubectl delete job {spec.name} -n {spec.namespace} --cascade=foreground",
        )
    return JobOutcome("cancelled", f"Cancelled: Job {spec.name} deleted with its pod")
