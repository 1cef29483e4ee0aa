"""Streaming answers survive crashes: checkpoints are durable, and orphaned answers are marked interrupted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tui_agent.service.history import Checkpointer, HistoryError, HistoryStore

# A writer process: streams an answer through a Checkpointer, saving whenever one is due, and reports each
# save on stdout. After the last reported save it streams a few more fragments (not yet due for saving) and
# then blocks on stdin, which is where the test kills it: mid-answer, with unsaved text in memory.
WRITER = textwrap.dedent(
    """
    import sys
    from tui_agent.service.history import Checkpointer, HistoryStore

    store = HistoryStore(sys.argv[1])
    conversation = store.create_conversation()
    store.add_message(conversation.id, "user", "Tell me a long story")
    answer = store.start_answer(conversation.id, profile="claude", provider="claude-code", model="sonnet")
    checkpointer = Checkpointer(every_chars=40, every_ms=10**9, clock=lambda: 0.0)
    saves = 0
    for n in range(1000):
        if checkpointer.add(f"word{n} "):
            store.checkpoint(answer.id, checkpointer.text)
            checkpointer.saved()
            saves += 1
            print("saved", answer.id, len(checkpointer.text), flush=True)
            if saves == 5:
                break
    for n in range(3):
        checkpointer.add(f"unsaved{n} ")
    print("waiting", flush=True)
    sys.stdin.read()
    """
)


def _start_writer(path) -> tuple[subprocess.Popen, int, int]:
    """Run WRITER until it blocks mid-stream; return the process, the answer id and the saved length."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    answer_id = saved_length = 0
    for line in proc.stdout:
        if line.startswith("saved"):
            _, answer_id, saved_length = line.split()
        elif line.startswith("waiting"):
            break
    else:
        proc.kill()
        proc.wait()
        pytest.fail("the writer process ended before streaming its answer")
    return proc, int(answer_id), int(saved_length)


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()  # reaped: its pid no longer answers
    proc.stdout.close()
    proc.stdin.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_answer_of_a_killed_process_is_kept_up_to_its_last_checkpoint_and_marked_interrupted(tmp_path):
    path = tmp_path / "history.db"
    proc, answer_id, saved_length = _start_writer(path)
    _kill(proc)
    assert proc.returncode == -signal.SIGKILL

    store = HistoryStore(path)
    try:
        answer = store.get_message(answer_id)
        assert store.interrupted_on_open == 1
        assert answer.status == "interrupted"
        expected = "".join(f"word{n} " for n in range(1000))[:saved_length]
        assert saved_length >= 5 * 40
        assert answer.content == expected
        assert "unsaved" not in answer.content
        assert (answer.profile, answer.provider, answer.model) == ("claude", "claude-code", "sonnet")
        # What survived is searchable like any other message.
        assert [hit.message_id for hit in store.search("word3")] == [answer_id]
    finally:
        store.close()


@pytest.mark.skipif(sys.platform == "win32", reason="needs POSIX process checks")
def test_answer_still_streaming_in_a_live_process_is_left_alone(tmp_path):
    path = tmp_path / "history.db"
    proc, answer_id, _ = _start_writer(path)
    try:
        store = HistoryStore(path)
        assert store.get_message(answer_id).status == "streaming"
        assert store.interrupted_on_open == 0
        store.close()
    finally:
        _kill(proc)
    reopened = HistoryStore(path)
    assert reopened.get_message(answer_id).status == "interrupted"
    reopened.close()


def test_answer_left_streaming_by_a_closed_store_in_this_process_is_interrupted(tmp_path):
    path = tmp_path / "history.db"
    first = HistoryStore(path)
    conversation = first.create_conversation()
    answer = first.start_answer(conversation.id, profile="p", provider="openai", model="gpt")
    first.checkpoint(answer.id, "partial")
    first.close()

    second = HistoryStore(path)
    message = second.get_message(answer.id)
    second.close()
    assert (message.status, message.content) == ("interrupted", "partial")


def test_finished_answer_is_not_overwritten_by_a_late_checkpoint(store):
    conversation = store.create_conversation()
    answer = store.start_answer(conversation.id, profile="p", provider="openai", model="gpt")
    store.finish_answer(answer.id, "final text", input_tokens=12, output_tokens=3)
    store.checkpoint(answer.id, "final te")
    message = store.get_message(answer.id)
    assert (message.content, message.status) == ("final text", "complete")
    assert (message.input_tokens, message.output_tokens) == (12, 3)


