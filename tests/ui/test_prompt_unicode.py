"""The prompt keeps every character typed or pasted: ZWNJ in Persian, ZWJ in emoji sequences, no-break spaces,
private-use icons — the characters Python calls "not printable" but a person types on purpose."""

from __future__ import annotations

from textual._xterm_parser import XTermParser

from tests.ui.support import SIZE, make_app, wait_until

PERSIAN = "می\u200cخواهم"  # "I want", with a zero-width non-joiner between its two parts
FAMILY = "👨\u200d👩\u200d👧"  # one emoji made of three joined by ZWJ
TECHNOLOGIST = "👩\u200d💻"
TEXT = f"{PERSIAN} {FAMILY} {TECHNOLOGIST} 10\u00a0km \ue0b0"


async def from_the_terminal(pilot, data: str) -> None:
    """Send `data` the way a terminal does: through Textual's own input parser (one key event per character, or a
    bracketed paste), into the driver (Pilot's `press` loses the character of keys like 💻, so it is not used)."""
    for event in XTermParser().feed(data):
        pilot.app._driver.send_message(event)
    await pilot.pause()


async def test_typed_zero_width_joiners_and_other_format_characters_are_kept_and_sent(home):
    app, adapter = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await from_the_terminal(pilot, TEXT)  # typed: one key event per character
        await wait_until(pilot, lambda: app.screen.prompt.text == TEXT, "the typed text")
        await pilot.press("enter")
        await wait_until(pilot, lambda: adapter.requests, "the request")
    assert adapter.requests[0].messages[-1].content == TEXT


async def test_pasted_zero_width_joiners_are_kept_and_sent(home):
    app, adapter = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await from_the_terminal(pilot, f"\x1b[200~{TEXT}\x1b[201~")
        await wait_until(pilot, lambda: app.screen.prompt.text == TEXT, "the paste")
        await pilot.press("enter")
        await wait_until(pilot, lambda: adapter.requests, "the request")
    assert adapter.requests[0].messages[-1].content == TEXT


async def test_typed_bidi_overrides_and_controls_are_still_not_inserted(home):
    app, _adapter = make_app(home)
    async with app.run_test(size=SIZE) as pilot:
        await from_the_terminal(pilot, "a\u202eb\u2066c")
        await wait_until(pilot, lambda: app.screen.prompt.text == "abc", "the typed text")
