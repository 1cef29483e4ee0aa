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
