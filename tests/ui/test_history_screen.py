"""Pilot tests of the history screen over a real SQLite history: listing, search, open, new, rename, delete, export."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest
from textual.app import App
from textual.widgets import Button, Input, OptionList, Static

from tui_agent.service.history import AsyncHistory, HistoryStore
from tui_agent.ui.screens import history as history_screen
from tui_agent.ui.screens.confirm import ConfirmScreen
from tui_agent.ui.screens.history import HistoryResult, HistoryScreen, when_text

SIZE = (100, 30)
T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC
DAY = 86_400


class Clock:
    """Seconds since the epoch that move only when the test says so (the store's clock)."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Host(App):
    """A bare app that shows one history screen and keeps whatever it was dismissed with."""

    def __init__(self, screen: HistoryScreen) -> None:
        super().__init__()
        self.history_screen = screen
        self.results: list[HistoryResult | None] = []

    def on_mount(self) -> None:
        self.push_screen(self.history_screen, self.results.append)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path, clock):
    history = HistoryStore(tmp_path / "history.db", clock=clock)
    yield history
    history.close()


@pytest.fixture
def filled(store, clock) -> dict[str, int]:
    """Three conversations, oldest first: ocean (an answer by `claude`), cooking (by `local`), rust (no answer)."""
    ids: dict[str, int] = {}
    ocean = store.create_conversation()
    ids["ocean"] = ocean.id
    store.add_message(ocean.id, "user", "Why do barnacles cling to rocks?")
    ids["barnacle"] = store.add_message(
        ocean.id, "assistant", "Barnacles glue themselves down with a protein cement.",
        profile="claude", provider="anthropic", model="claude-test-1",
    ).id
    clock.now += 3 * DAY
    cooking = store.create_conversation("Cooking with milk")
    ids["cooking"] = cooking.id
    store.add_message(cooking.id, "user", "Best café au lait?")
    store.add_message(
        cooking.id, "assistant", "Warm the milk, pour it with the coffee.", profile="local", provider="ollama",
        model="llama3.2",
    )
    clock.now += 5 * 3600
    rust = store.create_conversation("Rust lifetimes")
    ids["rust"] = rust.id
    store.add_message(rust.id, "user", "Explain lifetimes like tides.")
    clock.now += 3600
    return ids


def frozen(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock.now, tz=timezone.utc)


def make(store, tmp_path, clock, **options) -> tuple[Host, HistoryScreen]:
    now = frozen(clock)
    options.setdefault("debounce", 0)
    screen = HistoryScreen(AsyncHistory(store), export_dir=tmp_path / "exports", clock=lambda: now, **options)
    return Host(screen), screen


async def wait_until(pilot, predicate, what: str, tries: int = 500) -> None:
    """Let the app run until `predicate()` holds (a guard against asserting early, not a timing check)."""
    for _ in range(tries):
        if predicate():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def option_ids(screen: HistoryScreen) -> list[str]:
    option_list = screen.query_one("#history-list", OptionList)
    return [option_list.get_option_at_index(i).id for i in range(option_list.option_count)]


def option_text(screen: HistoryScreen, option_id: str) -> str:
    prompt = screen.query_one("#history-list", OptionList).get_option(option_id).prompt
    return getattr(prompt, "_visual", prompt).plain  # hits are padded Content


def status(screen: HistoryScreen) -> str:
    return str(screen.query_one("#history-status", Static).render())


def showing_hits(screen: HistoryScreen) -> bool:
    return any(i.startswith("h:") for i in option_ids(screen))


async def search(pilot, screen: HistoryScreen, words: str) -> None:
    """Focus the search field with its key and enter the words at once (typing is covered by its own tests)."""
    await pilot.press("slash")
    screen.query_one("#history-search", Input).value = words
    await wait_until(pilot, lambda: screen._hits is not None and screen._query == words, f"results for {words!r}")
    await pilot.pause()


# --- listing ---------------------------------------------------------------------------------------------------


async def test_conversations_are_listed_newest_first_with_date_message_count_and_profile(
    store, filled, tmp_path, clock
):
    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await pilot.pause()
        assert option_ids(screen) == [f"c:{filled['rust']}", f"c:{filled['cooking']}", f"c:{filled['ocean']}"]
        rust = option_text(screen, f"c:{filled['rust']}")
        assert "Rust lifetimes" in rust and "1 h ago" in rust and "1 message" in rust and "no answer yet" in rust
        cooking = option_text(screen, f"c:{filled['cooking']}")
        assert "6 h ago" in cooking and "2 messages" in cooking and "local (ollama · llama3.2)" in cooking
        ocean = option_text(screen, f"c:{filled['ocean']}")
        # A conversation without a title is named after its first message.
        assert "Why do barnacles cling to rocks?" in ocean and "3 days ago" in ocean and "claude" in ocean
        assert status(screen) == "3 conversations"
        assert screen.query_one("#history-list").has_focus


