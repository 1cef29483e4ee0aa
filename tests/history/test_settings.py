"""A conversation's own settings (system prompt, parameters) in history: stored, replaced, upgraded, damaged."""

from __future__ import annotations

import pytest

from tests.history.test_migrations import _make_v1_database
from tui_agent.service.history import SCHEMA_VERSION, HistoryError, HistoryStore


def test_settings_are_replaced_as_a_whole_and_read_back(tmp_path):
    store = HistoryStore(tmp_path / "history.db")
    try:
        conversation = store.create_conversation()
        assert store.settings(conversation.id) == {}
        store.set_settings(conversation.id, {"system": "Be brief.", "temperature": 0.4, "reasoning": "low"})
        assert store.settings(conversation.id) == {"system": "Be brief.", "temperature": 0.4, "reasoning": "low"}
        store.set_settings(conversation.id, {"system": ""})
        assert store.settings(conversation.id) == {"system": ""}
        with pytest.raises(HistoryError, match="no conversation 999"):
            store.set_settings(999, {})
    finally:
        store.close()


def test_an_older_database_is_upgraded_and_its_conversations_have_no_settings(tmp_path):
    path = tmp_path / "history.db"
    _make_v1_database(path)
    store = HistoryStore(path)
    try:
        assert store.schema_version == SCHEMA_VERSION
        assert store.settings(1) == {}
    finally:
        store.close()


def test_damaged_settings_count_as_none(tmp_path):
    store = HistoryStore(tmp_path / "history.db")
    try:
        conversation = store.create_conversation()
        store._connection().execute("UPDATE conversations SET settings = 'not json' WHERE id = ?", (conversation.id,))
        assert store.settings(conversation.id) == {}
    finally:
        store.close()
