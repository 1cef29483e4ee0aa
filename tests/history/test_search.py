"""Full-text search over every message: FTS5 when this SQLite has it, substring matching when it does not."""

from __future__ import annotations

import logging
import sqlite3

import pytest

from tui_agent.service import history
from tui_agent.service.history import HistoryStore


def _without_fts5(conn: sqlite3.Connection) -> bool:
    """Stand in for a SQLite built without FTS5: any statement that touches the index fails, as it would."""

    def authorize(action, arg1, arg2, db, source):
        touches_index = any(name and name.startswith("messages_fts") for name in (arg1, arg2))
        return sqlite3.SQLITE_DENY if touches_index and action != sqlite3.SQLITE_DROP_TRIGGER else sqlite3.SQLITE_OK

    conn.set_authorizer(authorize)
    return False


@pytest.fixture(params=["fts5", "substring"])
def any_store(request, tmp_path, monkeypatch, clock):
    """The same behaviour is expected from both search engines."""
    if request.param == "substring":
        monkeypatch.setattr(history, "_has_fts5", _without_fts5)
    store = HistoryStore(tmp_path / "history.db", clock=clock)
    assert store.full_text_search is (request.param == "fts5")
    yield store
    store.close()


def _fill(store: HistoryStore, clock) -> dict[str, int]:
    ids = {}
    ocean = store.create_conversation("Ocean")
    ids["tides"] = store.add_message(ocean.id, "user", "How do ocean tides work?").id
    clock.advance(1)
    ids["moon"] = store.add_message(ocean.id, "assistant", "The Moon's gravity pulls the ocean toward it.").id
    clock.advance(1)
    cooking = store.create_conversation("Cooking")
    ids["cafe"] = store.add_message(cooking.id, "user", "Best café au lait recipe?").id
    clock.advance(1)
    waves = "Warm the milk; pour it with the coffee, like ocean waves."
    ids["milk"] = store.add_message(cooking.id, "assistant", waves).id
    return ids


def test_search_finds_messages_in_every_conversation_newest_first(any_store, clock):
    ids = _fill(any_store, clock)
    hits = any_store.search("ocean")
    assert [hit.message_id for hit in hits] == [ids["milk"], ids["moon"], ids["tides"]]
    assert [hit.conversation_title for hit in hits] == ["Cooking", "Ocean", "Ocean"]
    assert hits[0].role == "assistant"


def test_every_word_must_match_and_the_last_one_may_be_a_prefix(any_store, clock):
    ids = _fill(any_store, clock)
    assert [hit.message_id for hit in any_store.search("ocean grav")] == [ids["moon"]]
    assert any_store.search("ocean recipe") == []


def test_highlights_point_at_the_matched_words_in_the_snippet(any_store, clock):
    _fill(any_store, clock)
    [hit] = any_store.search("moon gravity")
    marked = [hit.snippet[start:end].casefold() for start, end in hit.highlights]
    assert marked == ["moon", "gravity"]
    assert "\x02" not in hit.snippet and "\x03" not in hit.snippet


def test_search_ignores_case(any_store, clock):
    ids = _fill(any_store, clock)
    assert [hit.message_id for hit in any_store.search("MOON")] == [ids["moon"]]


def test_search_can_be_limited_to_one_conversation(any_store, clock):
    ids = _fill(any_store, clock)
    ocean = any_store.get_message(ids["tides"]).conversation_id
    assert {hit.message_id for hit in any_store.search("ocean", conversation_id=ocean)} == {ids["tides"], ids["moon"]}
    assert len(any_store.search("ocean", limit=1)) == 1


@pytest.mark.parametrize("query", ['"', 'ocean"', "AND", "ocean OR", "NEAR(", "-ocean", "*", "a:b", "(", "^"])
def test_query_syntax_characters_are_searched_as_text_not_parsed(any_store, clock, query):
    _fill(any_store, clock)
    any_store.search(query)  # must not raise


def test_blank_query_finds_nothing(any_store, clock):
    _fill(any_store, clock)
    assert any_store.search("   ") == []


def test_text_saved_by_a_checkpoint_is_found_and_replaced_text_is_not(any_store):
    conversation = any_store.create_conversation()
    answer = any_store.start_answer(conversation.id, profile="p", provider="openai", model="m")
    any_store.checkpoint(answer.id, "first draft mentions walruses")
    assert [hit.message_id for hit in any_store.search("walruses")] == [answer.id]
    any_store.finish_answer(answer.id, "final text mentions penguins")
    assert any_store.search("walruses") == []
    assert [hit.message_id for hit in any_store.search("penguins")] == [answer.id]


def test_accents_are_ignored_by_the_full_text_index(store, clock):
    ids = _fill(store, clock)
    assert [hit.message_id for hit in store.search("cafe")] == [ids["cafe"]]


def test_missing_fts5_is_logged_once_per_open(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(history, "_has_fts5", _without_fts5)
    with caplog.at_level(logging.WARNING, logger="tui_agent.service.history"):
        store = HistoryStore(tmp_path / "history.db")
        store.open()
        store.search("anything")
        store.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "no FTS5" in warnings[0]


def test_messages_written_without_fts5_are_indexed_when_fts5_is_back(tmp_path, monkeypatch):
    path = tmp_path / "history.db"
    with_fts = HistoryStore(path)
    conversation = with_fts.create_conversation()
    before = with_fts.add_message(conversation.id, "user", "written with walruses").id
    with_fts.close()

    monkeypatch.setattr(history, "_has_fts5", _without_fts5)
    without_fts = HistoryStore(path)
    during = without_fts.add_message(conversation.id, "user", "written with penguins").id
    without_fts.delete(without_fts.create_conversation().id)
    without_fts.close()

    monkeypatch.undo()
    again = HistoryStore(path)
    assert again.full_text_search
    assert [hit.message_id for hit in again.search("walruses")] == [before]
    assert [hit.message_id for hit in again.search("penguins")] == [during]
    again._conn.execute("INSERT INTO messages_fts(messages_fts, rank) VALUES ('integrity-check', 1)")
    again.close()