async def test_titles_and_snippets_are_shown_as_typed_never_read_as_markup(store, tmp_path, clock):
    tricky = store.create_conversation("[bold red]not markup[/]")
    store.add_message(tricky.id, "user", "a [link=x]bracketed[/link] word")
    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        assert "[bold red]not markup[/]" in option_text(screen, f"c:{tricky.id}")
        await search(pilot, screen, "bracketed")
        hit = next(i for i in option_ids(screen) if i.startswith("h:"))
        assert "a [link=x]bracketed[/link] word" in option_text(screen, hit)


async def test_a_search_with_more_matches_than_shown_says_to_narrow_it(store, filled, tmp_path, clock):
    app, screen = make(store, tmp_path, clock, hit_limit=1)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await search(pilot, screen, "barnacles")  # two messages mention barnacles
        assert status(screen) == "The newest 1 match, in 1 conversation; add words to narrow the search"
        assert [i for i in option_ids(screen) if i.startswith("h:")] == [f"h:{filled['barnacle']}:{filled['ocean']}"]


async def test_a_search_with_exactly_as_many_matches_as_shown_does_not_ask_to_narrow_it(
    store, filled, tmp_path, clock
):
    app, screen = make(store, tmp_path, clock, hit_limit=2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await search(pilot, screen, "barnacles")
        assert status(screen) == "2 matches in 1 conversation"


async def test_the_screen_shows_at_once_and_the_list_arrives_from_a_worker(store, filled, tmp_path, clock):
    gate = asyncio.Event()

    class SlowHistory(AsyncHistory):
        async def list_conversations(self, limit=100, offset=0):
            await gate.wait()
            return await super().list_conversations(limit, offset)

    now = frozen(clock)
    screen = HistoryScreen(SlowHistory(store), export_dir=tmp_path, clock=lambda: now)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen is screen, "the history screen")
        await pilot.pause()
        assert status(screen) == "Loading conversations…" and option_ids(screen) == []
        gate.set()
        await wait_until(pilot, lambda: len(option_ids(screen)) == 3, "the list")


async def test_older_conversations_load_when_asked(store, filled, tmp_path, clock):
    app, screen = make(store, tmp_path, clock, page_size=2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await pilot.pause()
        assert option_ids(screen) == [f"c:{filled['rust']}", f"c:{filled['cooking']}", "more"]
        await pilot.press("end", "enter")
        await wait_until(pilot, lambda: len(option_ids(screen)) == 3 and "more" not in option_ids(screen), "page 2")
        assert option_ids(screen)[-1] == f"c:{filled['ocean']}"
        assert app.results == []  # loading more is not a choice


async def test_an_empty_history_says_so_and_n_still_starts_a_new_conversation(store, tmp_path, clock):
    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await pilot.pause()
        empty = screen.query_one("#history-empty", Static)
        assert empty.display and "No conversations yet" in str(empty.render())
        assert screen.query_one("#history-list").has_class("-empty")
        await pilot.press("n")
        await wait_until(pilot, lambda: app.results, "a result")
    assert app.results == [HistoryResult("new")]


async def test_a_history_that_cannot_be_opened_is_explained_in_one_sentence(tmp_path, clock):
    broken = HistoryStore(tmp_path / "is-a-folder", clock=clock)
    (tmp_path / "is-a-folder").mkdir()
    app, screen = make(broken, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: "history database" in status(screen), "the error")
        text = status(screen)
        assert "Cannot open the history database" in text and "is-a-folder" in text
        assert screen.query_one("#history-status").has_class("error")


# --- opening, new, closing --------------------------------------------------------------------------------------


async def test_enter_opens_the_highlighted_conversation_with_its_profile(store, filled, tmp_path, clock):
    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: app.results, "a result")
    assert app.results == [HistoryResult("open", conversation_id=filled["cooking"], profile="local")]


async def test_escape_closes_without_a_result(store, filled, tmp_path, clock):
    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.results, "a result")
    assert app.results == [None]


async def test_escape_closes_even_while_typing_a_search(store, filled, tmp_path, clock):
    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await pilot.press("slash", "x", "escape")
        await wait_until(pilot, lambda: app.results, "a result")
    assert app.results == [None]


