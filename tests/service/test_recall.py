"""Prompt recall on disk: newest first, bounded, never a secret, a damaged file ignored with a log line."""

from __future__ import annotations

import json
import logging

import pytest

from tui_agent.service.recall import MAX_ENTRY_CHARS, PromptRecall, looks_like_secret


def test_entries_are_newest_first_deduplicated_and_survive_a_new_instance(tmp_path):
    recall = PromptRecall(tmp_path / "r.json")
    for text in ("one", "/model a", "two", "one"):
        recall.add(text)
    assert PromptRecall(tmp_path / "r.json").load() == ["one", "two", "/model a"]


def test_the_list_is_bounded(tmp_path):
    recall = PromptRecall(tmp_path / "r.json", limit=3)
    for i in range(5):
        recall.add(f"p{i}")
    assert PromptRecall(tmp_path / "r.json").load() == ["p4", "p3", "p2"]


@pytest.mark.parametrize("text", [
    "sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123",
    "my key is sk-proj-ABCDEFGHIJKLMNOPQRSTUV",
    "Authorization: Bearer abcdefghijklmnop",
    "AIzaSyA1234567890abcdefghijklmnopqrstu",
])
def test_a_line_that_looks_like_a_key_is_never_written(tmp_path, text):
    recall = PromptRecall(tmp_path / "r.json")
    assert looks_like_secret(text)
    assert recall.add(text) is False
    recall.add("fine")
    assert text not in (tmp_path / "r.json").read_text()


def test_ordinary_prompts_are_not_taken_for_keys():
    for text in ("explain this stack trace", "/login openai", "a_very_long_identifier_name_without_digits_at_all"):
        assert not looks_like_secret(text)


def test_a_huge_prompt_is_not_stored(tmp_path):
    assert PromptRecall(tmp_path / "r.json").add("x" * (MAX_ENTRY_CHARS + 1)) is False


@pytest.mark.parametrize("content", ["{not json", json.dumps({"format": "other"}), json.dumps([1, 2])])
def test_a_damaged_file_is_ignored_with_a_log_line_and_replaced_on_the_next_write(tmp_path, caplog, content):
    path = tmp_path / "r.json"
    path.write_text(content)
    recall = PromptRecall(path)
    with caplog.at_level(logging.WARNING, logger="tui_agent.service.recall"):
        assert recall.load() == []
    assert "ignoring damaged prompt recall file" in caplog.text
    recall.add("new")
    assert PromptRecall(path).load() == ["new"]


def test_a_file_that_cannot_be_written_costs_nothing(tmp_path, caplog):
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o500)
    recall = PromptRecall(tmp_path / "ro" / "sub" / "r.json")
    with caplog.at_level(logging.WARNING, logger="tui_agent.service.recall"):
        assert recall.add("kept in memory") is True
    assert recall.entries == ["kept in memory"]
