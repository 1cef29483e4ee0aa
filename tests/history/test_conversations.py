"""Conversations: listing, resuming, renaming, deleting, reopening with each answer's profile, exporting."""

from __future__ import annotations

import json

import pytest

from tui_agent.service.history import HistoryError, HistoryStore


def _chat(store: HistoryStore, question: str, answer: str, profile=("claude", "claude-code", "sonnet")):
    conversation = store.create_conversation()
    store.add_message(conversation.id, "user", question)
    streamed = store.start_answer(conversation.id, profile=profile[0], provider=profile[1], model=profile[2])
    store.finish_answer(streamed.id, answer)
    return conversation


def test_conversations_are_listed_most_recently_updated_first(store, clock):
    first = _chat(store, "first question", "first answer")
    clock.advance(60)
    second = _chat(store, "second question", "second answer")
    clock.advance(60)
    third = _chat(store, "third question", "third answer")
    assert [c.id for c in store.list_conversations()] == [third.id, second.id, first.id]

    clock.advance(60)
    store.add_message(first.id, "user", "back to the first one")
    assert [c.id for c in store.list_conversations()] == [first.id, third.id, second.id]
    assert store.last_conversation().id == first.id
    assert [c.id for c in store.list_conversations(limit=1, offset=1)] == [third.id]


def test_last_conversation_is_none_in_an_empty_history(store):
    assert store.last_conversation() is None
    assert store.list_conversations() == []


def test_title_comes_from_the_first_user_message_unless_one_was_given(store):
    untitled = store.create_conversation()
    store.add_message(untitled.id, "user", "\n\n  How do tides work?  \nDetails follow.")
    store.add_message(untitled.id, "user", "A later message does not retitle it")
    assert store.get_conversation(untitled.id).title == "How do tides work?"

    long = store.create_conversation()
    store.add_message(long.id, "user", "x" * 200)
    title = store.get_conversation(long.id).title
    assert len(title) == 60 and title.endswith("…")

    named = store.create_conversation("My own title")
    store.add_message(named.id, "user", "something else")
    assert store.get_conversation(named.id).title == "My own title"


def test_rename_changes_the_title_and_unknown_conversations_are_reported(store):
    conversation = _chat(store, "question", "answer")
    renamed = store.rename(conversation.id, "  Tides, explained  ")
    assert renamed.title == "Tides, explained"
    assert store.get_conversation(conversation.id).title == "Tides, explained"
    with pytest.raises(HistoryError, match="no conversation 999"):
        store.rename(999, "nope")


def test_delete_removes_the_conversation_its_messages_and_their_search_hits(store):
    keep = _chat(store, "keep these tides", "kept answer about tides")
    drop = _chat(store, "drop these tides", "dropped answer about tides")
    assert len(store.search("tides")) == 4

    assert store.delete(drop.id) is True
    assert store.get_conversation(drop.id) is None
    assert store.messages(drop.id) == []
    assert store._conn.execute("SELECT COUNT(*) FROM messages WHERE conversation_id = ?", (drop.id,)).fetchone()[0] == 0
    assert {hit.conversation_id for hit in store.search("tides")} == {keep.id}
    # The external-content index still agrees with the table after the cascade.
    store._conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
    assert store.delete(drop.id) is False


def test_adding_to_an_unknown_conversation_is_reported(store):
    with pytest.raises(HistoryError, match="no conversation 7"):
        store.add_message(7, "user", "hello")
    with pytest.raises(HistoryError, match="no conversation 7"):
        store.start_answer(7, profile="p", provider="openai", model="m")


def test_unknown_role_is_a_programming_error(store):
    conversation = store.create_conversation()
    with pytest.raises(ValueError, match="role 'robot'"):
        store.add_message(conversation.id, "robot", "beep")


