"""Textual's footer, with its keys built in the footer's compact state instead of being restyled into it."""

from __future__ import annotations

from difflib import SequenceMatcher
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.compose import compose as compose_children  # what Widget.recompose composes with
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.screen import Screen


class KeysFooter(Footer):
    """A `Footer` whose keys start as compact as the footer is, rebuilt once however often the keys change in a frame.

    A footer key's `compact` defaults to True and is bound to the footer's, so in a footer that is not compact
    every key was restyled twice as it mounted (`-compact` added by the default, then removed by the binding):
    for the chat screen's keys, 21 restyles before the first frame. Set before mounting, neither finds anything
    to change. The keys, their order, states and looks are Textual's."""

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey):
                # The binding keys end in the footer's state; the command-palette key is not bound and keeps the
                # default, compact (reading `widget.compact` here would run that default's watcher: a restyle).
                # Were Textual to bind it too, the binding would still set it right.
                compact = True if widget.has_class("-command-palette") else self.compact
                widget.set_reactive(FooterKey.compact, compact)  # a value set: the default's watcher never runs
                widget.set_class(compact, "-compact", update=False)
            yield widget

    _rebuild_due = False

    def bindings_changed(self, screen: "Screen") -> None:
        """Rebuild once for every change before the next frame: the rebuild reads the keys as they are then.

        Textual's footer schedules one rebuild (every key removed and mounted again, then a layout of the
        screen) per change; an answer's end makes two (the stream's flag, then the stored turn).
        """
        if self._rebuild_due:
            return
        super().bindings_changed(screen)
        # Textual schedules the rebuild only when the app has focus and this footer is on that screen.
        self._rebuild_due = bool(screen.app.app_focus and self.is_attached and screen is self.screen)

    async def recompose(self) -> None:
        """Bring the keys up to date, changing only the keys that changed.

        Textual's rebuild removes every key and mounts every key again; an answer's start and end each asked for
        one, and most asked for nothing (the keys came out as they were), or for one key more or less (Stop) with
        the others as they were: 10-25 ms of the event loop each, just as the user starts typing again. Here keys
        that come out the same stay; the others are removed or mounted where they belong. The keys are those
        Textual's `compose` makes, so the footer is what a rebuild would make of it."""
        self._rebuild_due = False
        if not self.is_attached or self._pruning:
            return
        old = list(self.children)
        new = list(compose_children(self))
        if all(type(key) is FooterKey for key in old + new):
            await self._replace_changed_keys(old, new)  # nothing at all when every key comes out as it was
        else:  # binding groups: Textual's way, all anew
            async with self.batch():
                await self.remove_children()
                await self.mount_all(new)
        self._forget_removed_keys()

    async def _replace_changed_keys(self, old: list[FooterKey], new: list[FooterKey]) -> None:
        """Keep each of `old` that `new` has the same, in order; remove the rest; mount the rest of `new` in place."""
        matcher = SequenceMatcher(None, [_looks(key) for key in old], [_looks(key) for key in new], autojunk=False)
        gone: list[FooterKey] = []
        to_mount: list[tuple[list[FooterKey], FooterKey | None]] = []  # keys, and the kept key they go before
        for tag, old_from, old_to, new_from, new_to in matcher.get_opcodes():
            if tag == "equal":
                continue
            gone.extend(old[old_from:old_to])
            if new_from < new_to:
                to_mount.append((new[new_from:new_to], old[old_to] if old_to < len(old) else None))
        if not gone and not to_mount:
            return
        async with self.batch():
            if gone:
                await self.remove_children(gone)
            for keys, before in to_mount:
                await (self.mount_all(keys, before=before) if before is not None else self.mount_all(keys))

    def _forget_removed_keys(self) -> None:
        """Drop the removed keys' bindings to this footer's `compact`, so the keys can be freed.

        Each key binds itself to the footer (`data_bind`), and Textual keeps the binding, and with it the key, its
        styles and its rendered lines, until `compact` next changes (textual#6666): the chat screen's footer never
        changes it and is rebuilt a few times per answer, so every rebuild kept about eleven dead keys for the
        rest of the session. The list is Textual's (`Reactive`'s watchers); the test keeps it honest on upgrade.
        """
        watchers = getattr(self, "__watchers", {}).get("compact")
        if watchers:
            watchers[:] = [(node, callback) for node, callback in watchers if not node._closing]


def _looks(key: FooterKey) -> tuple:
    """What a footer key shows and does: two keys alike in all of it are interchangeable."""
    return (key.key, key.key_display, key.description, key.action, key._disabled, key.tooltip, key.classes)
