"""KeysFooter: Textual's footer with its keys built in the footer's compact state (no restyle of each key as it
mounts), still following the footer when its compact state changes later."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.dom import DOMNode
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from tui_agent.ui.widgets.footer import KeysFooter


class _FooterApp(App[None]):
    BINDINGS = [Binding(key, f"bell_{n}", f"Key {n}") for n, key in enumerate(("f1", "f2", "f3", "f4"))]

    def __init__(self, footer: Footer) -> None:
        super().__init__()
        self.footer = footer

    def compose(self) -> ComposeResult:
        yield self.footer


async def _mount_counting_key_restyles(footer: Footer, monkeypatch) -> tuple[_FooterApp, list[FooterKey], int]:
    restyled: list[DOMNode] = []
    update_node_styles = DOMNode.update_node_styles

    def counting(node: DOMNode, animate: bool = True) -> None:
        restyled.append(node)
        update_node_styles(node, animate)

    monkeypatch.setattr(DOMNode, "update_node_styles", counting)
    app = _FooterApp(footer)
    async with app.run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        keys = list(footer.query(FooterKey))
        return app, keys, sum(isinstance(node, FooterKey) for node in restyled)


async def test_keys_of_a_wide_footer_are_not_restyled_as_they_mount(monkeypatch):
    _, plain_keys, plain_restyles = await _mount_counting_key_restyles(Footer(), monkeypatch)
    _, keys, restyles = await _mount_counting_key_restyles(KeysFooter(), monkeypatch)
    assert plain_restyles >= len(plain_keys) > 0  # what KeysFooter avoids: Textual's footer restyles each key
    assert restyles == 0
    # and ends exactly as Textual's footer does: the same keys, compact states and classes
    assert [(k.key, k.compact, sorted(k.classes)) for k in keys] == [(k.key, k.compact, sorted(k.classes)) for k in plain_keys]
    assert not any(k.compact for k in keys if not k.has_class("-command-palette"))


async def test_keys_follow_the_footer_when_it_turns_compact(monkeypatch):
    footer = KeysFooter()
    app = _FooterApp(footer)
    async with app.run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        footer.compact = True
        await pilot.pause()
        keys = list(footer.query(FooterKey))
        assert keys and all(k.compact and k.has_class("-compact") for k in keys)


async def test_keys_of_a_compact_footer_start_compact():
    footer = KeysFooter(compact=True)
    app = _FooterApp(footer)
    async with app.run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        keys = list(footer.query(FooterKey))
        assert keys and all(k.compact and k.has_class("-compact") for k in keys)


async def test_changes_before_the_next_frame_rebuild_the_keys_once_with_the_latest_state(monkeypatch):
    rebuilds: list[int] = []
    recompose = KeysFooter.recompose

    async def counting(footer: KeysFooter) -> None:
        rebuilds.append(1)
        await recompose(footer)

    monkeypatch.setattr(KeysFooter, "recompose", counting)
    footer = KeysFooter()
    app = _FooterApp(footer)
    async with app.run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        rebuilds.clear()
        enabled = {"bell_1": True}
        app.check_action = lambda action, parameters: enabled.get(action, True)  # type: ignore[method-assign]
        app.refresh_bindings()
        enabled["bell_1"] = None  # greyed, decided after the first change: the one rebuild must see it
        app.refresh_bindings()
        app.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert len(rebuilds) == 1
        key = next(k for k in footer.query(FooterKey) if k.action == "bell_1")
        assert key.has_class("-disabled")
        enabled["bell_1"] = True
        app.refresh_bindings()  # a later change rebuilds again
        await pilot.pause()
        await pilot.pause()
        assert len(rebuilds) == 2
        assert not next(k for k in footer.query(FooterKey) if k.action == "bell_1").has_class("-disabled")


def _cells(app: App) -> list[list[tuple]]:
    """Every cell of the screen: its character and style."""
    return [[(char, segment.style) for segment in strip for char in segment.text]
            for strip in app.screen._compositor.render_strips()]


def _shown(footer: Footer) -> list[tuple]:
    return [(key.key, key.description, key.action, key.has_class("-disabled"), key.has_class("-compact"))
            for key in footer.query(FooterKey)]


async def test_a_refresh_that_changes_no_key_keeps_the_keys():
    """An answer's start and end each refresh the bindings once more with nothing changed: the keys stay, and
    nothing is removed, mounted or laid out again for them."""
    footer = KeysFooter()
    app = _FooterApp(footer)
    async with app.run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        keys = list(footer.query(FooterKey))
        app.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        assert list(footer.query(FooterKey)) == keys and all(key.is_attached for key in keys)


async def test_only_the_keys_that_change_are_made_again_and_the_footer_is_what_a_rebuild_makes():
    """A key greyed, a key hidden and shown again (as Stop comes and goes with an answer): the other keys stay as
    they are, the changed ones are in their places, and Textual's own rebuild would show the same footer."""
    footer = KeysFooter()
    app = _FooterApp(footer)
    async with app.run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        keys = {key.action: key for key in footer.query(FooterKey)}
        state = {"bell_1": False, "bell_2": None}  # bell_1 hidden, bell_2 greyed
        app.check_action = lambda action, parameters: state.get(action, True)  # type: ignore[method-assign]
        app.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        now = {key.action: key for key in footer.query(FooterKey)}
        assert list(now) == ["bell_0", "bell_2", "bell_3", "command_palette"]
        assert now["bell_0"] is keys["bell_0"] and now["bell_3"] is keys["bell_3"]
        assert now["bell_2"] is not keys["bell_2"] and now["bell_2"].has_class("-disabled")
        state.clear()  # bell_1 back, before bell_2; bell_2 enabled again
        app.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        again = list(footer.query(FooterKey))
        assert [key.action for key in again] == ["bell_0", "bell_1", "bell_2", "bell_3", "command_palette"]
        assert again[0] is keys["bell_0"] and again[3] is keys["bell_3"]
        in_place, lines = _shown(footer), _cells(app)
        footer.call_later(Footer.recompose, footer)  # Textual's rebuild, every key anew, run as the footer runs it
        await pilot.pause()
        await pilot.pause()
        assert not any(key.is_attached for key in again)
        assert _shown(footer) == in_place
        assert _cells(app) == lines