def test_reopened_conversation_names_the_profile_of_each_answer(tmp_path):
    path = tmp_path / "history.db"
    store = HistoryStore(path)
    conversation = store.create_conversation()
    store.add_message(conversation.id, "user", "Hi")
    first = store.start_answer(conversation.id, profile="claude", provider="claude-code", model="sonnet")
    store.finish_answer(first.id, "Hello from Claude")
    store.add_message(conversation.id, "user", "Now a local model please")
    second = store.start_answer(conversation.id, profile="local", provider="ollama", model="llama3.2")
    store.finish_answer(second.id, "Hello from llama")
    store.close()

    reopened = HistoryStore(path)
    messages = reopened.messages(conversation.id)
    assert [(m.role, m.profile, m.provider, m.model) for m in messages] == [
        ("user", None, None, None),
        ("assistant", "claude", "claude-code", "sonnet"),
        ("user", None, None, None),
        ("assistant", "local", "ollama", "llama3.2"),
    ]
    resumed = reopened.last_conversation()
    assert (resumed.profile, resumed.provider, resumed.model) == ("local", "ollama", "llama3.2")

    # A switch made before the next answer is remembered too.
    reopened.set_profile(conversation.id, "gpt", "openai", "gpt-4.1")
    assert reopened.get_conversation(conversation.id).profile == "gpt"
    reopened.close()


def _exported_conversation(store: HistoryStore, clock):
    conversation = store.create_conversation("Tides")
    store.add_message(conversation.id, "user", "Why two tides?")
    clock.advance(1)
    first = store.start_answer(conversation.id, profile="claude", provider="claude-code", model="sonnet")
    store.finish_answer(
        first.id, "Because of the **moon**.", thinking="Gravity gradient.", input_tokens=20, output_tokens=7
    )
    clock.advance(1)
    second = store.start_answer(conversation.id, profile="local", provider="ollama", model="llama3.2")
    store.finish_answer(second.id, "Also the", status="stopped")
    clock.advance(1)
    third = store.start_answer(conversation.id, profile="gpt", provider="openai", model="gpt-4.1")
    store.finish_answer(third.id, "", status="error", error="OpenAI refused the key (401).")
    return conversation


def test_export_to_json_carries_every_message_with_its_profile_status_and_usage(store, clock):
    conversation = _exported_conversation(store, clock)
    document = json.loads(store.export_json(conversation.id))
    assert document["format"] == "tui-agent-conversation"
    assert document["conversation"]["title"] == "Tides"
    assert document["conversation"]["message_count"] == 4
    assert document["conversation"]["created_at"].endswith("Z")
    rows = [(m["role"], m["profile"], m["status"], m["content"]) for m in document["messages"]]
    assert rows == [
        ("user", None, "complete", "Why two tides?"),
        ("assistant", "claude", "complete", "Because of the **moon**."),
        ("assistant", "local", "stopped", "Also the"),
        ("assistant", "gpt", "error", ""),
    ]
    claude = document["messages"][1]
    assert (claude["provider"], claude["model"], claude["input_tokens"], claude["output_tokens"]) == (
        "claude-code", "sonnet", 20, 7,
    )
    assert claude["thinking"] == "Gravity gradient."
    assert document["messages"][3]["error"] == "OpenAI refused the key (401)."


def test_export_to_markdown_reads_as_a_transcript(store, clock):
    conversation = _exported_conversation(store, clock)
    markdown = store.export_markdown(conversation.id)
    assert markdown.startswith("# Tides\n")
    assert "4 message(s)" in markdown
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert [h.split(" · 20")[0] for h in headings] == [
        "## You",
        "## claude (claude-code · sonnet)",
        "## local (ollama · llama3.2)",
        "## gpt (openai · gpt-4.1)",
    ]
    assert "Because of the **moon**." in markdown
    assert "<details><summary>Thinking</summary>\n\nGravity gradient.\n\n</details>" in markdown
    assert "> Stopped by the user" in markdown
    assert "> Error: OpenAI refused the key (401)." in markdown


def test_exporting_an_unknown_conversation_is_reported(store):
    with pytest.raises(HistoryError, match="no conversation 3"):
        store.export_markdown(3)


def test_a_failed_write_is_reported_as_a_history_error_naming_the_file(store):
    import sqlite3

    conversation = store.create_conversation()
    store._conn.set_authorizer(
        lambda action, table, *rest: sqlite3.SQLITE_DENY
        if action == sqlite3.SQLITE_INSERT and table == "messages" else sqlite3.SQLITE_OK
    )
    with pytest.raises(HistoryError, match=r"Could not save a message in the history database .*history\.db"):
        store.add_message(conversation.id, "user", "hello")
    store._conn.set_authorizer(None)
    assert store.messages(conversation.id) == []