def test_stopped_and_failed_answers_keep_their_status_error_and_thinking(store):
    conversation = store.create_conversation()
    stopped = store.start_answer(conversation.id, profile="p", provider="openai", model="gpt")
    store.checkpoint(stopped.id, "Half an ans", thinking="let me think")
    store.finish_answer(stopped.id, "Half an answer", status="stopped")
    failed = store.start_answer(conversation.id, profile="p", provider="openai", model="gpt")
    refused = "OpenAI refused the key (401); run `tui-agent login openai`."
    store.finish_answer(failed.id, "", status="error", error=refused)

    assert store.get_message(stopped.id).status == "stopped"
    assert store.get_message(stopped.id).content == "Half an answer"
    assert store.get_message(stopped.id).thinking == "let me think"
    assert store.get_message(failed.id).status == "error"
    assert "401" in store.get_message(failed.id).error


def test_finishing_with_a_non_final_status_is_a_programming_error(store):
    conversation = store.create_conversation()
    answer = store.start_answer(conversation.id, profile="p", provider="openai", model="gpt")
    with pytest.raises(ValueError, match="final status 'streaming'"):
        store.finish_answer(answer.id, "x", status="streaming")


def test_finishing_an_unknown_message_says_so(store):
    store.open()
    with pytest.raises(HistoryError, match="no message 42"):
        store.finish_answer(42, "x")


class TestCheckpointer:
    def test_is_due_once_enough_characters_arrived(self):
        checkpointer = Checkpointer(every_chars=10, every_ms=1000, clock=lambda: 0.0)
        assert not checkpointer.add("12345")
        assert checkpointer.add("67890")
        assert checkpointer.text == "1234567890"

    def test_is_due_once_enough_time_passed_with_unsaved_text(self):
        now = [0.0]
        checkpointer = Checkpointer(every_chars=10_000, every_ms=500, clock=lambda: now[0])
        assert not checkpointer.add("a")
        now[0] = 0.499
        assert not checkpointer.due()
        now[0] = 0.5
        assert checkpointer.due()

    def test_is_not_due_without_new_text_however_long_it_waits(self):
        now = [0.0]
        checkpointer = Checkpointer(every_chars=10, every_ms=500, clock=lambda: now[0])
        checkpointer.add("0123456789")
        checkpointer.saved()
        now[0] = 60.0
        assert not checkpointer.due()
        assert not checkpointer.pending

    def test_saving_restarts_both_limits(self):
        now = [0.0]
        checkpointer = Checkpointer(every_chars=10, every_ms=500, clock=lambda: now[0])
        checkpointer.add("0123456789")
        now[0] = 1.0
        checkpointer.saved()
        assert not checkpointer.add("abc")
        now[0] = 1.4
        assert not checkpointer.due()
        now[0] = 1.5
        assert checkpointer.due()

    def test_a_long_answer_is_saved_less_often_so_all_its_saves_write_a_few_times_its_size(self):
        now = [0.0]
        checkpointer = Checkpointer(every_chars=2048, every_ms=500, clock=lambda: now[0])
        written = 0
        for _ in range(250_000):  # 5 MB in 20-character deltas, 10 µs apart
            now[0] += 0.00001
            if checkpointer.add("x" * 20):
                written += len(checkpointer.text)
                checkpointer.saved()
        assert written <= 6 * 5_000_000  # every 2 KB it would be 6 GB
        assert checkpointer.pending or written  # the answer was saved along the way

    def test_a_long_answer_saves_by_time_less_often_the_bigger_it_is(self):
        now = [0.0]
        checkpointer = Checkpointer(every_chars=10**9, every_ms=500, clock=lambda: now[0])
        checkpointer.add("x" * 3_000_000)
        now[0] = 0.5
        assert checkpointer.due()
        checkpointer.saved()  # 3 MB written: the next save by time waits 3 × 0.5 s
        checkpointer.add("y")
        now[0] = 0.5 + 1.4
        assert not checkpointer.due()
        now[0] = 0.5 + 1.5
        assert checkpointer.due()

    def test_thinking_counts_toward_the_limits_and_is_kept_apart(self):
        checkpointer = Checkpointer(every_chars=6, every_ms=1000, clock=lambda: 0.0)
        assert not checkpointer.add("hmm", thinking=True)
        assert checkpointer.add("Yes", thinking=False)
        assert (checkpointer.thinking, checkpointer.text) == ("hmm", "Yes")


def test_a_checkpoint_reclaims_an_answer_another_process_took_for_abandoned(tmp_path):
    owner = HistoryStore(tmp_path / "history.db")
    conversation = owner.create_conversation()
    answer = owner.start_answer(conversation.id, profile="p", provider="openai", model="gpt")
    # What a second instance does when it cannot tell this process is alive (another host, Windows).
    owner._conn.execute("UPDATE messages SET status = 'interrupted', writer = NULL WHERE id = ?", (answer.id,))
    owner.checkpoint(answer.id, "still going")

    other = HistoryStore(tmp_path / "history.db")
    message = other.get_message(answer.id)
    assert (message.status, message.content) == ("streaming", "still going")
    assert other.interrupted_on_open == 0
    other.close()
    owner.close()
