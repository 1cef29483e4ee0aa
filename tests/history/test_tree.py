"""Conversations as trees in the store: parents, the branch on screen, switching, continuing, export, search."""

from __future__ import annotations

import json
import sqlite3

from tui_agent.service.history import (
    CONTINUE_MARK,
    MIGRATIONS,
    SCHEMA_VERSION,
    HistoryStore,
    _V1,
    _V2,
    _V_TREE,
)

# Today's schema before the tree step, as the statements that build it: the test database is what a user has.
BEFORE_TREE = (*_V1, *_V2)


def _make_pre_tree_database(path) -> None:
    conn = sqlite3.connect(path)
    for statement in BEFORE_TREE:
        conn.execute(statement)
    conn.execute(f"PRAGMA user_version = {MIGRATIONS.index(_V2) + 1}")
    conn.execute(
        "INSERT INTO conversations (id, title, created_at, updated_at, profile, provider, model) "
        "VALUES (7, 'Tides', 1, 5, 'local', 'ollama', 'llama3.2')"
    )
    conn.executemany(
        "INSERT INTO messages (id, conversation_id, role, content, status, created_at, updated_at, profile) "
        "VALUES (?, 7, ?, ?, 'complete', ?, ?, ?)",
        [
            (1, "user", "Why two tides a day?", 1, 1, None),
            (2, "assistant", "The moon pulls both sides.", 2, 2, "local"),
            (3, "user", "And spring tides?", 3, 3, None),
            (4, "assistant", "Sun and moon in line.", 4, 4, "local"),
        ],
    )
    conn.commit()
    conn.close()


def test_a_database_of_todays_schema_becomes_a_straight_branch(tmp_path):
    path = tmp_path / "history.db"
    _make_pre_tree_database(path)
    store = HistoryStore(path)
    try:
        assert store.schema_version == SCHEMA_VERSION
        assert _V_TREE in MIGRATIONS
        branch = store.branch(7)
        assert [m.id for m in branch] == [1, 2, 3, 4]
        assert [m.parent_id for m in branch] == [None, 1, 2, 3]
        assert store.children(7) == {None: [1], 1: [2], 2: [3], 3: [4]}
        # The index of parents is added to a database of any version (not a schema step).
        assert store._connection().execute("SELECT 1 FROM sqlite_master WHERE name = 'messages_tree'").fetchone()
        assert store.schema_version == SCHEMA_VERSION
        # The old conversation goes on from its last message.
        follow = store.add_message(7, "user", "Neap tides?")
        assert follow.parent_id == 4
        assert [m.id for m in store.branch(7)] == [1, 2, 3, 4, follow.id]
    finally:
        store.close()


def _two_turns(store):
    conv = store.create_conversation()
    q1 = store.add_message(conv.id, "user", "first question")
    a1 = store.add_message(conv.id, "assistant", "first answer", profile="fake")
    q2 = store.add_message(conv.id, "user", "second question")
    a2 = store.add_message(conv.id, "assistant", "second answer", profile="fake")
    return conv.id, q1, a1, q2, a2


def test_a_retry_is_a_sibling_and_switching_back_restores_the_branch_below(store):
    cid, q1, a1, q2, a2 = _two_turns(store)
    retry = store.start_answer(cid, profile="other", provider="openai", model="gpt", parent_id=q1.id)
    store.finish_answer(retry.id, "another first answer")
    assert store.children(cid)[q1.id] == [a1.id, retry.id]
    assert [m.id for m in store.branch(cid)] == [q1.id, retry.id]

    # Back to the first answer: its newest descendants come with it, down to the leaf.
    branch = store.select(cid, a1.id)
    assert [m.id for m in branch] == [q1.id, a1.id, q2.id, a2.id]
    assert store.branch(cid) == branch
    # Nothing was deleted.
    assert len(store.messages(cid)) == 5


def test_an_edit_is_a_sibling_of_the_prompt_and_a_first_prompt_can_be_edited(store):
    cid, q1, a1, q2, a2 = _two_turns(store)
    edited = store.add_message(cid, "user", "second question, better", parent_id=a1.id)
    assert store.children(cid)[a1.id] == [q2.id, edited.id]
    first = store.add_message(cid, "user", "first question, better", parent_id=None)
    assert store.children(cid)[None] == [q1.id, first.id]
    assert [m.id for m in store.branch(cid)] == [first.id]


def test_a_parent_from_another_conversation_is_refused(store):
    cid, q1, *_ = _two_turns(store)
    other = store.create_conversation()
    import pytest

    from tui_agent.service.history import HistoryError

    with pytest.raises(HistoryError, match="no message"):
        store.add_message(other.id, "user", "x", parent_id=q1.id)


