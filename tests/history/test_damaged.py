"""A damaged history database: kept byte for byte beside a fresh one, said on screen and by `config check`."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tui_agent.service.history import HistoryStore, check_database


def _good_database(path) -> bytes:
    store = HistoryStore(path)
    conv = store.create_conversation(profile="p", provider="x", model="m")
    for n in range(200):
        store.add_message(conv.id, "user", f"question {n} " * 20)
    store.close()
    return path.read_bytes()


def _damage(kind: str, good: bytes) -> bytes:
    if kind == "truncated":
        return good[: len(good) // 2]
    if kind == "garbage":
        return os.urandom(8192)
    return b"NOT A SQLITE FILE" + good[17:]  # wrong header


DAMAGE = ["truncated", "garbage", "wrong-header"]


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_database_is_kept_aside_unchanged_and_a_new_one_saves(tmp_path, kind):
    path = tmp_path / "history.db"
    damaged = _damage(kind, _good_database(tmp_path / "good.db"))
    path.write_bytes(damaged)
    store = HistoryStore(path)
    conv = store.create_conversation(profile="p", provider="x", model="m")
    store.add_message(conv.id, "user", "still saved")
    assert [m.content for m in store.messages(conv.id)] == ["still saved"]
    aside = store.set_aside
    assert aside is not None and aside.moved_to.read_bytes() == damaged
    assert aside.moved_to.parent == tmp_path and aside.moved_to.name.startswith("history.db.damaged-")
    sentence = aside.sentence()
    assert str(path) in sentence and aside.moved_to.name in sentence and "new conversations are saved" in sentence
    store.close()


@pytest.mark.parametrize("kind", DAMAGE)
def test_check_database_reports_damage_without_touching_the_file(tmp_path, kind):
    path = tmp_path / "history.db"
    path.write_bytes(_damage(kind, _good_database(tmp_path / "good.db")))
    before = path.read_bytes()
    assert "is damaged" in check_database(path)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["good.db", "history.db"]
    assert check_database(tmp_path / "good.db") is None and check_database(tmp_path / "absent.db") is None


def test_a_busy_database_is_not_mistaken_for_a_damaged_one(tmp_path):
    import sqlite3

    path = tmp_path / "history.db"
    _good_database(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert check_database(path) is None
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_config_check_warns_about_a_damaged_history_and_keeps_exit_0(isolated_home):
    (isolated_home / "data").mkdir()
    (isolated_home / "data" / "history.db").write_bytes(b"garbage" * 1000)
    proc = subprocess.run([sys.executable, "-m", "tui_agent", "config", "check"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "warning: the history database" in proc.stderr and "is damaged" in proc.stderr
    assert (isolated_home / "data" / "history.db").read_bytes() == b"garbage" * 1000
