"""The chat screen says at once when the history database is damaged, where it is and what happens now."""

from __future__ import annotations

from tests.ui.support import make_app, wait_until


async def test_the_chat_screen_says_at_once_that_the_history_was_damaged(home):
    app, _ = make_app(home)
    app.paths.history_db.parent.mkdir(parents=True, exist_ok=True)
    app.paths.history_db.write_bytes(b"garbage" * 1000)
    async with app.run_test(size=(110, 30)) as pilot:
        banner = app.screen.query_one("#history-banner")
        await wait_until(pilot, lambda: banner.display, "the history banner")
        text = str(banner.render())
        assert str(app.paths.history_db) in text.replace("\n", "") or "history.db" in text
        assert "new conversations are saved" in text