async def test_n_asks_for_a_new_conversation(store, filled, tmp_path, clock):
    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await pilot.press("n")
        await wait_until(pilot, lambda: app.results, "a result")
    assert app.results == [HistoryResult("new")]


# --- search -------------------------------------------------------------------------------------------------------


async def test_search_finds_a_word_from_an_old_message_and_enter_opens_that_conversation_at_the_hit(
    store, filled, tmp_path, clock
):
    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await search(pilot, screen, "cement")
        hit = f"h:{filled['barnacle']}:{filled['ocean']}"
        assert option_ids(screen) == [f"c:{filled['ocean']}", hit]
        text = option_text(screen, hit)
        assert "Answer · 3 days ago" in text and "protein cement" in text
        assert status(screen) == "1 match in 1 conversation"
        # The matched word is the highlighted span of the snippet.
        prompt = screen.query_one("#history-list", OptionList).get_option(hit).prompt._visual
        marked = [prompt.plain[span.start:span.end] for span in prompt.spans if "reverse" in str(span.style)]
        assert marked == ["cement"]
        await pilot.press("down")  # from the search field to the results
        assert screen.query_one("#history-list").has_focus
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: app.results, "a result")
    assert app.results == [
        HistoryResult("open", conversation_id=filled["ocean"], message_id=filled["barnacle"], profile="claude")
    ]


async def test_enter_in_the_search_field_opens_the_top_hit(store, filled, tmp_path, clock):
    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await search(pilot, screen, "cement")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.results, "a result")
    assert app.results == [
        HistoryResult("open", conversation_id=filled["ocean"], message_id=filled["barnacle"], profile="claude")
    ]


async def test_search_hits_are_grouped_under_their_conversation(store, filled, tmp_path, clock):
    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await search(pilot, screen, "milk")
        ids = option_ids(screen)
        assert ids[0] == f"c:{filled['cooking']}" and all(i.endswith(f":{filled['cooking']}") for i in ids[1:])
        assert "1 match" in option_text(screen, ids[0]) and "Cooking with milk" in option_text(screen, ids[0])
        await pilot.press("down", "enter")  # to the list, then open its first row: the conversation itself
        await wait_until(pilot, lambda: app.results, "a result")
    assert app.results == [HistoryResult("open", conversation_id=filled["cooking"], profile="local")]


async def test_a_search_without_matches_says_so_and_clearing_it_brings_the_list_back(store, filled, tmp_path, clock):
    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await search(pilot, screen, "zeppelin")
        empty = screen.query_one("#history-empty", Static)
        assert empty.display and "No messages match “zeppelin”." in str(empty.render())
        assert screen.query_one("#history-search").has_focus  # still typing
        await pilot.press("ctrl+u")  # clear the field
        await wait_until(pilot, lambda: len(option_ids(screen)) == 3, "the list again")
        assert not empty.display and status(screen) == "3 conversations"


async def test_typing_waits_for_a_pause_and_runs_one_search(store, filled, tmp_path, clock, monkeypatch):
    pause_over = asyncio.Event()

    async def debounce(_seconds):
        await pause_over.wait()

    monkeypatch.setattr(history_screen, "_sleep", debounce)
    calls: list[str] = []

    class CountingHistory(AsyncHistory):
        async def search(self, query, **kwargs):
            calls.append(query)
            return await super().search(query, **kwargs)

    now = frozen(clock)
    screen = HistoryScreen(CountingHistory(store), export_dir=tmp_path, clock=lambda: now, debounce=0.15)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await pilot.press("slash", *"tides")
        await pilot.pause()
        assert calls == []
        pause_over.set()
        await wait_until(pilot, lambda: screen._hits is not None, "the results")
        assert calls == ["tides"]  # the four earlier keystrokes' searches were cancelled while waiting
        assert option_ids(screen)[0] == f"c:{filled['rust']}"


async def test_a_slow_older_search_never_replaces_newer_results(store, filled, tmp_path, clock):
    release_first = asyncio.Event()

    class SlowFirstSearch(AsyncHistory):
        async def search(self, query, **kwargs):
            if query == "milk":
                await release_first.wait()
            return await super().search(query, **kwargs)

    now = frozen(clock)
    screen = HistoryScreen(SlowFirstSearch(store), export_dir=tmp_path, clock=lambda: now, debounce=0)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        search_field = screen.query_one("#history-search", Input)
        await pilot.press("slash", *"milk")
        await pilot.pause()
        search_field.value = "cement"
        await wait_until(pilot, lambda: screen._hits is not None and screen._query == "cement", "newer results")
        release_first.set()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert option_ids(screen) == [f"c:{filled['ocean']}", f"h:{filled['barnacle']}:{filled['ocean']}"]


