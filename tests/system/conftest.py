"""The production shape: gunicorn (2 processes), 2 RQ workers, cron, as real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, free_port

BIN = ROOT / ".venv" / "bin"


class Processes:
    """Start, watch and stop the system's processes; keep their logs for the report."""

    def __init__(self, env: dict, logdir: Path):
        self.env = env
        self.logdir = logdir
        self.procs: dict[str, subprocess.Popen] = {}
        self.stopped = False

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.logdir / f"{name}.log", "wb")  # noqa: SIM115 (closed in stop)
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        proc.log = log  # type: ignore[attr-defined]
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.logdir / f"{name}.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
            proc.log.close()  # type: ignore[attr-defined]


@pytest.fixture
def system_env() -> dict:
    """Extra environment for the system's processes (a test module may override this)."""
    return {}


@pytest.fixture
def system(app, base_env, system_env, tmp_path, request):
    """Run gunicorn with 2 processes, 2 workers and cron against this test's database."""
    env = dict(base_env)
    env.update(system_env)
    env.setdefault("PUSH_COALESCE_SECONDS", "0.5")
    port = free_port()
    procs = Processes(env, tmp_path)
    request.addfinalizer(procs.stop)
    procs.start(
        "web",
        [
            str(BIN / "gunicorn"),
            "-w",
            "2",
            "--threads",
            "25",
            "-b",
            f"127.0.0.1:{port}",
            "--graceful-timeout",
            "5",
            "wsgi:app",
        ],
    )
    for i in (1, 2):
        procs.start(f"worker{i}", [str(BIN / "flask"), "--app", "wsgi", "worker"])
    procs.start("cron", [str(BIN / "flask"), "--app", "wsgi", "cron"])
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.2)
    else:
        pytest.fail("gunicorn did not start:\n" + procs.log("web"))
    procs.url = url  # type: ignore[attr-defined]
    yield procs
    procs.stop()
    for name in procs.procs:
        text = procs.log(name)
        assert "Traceback" not in text, f"{name} logged an error:\n{text[-4000:]}"
