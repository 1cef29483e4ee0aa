"""A small yes/no dialog: `ConfirmScreen(question)` dismisses with True (yes) or False (no, Escape).

For destructive questions (`danger=True`) the "no" button has the focus, so a stray Enter keeps things as they are.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Static


class ConfirmScreen(ModalScreen[bool]):
    """Ask one question; `y` or the yes button answers True, `n`, Escape or the no button False."""

    DEFAULT_CSS = """
    ConfirmScreen {
        align: center middle;
    }
    ConfirmScreen #confirm {
        width: 64;
        max-width: 90%;
        height: auto;
        border: round $primary;
        background: $surface;
        padding: 1 2 0 2;
    }
    ConfirmScreen.-danger #confirm {
        border: round $error;
    }
    ConfirmScreen #confirm-title {
        text-style: bold;
        width: 1fr;
    }
    ConfirmScreen #confirm-question {
        width: 1fr;
        margin: 1 0;
    }
    ConfirmScreen #confirm-buttons {
        width: 1fr;
        height: auto;
        align-horizontal: right;
    }
    ConfirmScreen Button {
        margin: 0 0 0 2;
    }
    """

    BINDINGS = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("escape", "answer(False)", "Cancel"),
        Binding("left", "app.focus_previous", "Previous", show=False),
        Binding("right", "app.focus_next", "Next", show=False),
    ]

    def __init__(
        self, question: str, *, title: str = "Are you sure?", yes: str = "Yes", no: str = "No", danger: bool = False
    ) -> None:
        super().__init__(classes="-danger" if danger else None)
        self.question = question
        self.title_text = title
        self.yes_label = yes
        self.no_label = no
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            # Plain strings would be read as markup; a conversation title is user text.
            yield Label(self.title_text, id="confirm-title", markup=False)
            yield Static(self.question, id="confirm-question", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.no_label} (n)", id="confirm-no", variant="default")
                yield Button(f"{self.yes_label} (y)", id="confirm-yes", variant="error" if self.danger else "primary")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#confirm-no" if self.danger else "#confirm-yes", Button).focus()

    @on(Button.Pressed, "#confirm-yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#confirm-no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)
