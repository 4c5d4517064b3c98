"""docker-compose.yml and the Dockerfile refer only to things that exist in the project."""

import importlib.util
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def module_exists(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def test_the_production_services_are_all_there():
    assert set(COMPOSE["services"]) >= {
        "postgres",
        "redis",
        "web",
        "worker",
        "migrate",
        "demo-segmenter",
        "demo-summarizer",
    }
    assert set(COMPOSE["volumes"]) >= {"postgres", "redis", "mmif"}


def test_every_command_refers_to_something_in_the_project():
    for name, service in COMPOSE["services"].items():
        command = service.get("command")
        if not command or service.get("image", "").startswith(("postgres", "redis")):
            continue
        if command[:2] == ["python", "manage.py"]:
            assert (ROOT / "manage.py").exists(), name
            assert command[2] == "migrate", name
        elif command[:2] == ["python", "-m"]:
            assert module_exists(command[2]), f"{name}: no module {command[2]}"
            if command[2] == "daphne":
                module, attribute = command[-1].split(":")
                assert module_exists(module), name
                assert attribute in (ROOT / (module.replace(".", "/") + ".py")).read_text(), name
            if command[2] == "demo_apps.serve":
                assert command[3] in {"segmenter", "summarizer"}, name
        elif command[0] == "celery":
            assert command[1:3] == ["-A", "chowda_site"], name
            assert (ROOT / "chowda_site" / "celery.py").exists(), name
            if command[3] == "worker":
                assert "threads" in command, f"{name}: workers use a thread pool"
            else:
                assert command[3] == "beat", f"{name}: a Celery worker or the one beat"
        else:
            raise AssertionError(f"{name}: unexpected command {command}")


def test_configuration_comes_only_from_the_environment():
    chowda = [s for s in COMPOSE["services"].values() if s.get("image") == "chowda:latest"]
    assert chowda
    for service in chowda:
        assert service["environment"]["CHOWDA_SECRET_KEY"].startswith("${CHOWDA_SECRET_KEY")
        assert service["environment"]["CHOWDA_REDIS_URL"] == "redis://redis:6379/0"


def test_the_dockerfile_copies_every_django_app():
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in (
        "chowda_site",
        "clams_apps",
        "pipelines",
        "batches",
        "runs",
        "findings",
        "reports",
        "deliverables",
        "api",
        "sso",
        "templates",
    ):
        assert f"COPY {package} {package}" in dockerfile


def test_the_image_installs_only_the_locked_releases():
    dockerfile = (ROOT / "Dockerfile").read_text()
    installs = [line for line in dockerfile.splitlines() if "pip install" in line]

    assert any("pip install --require-hashes -r requirements/run.txt" in line for line in installs)
    for line in installs:
        assert "--require-hashes" in line or "--no-deps" in line, f"resolves on its own: {line.strip()}"


def test_the_run_lock_leaves_out_the_development_tools():
    run = (ROOT / "requirements" / "run.txt").read_text()
    dev = (ROOT / "requirements" / "dev.txt").read_text()

    for tool in ("pytest", "ruff", "pre-commit", "mkdocs", "playwright"):
        assert f"\n{tool}==" not in run, tool
        assert f"\n{tool}==" in dev, tool
