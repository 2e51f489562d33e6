"""Ctrl-C on `make run`: honcho gets SIGINT and sends SIGTERM to each process's group, the pool processes of
a worker included. The Procfile's worker and beat must stop on that without an error line or a traceback, and
honcho must say it stopped because it was asked to (130, which the Makefile's run recipe takes as the end)."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from tests.test_celery_embedded import ROOT, clean_env, procfile_command, stop, wait_for_log


def test_ctrl_c_stops_the_worker_and_beat_quietly(tmp_path: Path) -> None:
    procfile = tmp_path / "Procfile"
    procfile.write_text(
        "".join(f"{name}: {shlex.join(procfile_command(name))}\n" for name in ("worker", "beat")), encoding="utf-8"
    )
    log = tmp_path / "honcho.log"
    with log.open("wb") as out:
        honcho = subprocess.Popen(
            [sys.executable, "-m", "honcho", "start", "-f", str(procfile), "-d", str(ROOT)],
            cwd=ROOT,
            env=clean_env(tmp_path / "var"),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group, like a terminal's foreground job
        )
    try:
        wait_for_log(log, "ready.", honcho, timeout=60)
        wait_for_log(log, "beat: Starting...", honcho, timeout=60)

        os.killpg(honcho.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        returncode = honcho.wait(timeout=30)
    finally:
        stop(honcho)

    text = log.read_text(encoding="utf-8", errors="replace")
    assert returncode == 130, text[-3000:]
    assert "worker: Warm shutdown" in text
    assert "ERROR" not in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