async def test_rebuilt_keys_are_freed():
    """Textual keeps a removed key bound to the footer until its `compact` changes (textual#6666): without the
    pruning in KeysFooter.recompose, every rebuild of a long-lived footer kept its old keys alive."""
    import gc
    import weakref

    footer = KeysFooter()
    app = _FooterApp(footer)
    async with app.run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        old = [weakref.ref(key) for key in footer.query(FooterKey)]
        assert old
        for turn in range(3):  # as the app rebuilds it: a change of the screen's bindings
            app.check_action = (  # type: ignore[method-assign]
                lambda action, parameters, turn=turn: None if action == f"bell_{turn}" else True)
            app.screen.refresh_bindings()
            await pilot.pause()
            await pilot.pause()
        keys = list(footer.query(FooterKey))
        # bell_0-2 were each greyed and then made again; bell_3 and the palette's key never changed
        unchanged = ["bell_3", "command_palette"]
        assert [ref().action for ref in old if ref() is not None and ref().is_attached] == unchanged
        gc.collect()
        assert [ref for ref in old if ref() is not None and ref().action not in unchanged] == []
        # nor are keys composed for the comparison and not needed (those that matched a key already there)
        assert all(key.is_attached for key in gc.get_objects() if isinstance(key, FooterKey))
        # the keys there now still follow the footer
        footer.compact = True
        await pilot.pause()
        assert keys and all(k.compact and k.has_class("-compact") for k in keys)
