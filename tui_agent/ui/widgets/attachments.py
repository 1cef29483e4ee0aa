"""The attachment chips above the prompt: files added with /attach and the `@PATH` tokens of the prompt.

Every chip is removable before sending: pressing an /attach chip drops the file, pressing a token's chip
deletes the token from the prompt.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.containers import Horizontal
from textual.widgets import Button

from tui_agent.sanitize import sanitize_line

if TYPE_CHECKING:
    from tui_agent.service.attachments import Attachment
    from tui_agent.ui.widgets.prompt import Prompt

_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")


def with_attached(text: str, names: list[str]) -> str:
    """A user message as shown: its text, then the files that went with it."""
    return text + (f"\n\n[attached: {', '.join(names)}]" if names else "")


def _chip_label(name: str, image: bool) -> "Text":
    # Text, not str: a Button reads a str label as markup, and a file called `a[/b]` must neither crash nor style it.
    from rich.text import Text

    return Text(f"{'▣' if image else '≡'} {sanitize_line(name)} ✕")


class AttachmentChip(Button):
    """A file attached with /attach; pressing it (click, or Enter when focused) removes it."""

    def __init__(self, attachment: "Attachment") -> None:
        super().__init__(_chip_label(attachment.name, attachment.kind == "image"), compact=True, classes="attachment-chip")
        self.attachment = attachment
        self.tooltip = "remove this attachment"


class TokenChip(Button):
    """An `@PATH` token of the prompt (read when the prompt is sent); pressing it deletes the token."""

    def __init__(self, path: str) -> None:
        image = path.lower().endswith(_IMAGE_SUFFIXES)
        super().__init__(_chip_label(path, image), compact=True, classes="attachment-chip -token")
        self.path = path
        self.tooltip = "remove this file from the prompt"


class AttachmentChips(Horizontal):
    """The files waiting to go with the next prompt: /attach ones first, then the prompt's tokens."""

    def __init__(self, prompt: "Prompt", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.prompt = prompt
        self.cwd: Path | None = None  # None: the process's working directory
        self.display = False
        self._tokens: list[str] = []

    @property
    def attachments(self) -> list["Attachment"]:
        return [chip.attachment for chip in self.query_children(AttachmentChip)]

    def add(self, attachment: "Attachment") -> None:
        self.mount(AttachmentChip(attachment), before=self._first_token_chip())
        self.display = True

    async def clear(self) -> None:
        await self.query_children(AttachmentChip).remove()
        self._update_display()

    def follow(self, text: str) -> None:
        """Show a chip per `@PATH` token of the prompt (remounted only when the set of tokens changes)."""
        from tui_agent.service.attachments import find_tokens, working_dir

        tokens = [path for _start, _end, path in find_tokens(text, self.cwd or working_dir())]
        if tokens == self._tokens:
            return
        self._tokens = tokens
        self.query_children(TokenChip).remove()
        if tokens:
            self.mount_all([TokenChip(path) for path in tokens])
        self.display = bool(tokens) or bool(self.query_children(AttachmentChip))

    def _first_token_chip(self) -> TokenChip | None:
        found = self.query_children(TokenChip)
        return found.first() if found else None

    def _update_display(self) -> None:
        self.display = bool(self.query_children(AttachmentChip)) or bool(self._tokens)

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if isinstance(event.button, TokenChip):
            self._delete_token(event.button.path)  # the prompt's change event redraws the chips
        else:
            await event.button.remove()
            self._update_display()
        self.prompt.focus()

    def _delete_token(self, path: str) -> None:
        from tui_agent.service.attachments import find_tokens, working_dir

        text = self.prompt.text
        for start, end, found in find_tokens(text, self.cwd or working_dir()):
            if found == path:
                if end < len(text) and text[end] == " ":
                    end += 1  # the space after it goes too
                document = self.prompt.document
                self.prompt.delete(document.get_location_from_index(start), document.get_location_from_index(end))
                return
