"""``scripts/run.sh`` stops every process it started: on SIGTERM, on SIGINT, under nohup."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.conftest import BACKEND, ROOT, free_port

pytestmark = pytest.mark.skipif(
    BACKEND != "sqlite", reason="run.sh is tested on its embedded default database (SQLite)"
)

START_TIMEOUT = 180  # a first run migrates a new database and loads the demo data


def marked_processes(mark: str, groups: set[int] = frozenset()) -> list[tuple[int, str]]:
    """Return (pid, command line) of every live process of a run: its environment carries
    ``mark``, or it is in one of the process ``groups`` (redis-server overwrites its
    environment with its process title)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile, or not ours
            continue
        state, _, pgrp = stat.rsplit(")", 1)[1].split()[:3]
        if state == "Z":  # exited, waiting for its parent to reap it
            continue
        marked = f"FIELDSYNC_RUN_TEST_MARK={mark}".encode() in environ.split(b"\0")
        if marked or int(pgrp) in groups:
            found.append((int(entry.name), cmdline.strip()))
    return found


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until(condition, timeout: float, what: str, proc: subprocess.Popen, log: Path) -> None:
    """Wait for ``condition``; fail with run.sh's output when it exits or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"run.sh exited ({proc.returncode}) before {what}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {timeout} s:\n{log.read_text()}")
        time.sleep(0.2)


def portal_answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.mark.parametrize(
    ("nohup", "signum"),
    [
        (False, signal.SIGTERM),
        (False, signal.SIGINT),
        (True, signal.SIGTERM),
        (True, signal.SIGINT),
    ],
    ids=["sigterm", "sigint", "nohup-sigterm", "nohup-sigint"],
)
def test_run_script_stops_everything_it_started(tmp_path, nohup, signum):
    """Start the whole system with run.sh, signal it, and find nothing of it left."""
    mark = uuid.uuid4().hex
    port, redis_port, closed_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        FIELDSYNC_RUN_TEST_MARK=mark,
        FIELDSYNC_INSTANCE=str(tmp_path / "instance"),
        PORT=str(port),
        # Nothing answers there, so run.sh starts (and must stop) a private Redis too.
        FIELDSYNC_LOCAL_REDIS=f"redis://127.0.0.1:{closed_port}/0",
        FIELDSYNC_REDIS_PORT=str(redis_port),
        SECRET_KEY="run-script-test",
    )
    log = tmp_path / "run.log"
    args = [str(ROOT / "scripts" / "run.sh")]
    if nohup:
        args = ["nohup", *args]

    def ignore_interrupts() -> None:
        # What a shell does to `nohup scripts/run.sh &`: the job starts with SIGINT ignored.
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    with open(log, "wb") as out:
        proc = subprocess.Popen(
            args,
            cwd=tmp_path,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # the test's own clean-up handle, should run.sh fail
            preexec_fn=ignore_interrupts if nohup else None,
        )
    groups: set[int] = set()
    try:
        pids_file = tmp_path / "instance" / "run.pids"
        wait_until(pids_file.exists, START_TIMEOUT, "processes started", proc, log)
        wait_until(
            lambda: portal_answers(f"http://127.0.0.1:{port}/healthz"),
            START_TIMEOUT,
            "portal answering",
            proc,
            log,
        )
        groups = {int(pid) for pid in pids_file.read_text().split()}
        started = marked_processes(mark, groups)
        commands = " | ".join(cmd for _, cmd in started)
        for part in ("redis-server", " run ", " worker", " cron"):
            assert part in commands, f"{part.strip()} is not running: {commands}"
        assert not port_is_free(port)

        proc.send_signal(signum)
        assert proc.wait(60) == 128 + signum, log.read_text()

        left = marked_processes(mark, groups)
        assert left == [], f"still running after {signum.name}: {left}\n{log.read_text()}"
        assert port_is_free(port), f"port {port} is still taken"
        assert port_is_free(redis_port), f"the private Redis's port {redis_port} is still taken"
        assert "Stopped." in log.read_text()
    finally:
        for pid, _ in marked_processes(mark, groups):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
