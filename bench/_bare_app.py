"""The start-up baseline: a bare Textual app with a header, one static line and a footer (launched like tui-agent)."""

from textual.app import App, ComposeResult
from textual.widgets import Footer, Header, Static


class BareApp(App[None]):
    TITLE = "benchbare"

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("a static line")
        yield Footer()


if __name__ == "__main__":
    BareApp().run()
