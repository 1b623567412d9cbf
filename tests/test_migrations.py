"""The migration chain: one head, and the models and the migrated schema agree."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT


def _flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_chain_has_one_head(base_env):
    result = _flask(base_env, "db", "heads")
    assert result.returncode == 0, result.stderr
    heads = [line for line in result.stdout.splitlines() if "(head)" in line]
    assert len(heads) == 1, result.stdout


def test_the_migrated_schema_matches_the_models(migrated, base_env):
    result = _flask(base_env, "db", "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr
