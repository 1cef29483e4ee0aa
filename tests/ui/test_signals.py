"""SIGINT/SIGTERM to the real `tui-agent` in a pseudo-terminal: the streaming answer is kept, the exit code is 130/143."""

from __future__ import annotations

import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.fakes.fake_openai import FakeOpenAI

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and a pty")


def _read_until(fd: int, needle: bytes, timeout: float = 30.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} never appeared on the terminal; last bytes: {seen[-400:]!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
    return seen


def _drain(fd: int, proc: subprocess.Popen, timeout: float = 30.0) -> int:
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                os.read(fd, 65536)
            except OSError:
                pass
    return proc.wait(timeout=1)


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["SIGTERM", "SIGINT"])
def test_a_signal_keeps_the_streaming_answer_and_exits_with_the_contract_code(isolated_home, sig, code):
    with FakeOpenAI() as fake:
        fake.script(fake.answer("Half an answer ", "and the rest", pause_after=2))
        (isolated_home / "config.toml").write_text(
            'default_profile = "fake"\n'
            f'[providers.fake]\nkind = "openai-chat"\nbase_url = "{fake.base_url}"\nauth = ["none"]\n'
            '[profiles.fake]\nprovider = "fake"\nmodel = "gpt-test"\n'
        )
        master, slave = pty.openpty()
        env = dict(os.environ, TERM="xterm-256color", COLUMNS="100", LINES="30")
        proc = subprocess.Popen(
            [sys.executable, "-m", "tui_agent"], stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True,
            start_new_session=True,
        )
        os.close(slave)
        try:
            _read_until(master, b"fake")  # the header names the profile: the chat screen is up
            time.sleep(0.5)
            os.write(master, b"hello\r")
            _read_until(master, b"Half an answer")
            proc.send_signal(sig)
            assert _drain(master, proc) == code
        finally:
            if proc.poll() is None:
                proc.kill()
            os.close(master)
            fake.release()
    db = sqlite3.connect(isolated_home / "data" / "history.db")
    rows = db.execute("SELECT role, content, status FROM messages ORDER BY id").fetchall()
    assert rows == [("user", "hello", "complete"), ("assistant", "Half an answer ", "stopped")]