def test_continue_appends_and_the_mark_survives_in_history_and_markdown(store):
    conv = store.create_conversation()
    store.add_message(conv.id, "user", "count")
    answer = store.start_answer(conv.id, profile="fake", provider="scripted", model="s1")
    store.finish_answer(answer.id, "one two", status="complete", stop_reason="max_tokens")
    assert store.get_message(answer.id).stop_reason == "max_tokens"

    resumed = store.resume_answer(answer.id)
    assert resumed.status == "streaming" and resumed.continued_at == (7,)
    store.checkpoint(answer.id, "one two three")
    done = store.finish_answer(answer.id, "one two three four", stop_reason="end_turn")
    assert done.continued_at == (7,) and done.status == "complete"

    markdown = store.export_markdown(conv.id)
    assert "one two" + CONTINUE_MARK + " three four" in markdown
    document = json.loads(store.export_json(conv.id))
    assert document["messages"][1]["continued_at"] == [7]


def test_markdown_exports_the_branch_on_screen_and_json_the_whole_tree(store):
    cid, q1, a1, q2, a2 = _two_turns(store)
    retry = store.add_message(cid, "assistant", "a different first answer", profile="other", parent_id=q1.id)
    markdown = store.export_markdown(cid)
    assert "a different first answer" in markdown
    assert "second question" not in markdown and "\nfirst answer\n" not in markdown
    document = json.loads(store.export_json(cid))
    assert document["conversation"]["current_id"] == retry.id
    parents = {m["id"]: m["parent_id"] for m in document["messages"]}
    assert parents == {q1.id: None, a1.id: q1.id, q2.id: a1.id, a2.id: q2.id, retry.id: q1.id}


def test_search_finds_text_on_a_branch_that_is_not_shown(store):
    cid, q1, a1, q2, a2 = _two_turns(store)
    store.add_message(cid, "assistant", "a zebra answer", parent_id=q1.id)
    store.select(cid, a1.id)
    assert [hit.message_id for hit in store.search("zebra")] == [a1.id + 3]
    assert [hit.message_id for hit in store.search("second answer")] == [a2.id]


def test_the_tail_of_the_branch_is_the_branch_shown_cut_to_its_latest_messages(store):
    cid, q1, a1, q2, a2 = _two_turns(store)
    retry = store.start_answer(cid, profile="other", provider="openai", model="gpt", parent_id=q1.id)
    store.finish_answer(retry.id, "another first answer")
    q3 = store.add_message(cid, "user", "third question")  # follows the retry: the branch is q1, retry, q3

    tail, older = store.branch_tail(cid, 2)
    assert [m.id for m in tail] == [retry.id, q3.id] and older == 1
    assert tail == store.branch(cid)[-2:]
    tail, older = store.branch_tail(cid, 10)
    assert tail == store.branch(cid) and older == 0

    # The other branch's tail once it is selected: its own messages, none of the one left.
    store.select(cid, a1.id)
    tail, older = store.branch_tail(cid, 3)
    assert [m.id for m in tail] == [a1.id, q2.id, a2.id] and older == 1
    empty = store.create_conversation()
    assert store.branch_tail(empty.id, 5) == ([], 0)


def test_selecting_by_the_tail_switches_as_select_does_and_reads_back_only_the_tail(store):
    cid, q1, a1, q2, a2 = _two_turns(store)
    retry = store.start_answer(cid, profile="other", provider="openai", model="gpt", parent_id=q1.id)
    store.finish_answer(retry.id, "another first answer")

    tail, older = store.select_tail(cid, a1.id, 2)
    assert [m.id for m in tail] == [q2.id, a2.id] and older == 2
    assert store.branch(cid)[-2:] == tail  # the switch is stored: the branch shown is the selected one
    tail, older = store.select_tail(cid, retry.id, 5)
    assert [m.id for m in tail] == [q1.id, retry.id] and older == 0
    import pytest
    from tui_agent.service.history import HistoryError

    with pytest.raises(HistoryError, match="no message"):
        store.select_tail(cid, 9999, 2)
    assert [m.id for m in store.branch(cid)] == [q1.id, retry.id]  # a refused switch changes nothing


def test_a_damaged_tree_with_a_loop_still_gives_a_bounded_branch(store):
    cid, q1, a1, q2, a2 = _two_turns(store)
    store._connection().execute("UPDATE messages SET parent_id = ? WHERE id = ?", (a2.id, q1.id))  # q1 under a2
    tail, older = store.branch_tail(cid, 2)
    assert [m.id for m in tail] == [q2.id, a2.id] and older <= 4
