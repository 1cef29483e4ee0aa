"""The black-box echo benchmark's machinery measures something real: `bench/echo_pty.py` run once, on a tiny answer.

The installed `tui-agent` on a pty, read through pyte: the prompt box is found, every typed key is seen echoed
in it, the answer's first chunk and its end are seen on screen, and the reopened conversation shows it again.
Nothing is timed against a bound (timing belongs in bench/). Skipped without pyte (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("pyte")

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def echo_pty(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    had_animations = "TEXTUAL_ANIMATIONS" in os.environ
    import echo_pty

    if not had_animations:  # bench/_common sets it for the benchmarked apps; other tests keep Textual's default
        os.environ.pop("TEXTUAL_ANIMATIONS", None)
    return echo_pty


def test_a_tiny_answer_is_seen_streaming_and_ending_and_every_key_is_seen_echoed(echo_pty, monkeypatch):
    monkeypatch.setattr(echo_pty, "AFTER_KEYS", 4)  # enough to see keys echoed; each costs a typist's 150 ms
    if not Path(echo_pty.tui_agent_command()[0]).exists():
        pytest.skip("no installed `tui-agent` command")
    answer = f"Hello **there**, a short answer.\n\nThe last line: {echo_pty.END_MARK}.\n"
    case = echo_pty.Case("tiny", "a tiny answer", lambda: answer, echo_pty.chunks_of, 0.0, one_shot=True)

    result = echo_pty.run_case(case, timeout=30, seed=1, settle=0.3)

    assert "timeout" not in result and "one_shot_timeout" not in result, result
    keys = result["keys"]
    assert len(keys) >= echo_pty.AFTER_KEYS
    assert all(key["latency"] is not None and 0 < key["latency"] < 30 for key in keys), keys
    assert {key["phase"] for key in keys} <= {"stream", "after"}
    assert 0 < result["first"] <= result["end"] < 30
    assert 0 < result["one_shot"] < 30
    assert result["chunks"] == len(echo_pty.chunks_of(answer))
    if Path("/proc/net/tcp").exists():  # the app read the last byte after the server wrote it, and before the end
        assert -0.01 < result["after_last_read"] <= result["after_last_chunk"] + 0.01, result


def test_the_loopback_server_finds_both_ends_of_its_connection_in_the_tcp_table(monkeypatch):
    """bench/_loopback.py reports "read" once the server's send queue and the app's receive queue are both empty."""
    monkeypatch.syspath_prepend(str(BENCH))
    import _loopback

    server, client = ("127.0.0.1", 8080), ("127.0.0.1", 51202)
    header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode"

    def table(tx: int, rx: int) -> str:  # /proc/net/tcp: addresses as little-endian hex, then tx_queue:rx_queue
        return "\n".join([
            header,
            "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  0 0 1",  # the listener
            f"   1: 0100007F:1F90 0100007F:C802 01 {tx:08X}:00000000 00:00000000 00000000  0 0 2",  # server's end
            f"   2: 0100007F:C802 0100007F:1F90 01 00000000:{rx:08X} 00:00000000 00000000  0 0 3",  # the app's end
        ])

    assert _loopback.queues(server, client, table(65536, 1_048_576)) == (65536, 1_048_576)
    assert _loopback.queues(server, client, table(0, 12)) == (0, 12)  # written whole, not read yet
    assert _loopback.queues(server, client, table(0, 0)) == (0, 0)  # read
    assert _loopback.queues(server, ("127.0.0.1", 40000), table(0, 5)) is None  # another connection: gone


def test_the_prompt_box_is_read_from_the_emulated_screen(echo_pty):
    """The prompt's frame is found however many rows it has, and only what is inside it is read."""
    import pyte

    class Screen:
        def __init__(self, rows: list[str]) -> None:
            self.screen = pyte.Screen(echo_pty.COLUMNS, echo_pty.LINES)
            stream = pyte.Stream(self.screen)
            for y, row in enumerate(rows):
                stream.feed(f"\x1b[{y + 1};1H{row}")

    frame = "─" * 70
    rows = ["answer text", f"╭{frame}╮", "│ abc" + " " * 66 + "│▏ side panel", "│ def" + " " * 66 + "│", f"╰{frame}╯", " ^c Clear"]
    shown = Screen(rows)
    assert echo_pty.Terminal.prompt_text(shown) == "abcdef"
    assert echo_pty.Terminal.prompt_text(Screen(["no prompt here"])) is None