# --- rename, delete, export -------------------------------------------------------------------------------------------


async def test_rename_is_saved_in_the_history_and_shown(store, filled, tmp_path, clock):
    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await pilot.press("down", "down", "r")
        await wait_until(pilot, lambda: app.screen is not screen, "the rename dialog")
        field = app.screen.query_one("#rename-input", Input)
        assert field.value == "Why do barnacles cling to rocks?"
        await pilot.press(*"Barnacles")  # the old title is selected, so typing replaces it
        await pilot.press("enter")
        await wait_until(pilot, lambda: store.get_conversation(filled["ocean"]).title == "Barnacles", "the rename")
        await wait_until(pilot, lambda: "Barnacles" in option_text(screen, f"c:{filled['ocean']}"), "the new title")
        assert status(screen) == "Renamed to “Barnacles”."
        assert option_ids(screen)[-1] == f"c:{filled['ocean']}"  # renaming does not reorder


async def test_a_new_title_typed_as_the_rename_dialog_opens_is_kept_whole(store, filled, tmp_path, clock):
    from textual import events

    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await pilot.press("down", "down")
        for key in ("r", *"Tides"):  # all queued before the app handles the first, as a fast typist's are
            app.post_message(events.Key(key, key))
        await wait_until(pilot, lambda: app.screen is not screen, "the rename dialog")
        await pilot.pause()
        assert app.screen.query_one("#rename-input", Input).value == "Tides"  # it replaced the old title


async def test_n_for_keep_typed_straight_after_d_reaches_the_confirmation(store, filled, tmp_path, clock):
    from textual import events

    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        for key in ("d", "n"):
            app.post_message(events.Key(key, key))
        await wait_until(pilot, lambda: status(screen) == "Nothing deleted.", "the answer")
        assert app.screen is screen and not app.results  # `n` answered the question; it did not start a new chat
    assert len(store.list_conversations(10)) == 3


async def test_rename_refuses_an_empty_title_and_escape_keeps_the_old_one(store, filled, tmp_path, clock):
    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await pilot.press("r")
        await wait_until(pilot, lambda: app.screen is not screen, "the rename dialog")
        dialog = app.screen
        await pilot.press("backspace", "enter")
        assert app.screen is dialog and "cannot be empty" in str(dialog.query_one("#rename-hint").render())
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is screen, "the history screen")
        assert store.get_conversation(filled["rust"]).title == "Rust lifetimes"
        assert app.results == []


async def test_delete_asks_first_and_keep_leaves_the_conversation(store, filled, tmp_path, clock):
    deleted: list[int] = []
    app, screen = make(store, tmp_path, clock, on_delete=deleted.append)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await pilot.press("down", "d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        question = str(app.screen.query_one("#confirm-question").render())
        assert "Delete “Cooking with milk” and its 2 messages?" in question
        assert app.screen.query_one("#confirm-no", Button).has_focus  # a stray Enter keeps it
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.screen is screen, "the history screen")
        assert store.get_conversation(filled["cooking"]) is not None
        assert len(option_ids(screen)) == 3 and deleted == []
        assert status(screen) == "Nothing deleted."


async def test_delete_confirmed_removes_it_from_the_history_and_the_list(store, filled, tmp_path, clock):
    deleted: list[int] = []
    app, screen = make(store, tmp_path, clock, on_delete=deleted.append, current=filled["cooking"])
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        assert "open now" in option_text(screen, f"c:{filled['cooking']}")
        await pilot.press("down", "d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        assert "It is the conversation open now" in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("y")
        await wait_until(pilot, lambda: deleted == [filled["cooking"]], "the delete")
        assert store.get_conversation(filled["cooking"]) is None
        assert option_ids(screen) == [f"c:{filled['rust']}", f"c:{filled['ocean']}"]
        assert status(screen) == "Deleted “Cooking with milk”."
        assert app.results == []  # deleting does not close the screen


async def test_closing_while_a_confirmed_delete_finishes_still_deletes_and_tells_the_caller(
    store, filled, tmp_path, clock
):
    may_delete = asyncio.Event()

    class SlowDelete(AsyncHistory):
        async def delete(self, conversation_id):
            await may_delete.wait()
            return await super().delete(conversation_id)

    deleted: list[int] = []
    now = frozen(clock)
    screen = HistoryScreen(SlowDelete(store), export_dir=tmp_path, clock=lambda: now, on_delete=deleted.append)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.screen is screen, "the history screen")
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.results == [None], "the screen to close")
        may_delete.set()
        await wait_until(pilot, lambda: deleted == [filled["rust"]], "the caller to hear of the delete")
        assert store.get_conversation(filled["rust"]) is None


