"""Opening the history database: creation, upgrades from older schemas, refusals, and staying lazy."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys

import pytest

from tui_agent.service import history
from tui_agent.service.history import SCHEMA_VERSION, HistoryError, HistoryStore

# The schema as version 1 shipped it, written out by hand so that a later edit of the module's migration
# list cannot silently change what "an old database" means here.
V1_SCHEMA = """
CREATE TABLE conversations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    content TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'complete',
    created_at INTEGER NOT NULL
);
CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
PRAGMA user_version = 1;
"""


def _make_v1_database(path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.execute("INSERT INTO conversations VALUES (1, 'Old chat about tides', 1700000000000, 1700000005000)")
    conn.executemany(
        "INSERT INTO messages (id, conversation_id, role, content, status, created_at) VALUES (?, 1, ?, ?, ?, ?)",
        [
            (1, "user", "Why are there two tides a day?", "complete", 1700000001000),
            (2, "assistant", "Because the moon pulls the oceans on both sides", "complete", 1700000002000),
            (3, "user", "And spring tides?", "complete", 1700000003000),
            (4, "assistant", "Spring tides happen when the sun and", "streaming", 1700000004000),
        ],
    )
    conn.commit()
    conn.close()


def test_new_database_is_created_private_in_wal_mode_at_the_latest_schema(tmp_path):
    path = tmp_path / "data" / "history.db"
    store = HistoryStore(path)
    store.open()
    try:
        assert store.schema_version == SCHEMA_VERSION
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert store._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        store.close()


def test_version_1_database_upgrades_and_keeps_its_conversations(tmp_path):
    path = tmp_path / "history.db"
    _make_v1_database(path)

    store = HistoryStore(path)
    try:
        assert store.schema_version == SCHEMA_VERSION
        [conversation] = store.list_conversations()
        assert conversation.title == "Old chat about tides"
        assert conversation.message_count == 4
        assert conversation.profile is None
        messages = store.messages(1)
        assert [m.content for m in messages] == [
            "Why are there two tides a day?",
            "Because the moon pulls the oceans on both sides",
            "And spring tides?",
            "Spring tides happen when the sun and",
        ]
        # Data migration: the new updated_at column starts as each message's creation time.
        assert all(m.updated_at == m.created_at for m in messages)
        # A v1 answer left streaming has no owner that could still finish it.
        assert messages[-1].status == "interrupted"
        assert store.interrupted_on_open == 1
        # Old messages are searchable after the upgrade, and new answers record their profile.
        assert [hit.message_id for hit in store.search("moon")] == [2]
        answer = store.start_answer(1, profile="local", provider="ollama", model="llama3.2")
        store.finish_answer(answer.id, "Neap tides are the opposite.")
        assert store.get_conversation(1).profile == "local"
        assert store.get_message(answer.id).model == "llama3.2"
    finally:
        store.close()


def test_database_from_a_newer_version_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "history.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE future (x)")
    conn.execute("PRAGMA user_version = 99")
    conn.commit()
    conn.close()

    with pytest.raises(HistoryError, match=r"newer tui-agent \(schema 99.*upgrade tui-agent or move the file aside"):
        HistoryStore(path).open()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
    conn.close()


def test_failed_migration_step_rolls_back_to_the_previous_version(tmp_path, monkeypatch):
    path = tmp_path / "history.db"
    first = HistoryStore(path)
    first.open()
    first.close()

    broken_step = ("CREATE TABLE half_done (x)", "ALTER TABLE no_such_table ADD COLUMN y")
    monkeypatch.setattr(history, "MIGRATIONS", history.MIGRATIONS + (broken_step,))
    monkeypatch.setattr(history, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(HistoryError, match="Cannot open the history database"):
        HistoryStore(path).open()

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'half_done'").fetchone() is None
    conn.close()


def test_file_that_is_not_a_database_is_kept_aside_and_reported(tmp_path):
    path = tmp_path / "history.db"
    damaged = b"this is not sqlite at all, just some text that happens to be long enough" * 20
    path.write_bytes(damaged)
    store = HistoryStore(path)
    store.open()  # a new history in its place (tests/history/test_damaged.py covers the kinds of damage)
    assert store.set_aside is not None and store.set_aside.moved_to.read_bytes() == damaged
    assert "file is not a database" in store.set_aside.sentence()
    store.close()


def test_constructing_the_store_touches_no_disk(tmp_path):
    path = tmp_path / "nested" / "history.db"
    HistoryStore(path)
    assert not path.parent.exists()


def test_importing_the_history_module_does_not_import_sqlite():
    code = (
        "import sys, tui_agent.service.history as h; h.HistoryStore('unused.db'); "
        "print(sorted(m for m in ('sqlite3', '_sqlite3') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_an_old_database_gains_the_image_table_and_deleting_a_conversation_removes_its_rows(tmp_path):
    path = tmp_path / "history.db"
    _make_v1_database(path)
    from tui_agent.service.attachments import StoredImage

    store = HistoryStore(path)
    try:
        conv = store.create_conversation()
        image = StoredImage("ab" * 32, "image/png", "shot.png", 10)
        store.add_message(conv.id, "user", "look", images=[image])
        assert store.messages(conv.id)[0].images == (image,)
        store.delete(conv.id)
        conn = sqlite3.connect(path)
        assert conn.execute("SELECT COUNT(*) FROM message_images").fetchone() == (0,)
        conn.close()
    finally:
        store.close()
