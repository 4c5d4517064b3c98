"""The pre-commit secret scanner bites: a planted credential makes the lint run fail."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Built from pieces so this file does not itself trip the scanner.
FAKE_AWS_KEY = "AKIA" + "Z7QH3KX9" + "TM2P4WLR"
FAKE_PRIVATE_KEY = "-----BEGIN " + "RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA1234\n-----END " + "RSA PRIVATE KEY-----\n"


def lint(repo: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env["PRE_COMMIT_HOME"] = str(repo / ".pre-commit-cache")
    return subprocess.run(
        ["pre-commit", "run", "detect-secrets", "--all-files"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def make_repo(tmp_path: Path, planted: str) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in (".pre-commit-config.yaml", ".secrets.baseline"):
        shutil.copy(ROOT / name, repo / name)
    (repo / "settings_local.py").write_text(planted)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    return repo


def test_a_planted_aws_key_fails_the_lint(tmp_path):
    result = lint(make_repo(tmp_path, f'AWS_ACCESS_KEY_ID = "{FAKE_AWS_KEY}"\n'))

    assert result.returncode != 0
    assert "AWS Access Key" in result.stdout
    assert "settings_local.py" in result.stdout


def test_a_planted_private_key_fails_the_lint(tmp_path):
    result = lint(make_repo(tmp_path, FAKE_PRIVATE_KEY))

    assert result.returncode != 0
    assert "Private Key" in result.stdout


def test_ordinary_code_passes_the_lint(tmp_path):
    result = lint(make_repo(tmp_path, 'TIMEOUT = 3600\nNAME = "whisper"\n'))

    assert result.returncode == 0, result.stdout
