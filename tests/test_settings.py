"""Settings: every one read in one place, checked at start-up, documented in the README."""

from __future__ import annotations

import re
import subprocess

import pytest

from portal import config
from tests.conftest import ROOT


def _readme_rows() -> dict[str, str]:
    """Return each setting the README's settings table names, with its default column."""
    text = (ROOT / "README.md").read_text()
    table = text.split("## Settings", 1)[1].split("\n\n", 2)[1]
    rows: dict[str, str] = {}
    for line in table.splitlines()[2:]:
        names_cell, default_cell = line.split("|")[1:3]
        names = re.findall(r"`([A-Z][A-Z0-9_]+)`", names_cell)
        defaults = [d.strip() for d in default_cell.split(" / ")]
        for i, name in enumerate(names):
            rows[name] = defaults[i] if len(defaults) == len(names) else default_cell.strip()
    return rows


def _shown(default: object) -> str:
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default)


def test_the_readme_table_lists_every_setting_and_its_default():
    rows = _readme_rows()
    documented = set(rows) - {config.INSTANCE_VARIABLE}
    assert documented == {s.name for s in config.SETTINGS}
    for setting in config.SETTINGS:
        if setting.default is not None:
            assert _shown(setting.default) in rows[setting.name].replace("`", ""), setting.name


@pytest.mark.parametrize(
    "name,value,says",
    [
        ("INBOX_RETENTION_DAYS", "a week", "must be a whole number"),
        ("INBOX_LOCK_SECONDS", "0", "must be at least 1"),
        ("PUSH_COALESCE_SECONDS", "-1", "must be at least 0"),
        ("PUSH_RETRY_BASE_SECONDS", "soon", "must be a number"),
        ("SESSION_COOKIE_SECURE", "yes", "must be 1 (on) or 0 (off)"),
        ("LOG_LEVEL", "LOUD", "must be one of DEBUG"),
        ("LOGIN_RATE_LIMIT", "often", "must be a rate"),
    ],
)
def test_a_wrong_setting_names_itself(monkeypatch, tmp_path, name, value, says):
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv(name, value)
    with pytest.raises(config.SettingError, match=f"^Setting {name} {re.escape(says)}"):
        config.load(str(tmp_path))


def test_an_unset_or_empty_setting_takes_its_default(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x")
    monkeypatch.setenv("PUSH_MAX_ATTEMPTS", "")
    monkeypatch.delenv("INBOX_RETENTION_DAYS", raising=False)
    monkeypatch.setenv("PUSH_RETRY_AFTER_MAX_SECONDS", "60")
    loaded = config.load(str(tmp_path))
    assert loaded["PUSH_MAX_ATTEMPTS"] == 5 and loaded["INBOX_RETENTION_DAYS"] == 7
    assert loaded["PUSH_RETRY_AFTER_MAX_SECONDS"] == 60.0


def test_a_wrong_value_from_the_caller_or_instance_config_stops_create_app(app):
    from portal import create_app

    with pytest.raises(config.SettingError, match="Setting PUSH_MAX_ATTEMPTS must be at least 1"):
        create_app({"SECRET_KEY": "x", "PUSH_MAX_ATTEMPTS": 0})


def test_a_wrong_setting_stops_the_web_process_with_its_name(base_env):
    env = dict(base_env, INBOX_LOCK_SECONDS="thirty")
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "routes"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Setting INBOX_LOCK_SECONDS must be a whole number, got 'thirty'" in result.stderr
