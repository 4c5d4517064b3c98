"""deploy/kubernetes/ is valid for the pinned Kubernetes version, offline, and hangs together: every claim, account,
setting and command it names exists, and the workers get exactly the RBAC the Job runner needs."""

import copy
import shlex
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from jobs.kubernetes import KUBERNETES_VERSION

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "kubernetes"
FILES = sorted(path for path in DEPLOY.glob("*.yaml") if path.name != "kustomization.yaml")
OBJECTS = [doc for path in FILES for doc in yaml.safe_load_all(path.read_text()) if doc]


def objects(kind: str) -> dict[str, dict]:
    return {obj["metadata"]["name"]: obj for obj in OBJECTS if obj["kind"] == kind}


def pod_specs() -> dict[str, dict]:
    specs = {name: d["spec"]["template"]["spec"] for name, d in objects("Deployment").items()}
    specs |= {name: job["spec"]["template"]["spec"] for name, job in objects("Job").items()}
    return specs


def check(obj: dict) -> None:
    """Strict validation; a kind with no schema for the version is a failure, not the CLI's warning."""
    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("obj", OBJECTS, ids=lambda obj: f"{obj['kind']}/{obj['metadata']['name']}")
def test_every_manifest_validates_strictly_for_the_pinned_version(obj):
    check(obj)


def test_the_check_finds_a_misspelt_field():
    worker = copy.deepcopy(objects("Deployment")["chowda-worker"])
    worker["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["nmae"] = "x"

    with pytest.raises(kubernetes_validate.ValidationError, match="nmae"):
        check(worker)


def test_kustomization_applies_every_file():
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())

    assert sorted(kustomization["resources"]) == [path.name for path in FILES]


def test_the_workers_get_exactly_what_the_job_runner_needs():
    role = objects("Role")["chowda-run-app-jobs"]
    binding = objects("RoleBinding")["chowda-worker-runs-app-jobs"]

    rules = {
        (rule["apiGroups"][0], resource): set(rule["verbs"]) for rule in role["rules"] for resource in rule["resources"]
    }
    assert rules == {
        ("batch", "jobs"): {"create", "get", "list", "watch", "delete"},
        ("", "pods"): {"get", "list", "watch"},
        ("", "pods/log"): {"get"},
    }
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "chowda-worker", "namespace": "chowda"}]


def test_only_the_workers_carry_a_kubernetes_token():
    accounts = objects("ServiceAccount")
    for name, spec in pod_specs().items():
        account = spec["serviceAccountName"]
        assert account in accounts, name
        if name == "chowda-worker":
            assert account == "chowda-worker"
        else:
            assert accounts[account]["automountServiceAccountToken"] is False, name


def test_every_claim_mounted_or_given_to_the_jobs_exists():
    claims = set(objects("PersistentVolumeClaim"))
    settings = objects("ConfigMap")["chowda-config"]["data"]

    mounted = {
        volume["persistentVolumeClaim"]["claimName"]
        for spec in pod_specs().values()
        for volume in spec.get("volumes", [])
    }
    for_jobs = {settings[key] for key in settings if key.startswith("CHOWDA_KUBERNETES_") and key.endswith("_CLAIM")}
    assert for_jobs == {"chowda-exchange", "chowda-archive-media", "chowda-model-cache"}
    assert mounted | for_jobs <= claims


def test_the_workers_mount_the_exchange_volume_where_chowda_writes_it():
    settings = objects("ConfigMap")["chowda-config"]["data"]
    worker = pod_specs()["chowda-worker"]
    claims = {volume["name"]: volume["persistentVolumeClaim"]["claimName"] for volume in worker["volumes"]}
    mounts = {mount["mountPath"]: claims[mount["name"]] for mount in worker["containers"][0]["volumeMounts"]}

    assert mounts[settings["CHOWDA_JOB_ROOT"]] == settings["CHOWDA_KUBERNETES_EXCHANGE_CLAIM"]
    assert mounts[settings["CHOWDA_MEDIA_ROOT"]] == "chowda-mmif"
    assert mounts[settings["CHOWDA_KUBERNETES_MEDIA_MOUNT"]] == settings["CHOWDA_KUBERNETES_MEDIA_CLAIM"]


def test_every_setting_is_one_chowda_reads():
    settings = (ROOT / "chowda_site" / "settings.py").read_text()

    for key in objects("ConfigMap")["chowda-config"]["data"]:
        assert f'"{key}"' in settings, f"{key} is not a setting of chowda_site/settings.py"


def test_no_secret_is_committed_and_every_process_reads_the_operators():
    assert not objects("Secret")
    for name, spec in pod_specs().items():
        for container in spec["containers"] + spec.get("initContainers", []):
            assert {"secretRef": {"name": "chowda-secrets"}} in container["envFrom"], name


def test_the_processes_start_as_docker_compose_starts_them():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    specs = pod_specs()

    def command(name: str) -> list[str]:
        command = specs[name]["containers"][0]["command"]
        # The workers go through sh for the ${VAR:-default} of their queue and concurrency, as compose does.
        if command[:2] == ["sh", "-c"]:
            words = shlex.split(command[2])
            assert words[0] == "exec", f"{name}: the shell must hand over to Celery, for its signals"
            return words[1:]
        return command

    for name, service in {
        "chowda-web": "web",
        "chowda-migrate": "migrate",
        "chowda-worker": "worker",
        "chowda-background": "background",
        "chowda-beat": "beat",
    }.items():
        assert command(name) == compose[service]["command"], name


def test_beat_runs_once_at_any_time():
    beat = objects("Deployment")["chowda-beat"]

    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}
