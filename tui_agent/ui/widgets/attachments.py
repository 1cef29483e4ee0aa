"""The attachment chips above the prompt: files added with /attach, each removable before sending."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import Horizontal
from textual.widgets import Button

from tui_agent.sanitize import sanitize

if TYPE_CHECKING:
    from tui_agent.service.attachments import Attachment


def with_attached(text: str, names: list[str]) -> str:
    """A user message as shown: its text, then the files that went with it."""
    return text + (f"\n\n[attached: {', '.join(names)}]" if names else "")


class AttachmentChip(Button):
    """One attached file; pressing it (click, or Enter when focused) removes it."""

    def __init__(self, attachment: "Attachment") -> None:
        icon = "▣" if attachment.kind == "image" else "≡"
        super().__init__(f"{icon} {sanitize(attachment.name)} ✕", compact=True, classes="attachment-chip")
        self.attachment = attachment
        self.tooltip = "remove this attachment"


class AttachmentChips(Horizontal):
    """The files waiting to go with the next prompt, in the order attached."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.display = False

    @property
    def attachments(self) -> list["Attachment"]:
        return [chip.attachment for chip in self.query_children(AttachmentChip)]

    def add(self, attachment: "Attachment") -> None:
        self.mount(AttachmentChip(attachment))
        self.display = True

    async def clear(self) -> None:
        await self.remove_children()
        self.display = False

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        await event.button.remove()
        self.display = bool(self.query_children(AttachmentChip))
        self.screen.query_one("#prompt").focus()
