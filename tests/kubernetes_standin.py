"""A stand-in for a Kubernetes API server, on loopback, for tests: no cluster can run on these machines.

It is not Kubernetes. It answers only the calls ``jobs.kubernetes.Cluster`` makes, with the JSON shapes of the
real API (batch/v1 Job, v1 Pod and PodList, v1 Status for every error):

* ``POST /apis/batch/v1/namespaces/<ns>/jobs``: the manifest is checked with kubernetes-validate ``--strict``
  for ``KUBERNETES_VERSION`` (422 Invalid when it fails, with the failing field), and the name as the real
  server checks it (a DNS label of at most 63 characters, since it becomes a label value); 409 AlreadyExists,
  404 NotFound for an unknown namespace, 400 BadRequest when the body's namespace is not the URL's.
* ``GET`` and ``DELETE /apis/batch/v1/namespaces/<ns>/jobs/<name>``: ``propagationPolicy`` Foreground or
  Background ends the pod's process and removes the pod; without it the pod is orphaned and goes on running,
  as the real API does for batch/v1 Jobs.
* ``GET /api/v1/namespaces/<ns>/pods?labelSelector=job-name=<name>`` and ``GET .../pods/<pod>/log`` with
  ``tailLines`` and ``limitBytes`` (400 while the container has not started, as the real kubelet answers).

Every request must carry ``Authorization: Bearer <token>`` (401 otherwise); ``forbid(verb, resource)`` makes it
answer 403 Forbidden as RBAC does.

To make a Job's life real, its container's command runs as a local process: ``images`` maps an image to a local
folder (the working directory; a leading ``python3`` becomes this Python), ``claims`` maps a
PersistentVolumeClaim to a local folder, and an argument or env value under a mount path is rewritten to the
claim's folder (with its ``subPath``). The process's stdout and stderr are the pod's log. An image not in
``images`` stays in ``ErrImagePull``; a claim not in ``claims`` leaves the pod Unschedulable.
``activeDeadlineSeconds`` counts from the Job's start (pending time included): past it the process is killed and
the Job gets FailureTarget and Failed with reason DeadlineExceeded. An exit code 0 makes it Complete, another
one Failed with BackoffLimitExceeded (``backoffLimit`` is 0: one pod, never retried).

What it does not do: scheduling, resources and GPUs (``hold`` scripts a Pending reason instead), read-only
mounts, watches, field selectors, resourceVersion conflicts, and keeping a deadline-killed pod only until its
grace period ends (here it stays, so its log can always be read).

Usage::

    with KubernetesStandIn(claims={"exchange": tmp_path}, images={"clams/app:1": app_dir}) as server:
        cluster = Cluster.connect(server.url, token=server.token)
        server.hold("chowda-r1-s1-d1", "Unschedulable", "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")
        server.release("chowda-r1-s1-d1")    # the pod is scheduled and its process starts
        server.stop(); server.start()        # the API server goes away and comes back on the same port
        server.processes("chowda-r1-s1-d1")  # the processes its pods ran
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import kubernetes_validate

from jobs.kubernetes import KUBERNETES_VERSION

NODE = "standin-node-1"
JOB_PATH = re.compile(r"^/apis/batch/v1/namespaces/(?P<ns>[^/]+)/jobs(?:/(?P<name>[^/]+))?$")
POD_PATH = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/pods(?:/(?P<name>[^/]+)(?P<log>/log)?)?$")
# ``hold(ANY, …)``: every Job made from now on, whose name a test cannot know beforehand (its dispatch number).
ANY = "*"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def status_error(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    """The v1 Status object the real API server answers every error with."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message}
    body |= {"reason": reason, "code": code}
    if details:
        body["details"] = details
    return body


class Answer(Exception):
    """Ends a request with this status code and JSON body."""

    def __init__(self, code: int, body: dict):
        super().__init__(body.get("message", ""))
        self.code = code
        self.body = body


@dataclass
class StandInJob:
    """A Job, its one pod, and the local process that plays the pod's container."""

    job: dict
    pod: dict
    log: Path
    held: tuple[str, str] | None = None
    released: threading.Event = field(default_factory=threading.Event)
    deleted: threading.Event = field(default_factory=threading.Event)
    process: subprocess.Popen | None = None