async def test_delete_from_a_search_hit_removes_the_hits_too(store, filled, tmp_path, clock):
    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await search(pilot, screen, "cement")
        await pilot.press("down", "down", "d")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        await pilot.press("y")
        await wait_until(pilot, lambda: store.get_conversation(filled["ocean"]) is None, "the delete")
        await wait_until(pilot, lambda: option_ids(screen) == [], "the hits to go")
        assert "No messages match" in str(screen.query_one("#history-empty").render())


async def test_export_writes_markdown_and_json_with_the_conversations_text(store, filled, tmp_path, clock):
    app, screen = make(store, tmp_path, clock)
    exports = tmp_path / "exports"
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await pilot.press("end", "e")
        await wait_until(pilot, lambda: status(screen).startswith("Exported"), "the export")
        md_path = exports / f"why-do-barnacles-cling-to-rocks-{filled['ocean']}.md"
        json_path = md_path.with_suffix(".json")
        markdown = md_path.read_text(encoding="utf-8")
        assert "Why do barnacles cling to rocks?" in markdown and "protein cement" in markdown
        document = json.loads(json_path.read_text(encoding="utf-8"))
        assert document["conversation"]["id"] == filled["ocean"]
        assert [m["content"] for m in document["messages"]] == [
            "Why do barnacles cling to rocks?", "Barnacles glue themselves down with a protein cement.",
        ]
        assert str(md_path) in status(screen)
        notices = list(app._notifications)
        assert str(md_path) in notices[-1].message and str(json_path) in notices[-1].message
        assert md_path.stat().st_mode & 0o077 == 0  # conversations are private, like the database
        # A second export never overwrites the first.
        await pilot.press("e")
        await wait_until(pilot, lambda: md_path.with_name(md_path.stem + "-2.md").exists(), "the second export")
        assert md_path.read_text(encoding="utf-8") == markdown
        assert sorted(p.name for p in exports.iterdir()) == sorted(
            [md_path.name, json_path.name, md_path.stem + "-2.md", md_path.stem + "-2.json"]
        )


async def test_export_into_an_unwritable_place_says_what_failed(store, filled, tmp_path, clock):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    now = frozen(clock)
    screen = HistoryScreen(AsyncHistory(store), export_dir=blocker / "exports", clock=lambda: now)
    app = Host(screen)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        await pilot.press("e")
        await wait_until(pilot, lambda: status(screen).startswith("Could not write"), "the error")
        assert str(blocker / "exports") in status(screen) and screen.query_one("#history-status").has_class("error")


async def test_commands_are_dimmed_while_typing_a_search(store, filled, tmp_path, clock):
    app, screen = make(store, tmp_path, clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: screen.loaded, "the list")
        assert screen.check_action("delete", ()) is True
        await pilot.press("slash", "d")
        assert screen.query_one("#history-search", Input).value == "d"  # a letter, not a delete
        assert screen.check_action("delete", ()) is None and screen.check_action("search", ()) is False
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("down", "up")  # to the results and, from their first row, back to the field
        assert screen.query_one("#history-search", Input).has_focus


# --- dates ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(seconds=-5), "just now"),
        (timedelta(seconds=59), "just now"),
        (timedelta(minutes=5), "5 min ago"),
        (timedelta(hours=3, minutes=59), "3 h ago"),
        (timedelta(days=1, hours=2), "1 day ago"),
        (timedelta(days=6, hours=23), "6 days ago"),
    ],
)
def test_recent_times_are_shown_as_time_ago(ago, text):
    now = datetime(2027, 1, 15, 8, 0, tzinfo=timezone.utc)
    assert when_text(now - ago, now) == text


def test_older_times_are_shown_as_a_date_in_the_clocks_time_zone():
    now = datetime(2027, 1, 15, 8, 0, tzinfo=timezone(timedelta(hours=-10)))
    when = datetime(2027, 1, 1, 5, 0, tzinfo=timezone.utc)  # still Dec 31 at UTC-10
    assert when_text(when, now) == "2026-12-31"
