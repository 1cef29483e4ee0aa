"""Typing that reaches a screen instead of its text field is handed to the field, so no key is lost.

A key goes to whatever had the focus when the app read it: while a screen opens, nothing has it yet, and a
focus change takes effect only after the keys already read. The model picker and the history screen send such
keys, and keys typed on a list that takes no text, to their search field with this one helper.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual import events
    from textual.screen import Screen
    from textual.widgets import Input


def hand_to_field(screen: "Screen", event: "events.Key", field: "Input", *, insert: bool = True) -> bool:
    """Give a printable key to `field`: focused at once, the character added at its cursor. True if taken."""
    if not event.is_printable or not event.character:
        return False
    event.stop()
    event.prevent_default()
    screen.set_focus(field)  # now, not after the keys already queued (Widget.focus() waits for them)
    if insert:
        field.insert_text_at_cursor(event.character)
    return True


def pass_to_top(screen: "Screen", event: "events.Key") -> bool:
    """A printable key that reached `screen` after it opened a dialog over itself goes on to that dialog."""
    from textual import events

    top = screen.app.screen
    if top is screen or not event.is_printable or not event.character:
        return False
    event.stop()
    event.prevent_default()
    top.post_message(events.Key(event.key, event.character))
    return True
