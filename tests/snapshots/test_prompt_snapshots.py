"""Pictures of the prompt's helpers: the completion menu (arguments, @paths) and attachment chips."""

from __future__ import annotations

import pytest

from tests.snapshots.test_chat_snapshots import SIZE, prepare
from tests.ui.support import make_app


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    (tmp_path / "notes.md").write_text("remember the milk\n", encoding="utf-8")
    (tmp_path / "screenshot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(16))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.py").write_text("print(1)\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_menu_of_profiles_with_the_second_row_highlighted(snap_compare, home):
    app, _ = make_app(home)

    async def run_before(pilot):
        prepare(app)
        app.screen.prompt.insert("/model ")
        await pilot.pause()
        await pilot.press("down")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_menu_of_at_paths(snap_compare, home, workdir):
    app, _ = make_app(home)

    async def run_before(pilot):
        prepare(app)
        app.screen.prompt.insert("summarise @")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_attachment_chips_above_the_prompt(snap_compare, home, workdir):
    app, _ = make_app(home)

    async def run_before(pilot):
        prepare(app)
        app.screen.prompt.insert("/attach screenshot.png")
        await pilot.press("enter")
        await pilot.pause()
        app.screen.prompt.insert("what do this and @notes.md show?")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
