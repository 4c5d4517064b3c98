"""The apps form a stack (docs/architecture.md): `make lint` fails when an import points up or a cycle returns."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = [
    "chowda_site",
    "clams_apps",
    "pipelines",
    "batches",
    "runs",
    "findings",
    "reports",
    "deliverables",
    "api",
    "ops",
    "demo_apps",
]


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    lint = Path(sys.executable).with_name("lint-imports")
    # The packages are found through the working directory, whichever copy is checked.
    return subprocess.run([str(lint)], cwd=root, capture_output=True, text=True, env={"PYTHONPATH": str(root)})


def copy_of_the_project(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_project_keeps_its_import_contracts():
    result = lint_imports(ROOT)

    assert result.returncode == 0, result.stdout


def test_a_model_that_imports_a_higher_app_breaks_the_contract(tmp_path):
    project = copy_of_the_project(tmp_path)
    models = project / "batches" / "models.py"
    models.write_text("import runs.models  # noqa\n" + models.read_text())

    result = lint_imports(project)

    assert result.returncode != 0
    assert "batches.models -> runs.models" in result.stdout


def test_a_step_task_that_imports_the_services_breaks_the_runs_layers(tmp_path):
    project = copy_of_the_project(tmp_path)
    execution = project / "runs" / "execution.py"
    execution.write_text("from runs import services  # noqa\n" + execution.read_text())

    result = lint_imports(project)

    assert result.returncode != 0
    assert "runs.execution -> runs.services" in result.stdout


def test_runs_that_import_the_viewer_break_the_contract(tmp_path):
    project = copy_of_the_project(tmp_path)
    views = project / "runs" / "views.py"
    views.write_text("import findings.selectors  # noqa\n" + views.read_text())

    result = lint_imports(project)

    assert result.returncode != 0
    assert "runs.views -> findings.selectors" in result.stdout
