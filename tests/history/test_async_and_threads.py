"""The store is safe to share between threads, and AsyncHistory keeps SQLite work off the event loop."""

from __future__ import annotations

import asyncio
import threading

from tui_agent.service.history import AsyncHistory, Checkpointer, HistoryStore


class _ThreadRecordingStore(HistoryStore):
    """Records which thread runs each blocking call."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.threads: set[int] = set()

    def _connection(self):
        self.threads.add(threading.get_ident())
        return super()._connection()


async def test_async_history_streams_an_answer_without_running_sqlite_on_the_event_loop(tmp_path):
    store = _ThreadRecordingStore(tmp_path / "history.db")
    history = AsyncHistory(store)
    conversation = await history.create_conversation(profile="local", provider="ollama", model="llama3.2")
    await history.add_message(conversation.id, "user", "Count to five")
    answer = await history.start_answer(conversation.id, profile="local", provider="ollama", model="llama3.2")
    checkpointer = Checkpointer(every_chars=2, clock=lambda: 0.0)
    for word in ["one ", "two ", "three ", "four ", "five"]:
        if checkpointer.add(word):
            await history.checkpoint(answer.id, checkpointer.text)
            checkpointer.saved()
    await history.finish_answer(answer.id, checkpointer.text, output_tokens=5)

    page = await history.messages_latest(conversation.id, limit=10)
    assert [m.content for m in page.messages] == ["Count to five", "one two three four five"]
    assert [hit.message_id for hit in await history.search("three")] == [answer.id]
    assert (await history.last_conversation()).profile == "local"
    assert "one two three" in await history.export_markdown(conversation.id)
    await history.close()

    assert store.threads and threading.get_ident() not in store.threads


async def test_concurrent_async_writes_all_land(tmp_path):
    history = AsyncHistory(HistoryStore(tmp_path / "history.db"))
    conversation = await history.create_conversation()
    await asyncio.gather(*(history.add_message(conversation.id, "user", f"m{n}") for n in range(40)))
    messages = await history.messages(conversation.id)
    assert sorted(m.content for m in messages) == sorted(f"m{n}" for n in range(40))
    await history.close()


def test_threads_sharing_one_store_do_not_lose_or_mix_writes(tmp_path):
    store = HistoryStore(tmp_path / "history.db")
    conversations = [store.create_conversation(f"c{n}").id for n in range(4)]
    errors: list[BaseException] = []

    def writer(conversation_id: int) -> None:
        try:
            for n in range(50):
                store.add_message(conversation_id, "user", f"{conversation_id}:{n}")
        except BaseException as err:  # surfaced below; a thread cannot fail the test itself
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(cid,)) for cid in conversations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    for cid in conversations:
        assert [m.content for m in store.messages(cid)] == [f"{cid}:{n}" for n in range(50)]
    store.close()