class KubernetesStandIn:
    def __init__(
        self,
        *,
        claims: dict[str, Path],
        images: dict[str, Path],
        namespaces: tuple[str, ...] = ("chowda-apps",),
        logs: Path,
    ):
        self.claims = {claim: Path(folder) for claim, folder in claims.items()}
        self.images = {image: Path(folder) for image, folder in images.items()}
        self.namespaces = set(namespaces)
        self.logs = Path(logs)
        self.token = secrets.token_urlsafe(16)
        self.jobs: dict[tuple[str, str], StandInJob] = {}
        self.started: dict[str, list[subprocess.Popen]] = {}
        self.received: list[dict] = []
        self.requests: list[tuple[str, str, int]] = []
        self.forbidden: set[tuple[str, str]] = set()
        self.holds: dict[str, tuple[str, str]] = {}
        self.lock = threading.RLock()
        self.port = 0
        self.server: ThreadingHTTPServer | None = None

    # The test's controls.

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> KubernetesStandIn:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        """Listen (again, on the same port after ``stop``): the Jobs and their processes were kept."""
        handler = type("Handler", (StandInHandler,), {"standin": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop listening, as an API server that went away: connections are refused, the Jobs go on."""
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def close(self) -> None:
        self.stop()
        with self.lock:
            processes = [p for started in self.started.values() for p in started]
            for record in self.jobs.values():
                record.deleted.set()
                record.released.set()
        for process in processes:
            kill(process)

    def hold(self, job_name: str, reason: str, message: str = "") -> None:
        """Keep the pod of the Job named ``job_name`` (made now or later; ``ANY``: every Job made later) Pending with
        this reason: Unschedulable is a PodScheduled condition, any other reason (ContainerCreating, ErrImagePull)
        the container's."""
        with self.lock:
            self.holds[job_name] = (reason, message)

    def release(self, job_name: str) -> None:
        """Let a held pod be scheduled and its process start."""
        with self.lock:
            self.holds.pop(job_name, None)
            for record in self.jobs.values():
                if job_name in (ANY, record.job["metadata"]["name"]):
                    record.released.set()

    def forbid(self, verb: str, resource: str) -> None:
        """Answer 403 to ``verb`` (create, get, list, delete) on ``resource`` (jobs, pods, pods/log)."""
        self.forbidden.add((verb, resource))

    def processes(self, job_name: str) -> list[subprocess.Popen]:
        """The processes the pods of every Job named ``job_name`` ran, alive or not."""
        with self.lock:
            return list(self.started.get(job_name, []))

    def job(self, namespace: str, name: str) -> dict | None:
        with self.lock:
            record = self.jobs.get((namespace, name))
            return copy.deepcopy(record.job) if record else None

    def answered(self, method: str, status: int) -> int:
        """How many ``method`` requests were answered with ``status``."""
        return sum(1 for m, _path, code in self.requests if m == method and code == status)

    # The API.

    def create_job(self, namespace: str, body: dict, query: dict) -> dict:
        self.received.append(copy.deepcopy(body))
        name = (body.get("metadata") or {}).get("name", "")
        if namespace not in self.namespaces:
            raise Answer(
                404,
                status_error(
                    404, "NotFound", f'namespaces "{namespace}" not found', {"kind": "namespaces", "name": namespace}
                ),
            )
        if (body.get("metadata") or {}).get("namespace", namespace) != namespace:
            raise Answer(
                400,
                status_error(
                    400,
                    "BadRequest",
                    "the namespace of the provided object does not match the namespace sent on the request",
                ),
            )
        invalid = validation_error(body)
        if invalid:
            raise Answer(
                422,
                status_error(
                    422,
                    "Invalid",
                    f'Job.batch "{name}" is invalid: {invalid}',
                    {
                        "name": name,
                        "group": "batch",
                        "kind": "Job",
                        "causes": [{"reason": "FieldValueInvalid", "message": invalid}],
                    },
                ),
            )
        with self.lock:
            if (namespace, name) in self.jobs:
                raise Answer(
                    409,
                    status_error(
                        409,
                        "AlreadyExists",
                        f'jobs.batch "{name}" already exists',
                        {"name": name, "group": "batch", "kind": "jobs"},
                    ),
                )
            record = self._admit(namespace, body)
            self.jobs[(namespace, name)] = record
        threading.Thread(target=self._live, args=(record,), daemon=True).start()
        return copy.deepcopy(record.job)

    def read_job(self, namespace: str, name: str) -> dict:
        job = self.job(namespace, name)
        if job is None:
            raise Answer(404, not_found("jobs", "batch", name))
        return job

    def delete_job(self, namespace: str, name: str, policy: str) -> dict:
        with self.lock:
            record = self.jobs.pop((namespace, name), None)
            if record is None:
                raise Answer(404, not_found("jobs", "batch", name))
            job = copy.deepcopy(record.job)
            cascade = policy in ("Foreground", "Background")
            if cascade:
                record.deleted.set()
                record.released.set()
            process = record.process
        if cascade and process:
            kill(process)
        if policy == "Foreground":
            # The real server answers with the Job, marked for deletion, while the garbage collector removes its
            # pods; here they are already gone.
            job["metadata"] |= {"deletionTimestamp": now(), "finalizers": ["foregroundDeletion"]}
            return job
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {"name": name, "group": "batch", "kind": "jobs", "uid": job["metadata"]["uid"]},
        }

    def list_pods(self, namespace: str, selector: str) -> dict:
        wanted = dict(part.replace("==", "=").split("=", 1) for part in selector.split(",") if part)
        with self.lock:
            pods = [
                copy.deepcopy(record.pod)
                for (ns, _name), record in self.jobs.items()
                if ns == namespace and all(record.pod["metadata"]["labels"].get(k) == v for k, v in wanted.items())
            ]
        return {
            "kind": "PodList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": str(time.time_ns())},
            "items": pods,
        }

    def pod_log(self, namespace: str, pod_name: str, query: dict) -> bytes:
        with self.lock:
            record = next(
                (r for (ns, _), r in self.jobs.items() if ns == namespace and r.pod["metadata"]["name"] == pod_name),
                None,
            )
            if record is None:
                raise Answer(404, not_found("pods", "", pod_name))
            if record.process is None:
                waiting = record.pod["status"].get("containerStatuses", [{}])[0].get("state", {}).get("waiting", {})
                reason = waiting.get("reason", "PodInitializing")
                raise Answer(
                    400,
                    status_error(
                        400, "BadRequest", f'container "app" in pod "{pod_name}" is waiting to start: {reason}'
                    ),
                )
        text = record.log.read_bytes()
        if "tailLines" in query:
            lines = text.splitlines(keepends=True)
            text = b"".join(lines[-int(query["tailLines"]) :]) if int(query["tailLines"]) else b""
        if "limitBytes" in query:
            text = text[: int(query["limitBytes"])]
        return text

    # A Job's life.

    def _admit(self, namespace: str, body: dict) -> StandInJob:
        """The Job as the API server stores it, with the defaults and labels the Job controller adds."""
        job = copy.deepcopy(body)
        name = job["metadata"]["name"]
        uid = str(uuid.uuid4())
        job["metadata"] |= {
            "namespace": namespace,
            "uid": uid,
            "resourceVersion": str(time.time_ns()),
            "generation": 1,
            "creationTimestamp": now(),
        }
        controller_labels = {
            "batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": uid,
            "job-name": name,
        }
        spec = job["spec"]
        spec.setdefault("parallelism", 1)
        spec.setdefault("completions", 1)
        spec.setdefault("completionMode", "NonIndexed")
        spec.setdefault("suspend", False)
        spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        spec["template"]["metadata"]["labels"] = {**spec["template"]["metadata"].get("labels", {}), **controller_labels}
        job["status"] = {"startTime": now(), "active": 1, "ready": 0, "terminating": 0, "uncountedTerminatedPods": {}}
        pod_name = f"{name}-{secrets.token_hex(3)[:5]}"
        pod = {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {
                "name": pod_name,
                "generateName": f"{name}-",
                "namespace": namespace,
                "uid": str(uuid.uuid4()),
                "resourceVersion": str(time.time_ns()),
                "creationTimestamp": now(),
                "labels": copy.deepcopy(spec["template"]["metadata"]["labels"]),
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": name,
                        "uid": uid,
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": copy.deepcopy(spec["template"]["spec"]),
            "status": {"phase": "Pending", "qosClass": "BestEffort", "conditions": []},
        }
        log = self.logs / f"{namespace}-{pod_name}.log"
        log.touch()
        return StandInJob(job=job, pod=pod, log=log, held=self.holds.get(name) or self.holds.get(ANY))

    def _live(self, record: StandInJob) -> None:
        """The pod's life: held Pending, or scheduled and run; then the Job's end from the process's."""
        started = time.monotonic()
        deadline = record.job["spec"].get("activeDeadlineSeconds")

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - (time.monotonic() - started))

        if record.held:
            self._pending(record, *record.held)
            if not record.released.wait(left()):
                return self._end(record, "DeadlineExceeded")
            if record.deleted.is_set():
                return None
        blocked = self._cannot_start(record)
        if blocked:
            # Stuck until the Job is deleted or its deadline passes, as on a real cluster.
            self._pending(record, *blocked)
            if not record.deleted.wait(left()):
                self._end(record, "DeadlineExceeded")
            return None
        self._run(record)
        if record.process is None:
            return None
        try:
            code = record.process.wait(left())
        except subprocess.TimeoutExpired:
            kill(record.process)
            return self._end(record, "DeadlineExceeded")
        if not record.deleted.is_set():
            self._end(record, "Complete" if code == 0 else "BackoffLimitExceeded", code)
        return None

    def _cannot_start(self, record: StandInJob) -> tuple[str, str] | None:
        spec = record.pod["spec"]
        for volume in spec.get("volumes", []):
            claim = volume["persistentVolumeClaim"]["claimName"]
            if claim not in self.claims:
                return "Unschedulable", f'0/1 nodes are available: persistentvolumeclaim "{claim}" not found.'
        image = spec["containers"][0]["image"]
        if image not in self.images:
            return (
                "ErrImagePull",
                f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": not found',
            )
        return None

    def _pending(self, record: StandInJob, reason: str, message: str) -> None:
        with self.lock:
            status = record.pod["status"]
            if reason == "Unschedulable":
                status["conditions"] = [condition("PodScheduled", "False", reason, message)]
                return
            record.pod["spec"]["nodeName"] = NODE
            status["conditions"] = [condition("PodScheduled", "True")]
            status["containerStatuses"] = [
                self._container_status(record, {"waiting": {"reason": reason, "message": message}})
            ]

    def _run(self, record: StandInJob) -> None:
        container = record.pod["spec"]["containers"][0]
        mounts = self._mounts(record.pod["spec"])
        command = [rewrite(arg, mounts) for arg in container["command"]]
        if command and command[0] == "python3":
            command[0] = sys.executable
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONUNBUFFERED": "1"}
        env |= {item["name"]: rewrite(item.get("value", ""), mounts) for item in container.get("env", [])}
        with self.lock:
            if record.deleted.is_set():
                return
            with record.log.open("ab") as log:
                record.process = subprocess.Popen(
                    command,
                    cwd=self.images[container["image"]],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            self.started.setdefault(record.job["metadata"]["name"], []).append(record.process)
            record.pod["spec"]["nodeName"] = NODE
            record.pod["status"] |= {
                "phase": "Running",
                "hostIP": "10.0.0.1",
                "podIP": "10.244.0.7",
                "startTime": now(),
                "conditions": [
                    condition("PodScheduled", "True"),
                    condition("Initialized", "True"),
                    condition("ContainersReady", "True"),
                    condition("Ready", "True"),
                ],
                "containerStatuses": [self._container_status(record, {"running": {"startedAt": now()}}, ready=True)],
            }
            record.job["status"]["ready"] = 1

    def _end(self, record: StandInJob, reason: str, code: int | None = None) -> None:
        with self.lock:
            if record.deleted.is_set():
                return
            pod_status, job_status = record.pod["status"], record.job["status"]
            succeeded = reason == "Complete"
            if record.process is not None:
                terminated = {
                    "exitCode": 137 if code is None else code,
                    "reason": "Completed" if succeeded else "Error",
                    "startedAt": pod_status.get("startTime", now()),
                    "finishedAt": now(),
                }
                pod_status["containerStatuses"] = [self._container_status(record, {"terminated": terminated})]
            pod_status["phase"] = "Succeeded" if succeeded else "Failed"
            if reason == "DeadlineExceeded":
                pod_status |= {
                    "reason": "DeadlineExceeded",
                    "message": "Pod was active on the node longer than the specified deadline",
                }
            job_status |= {"active": 0, "ready": 0}
            if succeeded:
                job_status |= {"succeeded": 1, "completionTime": now()}
                job_status["conditions"] = [
                    condition(
                        "SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods"
                    ),
                    condition("Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods"),
                ]
                return
            message = {
                "DeadlineExceeded": "Job was active longer than specified deadline",
                "BackoffLimitExceeded": "Job has reached the specified backoff limit",
            }[reason]
            job_status["failed"] = 1
            job_status["conditions"] = [
                condition("FailureTarget", "True", reason, message),
                condition("Failed", "True", reason, message),
            ]

    def _mounts(self, pod_spec: dict) -> list[tuple[str, Path]]:
        claims = {v["name"]: v["persistentVolumeClaim"]["claimName"] for v in pod_spec.get("volumes", [])}
        mounts = [
            (m["mountPath"].rstrip("/"), self.claims[claims[m["name"]]] / m.get("subPath", ""))
            for m in pod_spec["containers"][0].get("volumeMounts", [])
        ]
        return sorted(mounts, key=lambda mount: len(mount[0]), reverse=True)

    def _container_status(self, record: StandInJob, state: dict, ready: bool = False) -> dict:
        image = record.pod["spec"]["containers"][0]["image"]
        return {
            "name": "app",
            "image": image,
            "imageID": f"{image}@sha256:{'0' * 64}" if "waiting" not in state else "",
            "ready": ready,
            "started": "running" in state,
            "restartCount": 0,
            "state": state,
        }


def condition(kind: str, status: str, reason: str = "", message: str = "") -> dict:
    stamp = now()
    found = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": stamp}
    if reason:
        found["reason"] = reason
    if message:
        found["message"] = message
    return found


def not_found(resource: str, group: str, name: str) -> dict:
    qualified = f"{resource}.{group}" if group else resource
    return status_error(
        404, "NotFound", f'{qualified} "{name}" not found', {"name": name, "group": group, "kind": resource}
    )


def validation_error(body: dict) -> str:
    """Why the real API server would refuse this Job, or "": the strict schema, then the name's rules."""
    try:
        kubernetes_validate.validate(body, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(part) for part in error.path)
        return f"{path}: {error.message}"
    name = body["metadata"].get("name", "")
    if len(name) > 63 or not DNS_LABEL.match(name):
        return (
            f'metadata.name: Invalid value: "{name}": a lowercase RFC 1123 label of at most 63 characters is required'
        )
    return ""


def rewrite(value: str, mounts: list[tuple[str, Path]]) -> str:
    """A path as the container sees it, as the local folder that plays its volume."""
    for mount_path, folder in mounts:
        if value == mount_path or value.startswith(mount_path + "/"):
            return str(folder / value[len(mount_path) :].lstrip("/"))
    return value


def kill(process: subprocess.Popen) -> None:
    """End the process and its children, as a container's end does."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    process.wait()


class StandInHandler(BaseHTTPRequestHandler):
    standin: KubernetesStandIn

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        self.answer("GET")

    def do_POST(self):
        self.answer("POST")

    def do_DELETE(self):
        self.answer("DELETE")

    def answer(self, method: str) -> None:
        url = urlsplit(self.path)
        query = {key: values[-1] for key, values in parse_qs(url.query).items()}
        code, body = 200, b""
        content_type = "application/json"
        try:
            if self.headers.get("Authorization") != f"Bearer {self.standin.token}":
                raise Answer(401, status_error(401, "Unauthorized", "Unauthorized"))
            payload = self.route(method, url.path, query)
            if isinstance(payload, bytes):
                body, content_type = payload, "text/plain"
            else:
                code = 201 if method == "POST" else 200
                body = json.dumps(payload).encode()
        except Answer as answer:
            code, body = answer.code, json.dumps(answer.body).encode()
        self.standin.requests.append((method, url.path, code))
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route(self, method: str, path: str, query: dict) -> dict | bytes:
        standin = self.standin
        if match := JOB_PATH.match(path):
            namespace, name = match["ns"], match["name"]
            if method == "POST" and not name:
                self.check("create", "jobs", "batch", namespace)
                return standin.create_job(namespace, self.json_body(), query)
            if method == "GET" and name:
                self.check("get", "jobs", "batch", namespace)
                return standin.read_job(namespace, name)
            if method == "DELETE" and name:
                self.check("delete", "jobs", "batch", namespace)
                policy = query.get("propagationPolicy") or self.json_body().get("propagationPolicy", "")
                return standin.delete_job(namespace, name, policy)
        if match := POD_PATH.match(path):
            namespace, name = match["ns"], match["name"]
            if method == "GET" and not name:
                self.check("list", "pods", "", namespace)
                return standin.list_pods(namespace, query.get("labelSelector", ""))
            if method == "GET" and match["log"]:
                self.check("get", "pods/log", "", namespace)
                return standin.pod_log(namespace, name, query)
        raise Answer(404, status_error(404, "NotFound", "the server could not find the requested resource"))

    def check(self, verb: str, resource: str, group: str, namespace: str) -> None:
        if (verb, resource) in self.standin.forbidden:
            qualified = f"{resource}.{group}" if group else resource
            raise Answer(
                403,
                status_error(
                    403,
                    "Forbidden",
                    (
                        f'{qualified} is forbidden: User "system:serviceaccount:chowda:chowda-worker" cannot {verb} '
                        f'resource "{resource}" in API group "{group}" in the namespace "{namespace}"'
                    ),
                    {"group": group, "kind": resource},
                ),
            )

    def json_body(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError as error:
            raise Answer(
                400, status_error(400, "BadRequest", f"the body of the request was not JSON: {error}")
            ) from error
