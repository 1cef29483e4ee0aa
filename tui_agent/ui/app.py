"""The Textual application: builds the service, opens the chat screen, owns app-wide bindings."""

from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING, Callable

from textual import events
from textual.app import App

from tui_agent.ui import textual_fixes  # noqa: F401  (fixes for Textual's memory and time costs, applied on import)
from tui_agent.ui.input_timing import KeyPace

if TYPE_CHECKING:
    from textual.screen import Screen

    from tui_agent.config.load import Config
    from tui_agent.config.paths import Paths
    from tui_agent.service.agent import AgentService
    from tui_agent.ui.gc_pacing import GcPacer


FRAME_FLUSH_GRACE = 0.03  # seconds between the first frame and the work deferred until after it
SIGNAL_EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}  # the contract's exit codes for an interrupted / terminated app
STOP_GRACE = 3.0  # seconds a signalled app waits for a streaming answer to be saved as stopped


class TuiAgentApp(App[int]):
    """tui-agent's full-screen app."""

    TITLE = "tui-agent"
    # The chat screen's styles load with the app's: a screen's own CSS_PATH makes Textual re-parse the whole
    # stylesheet when the screen is pushed, which for the first screen delayed the first frame.
    CSS_PATH = ["app.tcss", "screens/chat.tcss"]

    def __init__(
        self,
        *,
        config: "Config",
        paths: "Paths",
        model: str | None = None,
        service: "AgentService | None" = None,
        status_probes: bool = True,
        verbose: bool = False,
    ) -> None:
        super().__init__()
        self.verbose = verbose  # an unexpected failure prints its traceback only with --verbose
        self.failure = ""  # the sentence for an unexpected failure that ended the app
        # Whether the side panel re-checks providers periodically (off: only what the service publishes; tests).
        self.status_probes = status_probes
        self._config = config
        self.paths = paths
        self.initial_profile = model or config.default_profile
        self.explicit_model = model is not None  # `--model NICK`: resuming a conversation keeps this profile
        self._service = service
        self.first_frame_shown = False
        # When the user last typed or scrolled (perf_counter): a streaming answer's writes and the garbage-collection
        # pacer wait for a pause in it (ui/input_timing.py).
        self.last_input_at = 0.0
        self.key_pace = KeyPace()  # … and when they last typed a key, at what pace, and when the prompt drew it
        self._after_first_frame: list[Callable[[], object]] | None = []  # None: they have run
        self.gc_pacer: "GcPacer | None" = None  # paces full garbage collections once the first frame is drawn
        if config.ui.theme:
            self._apply_theme(config.ui.theme)

    def _fatal_error(self) -> None:
        """An unexpected exception ends the app: one sentence on exit (`failure`); the traceback goes to the log file."""
        if self.verbose:
            super()._fatal_error()
            return
        import logging

        from tui_agent.sanitize import sanitize_line

        error = self._exception
        logging.getLogger("tui_agent.ui").error("unexpected failure", exc_info=error)
        what = f"{type(error).__name__}: {error}" if error is not None else "an unknown error"
        self.bell()
        # Printed by the command line once the terminal is restored, like every other error.
        self.failure = (
            f"unexpected failure ({sanitize_line(what)}); please report it — the traceback is in "
            f"{self.paths.log_file} (or run with --verbose)"
        )
        self._close_messages_no_wait()

    def _apply_theme(self, name: str) -> None:
        try:
            self.theme = name
        except Exception:  # an unknown theme name must not keep the app from starting
            import logging

            logging.getLogger("tui_agent.ui").warning("unknown theme %r in [ui] theme; using the default", name)

    @property
    def config(self) -> "Config":
        """The configuration in force: the service's once it exists, so an edit made through it is seen here."""
        return self._service.config if self._service is not None else self._config

    @config.setter
    def config(self, config: "Config") -> None:
        self._config = config
        if self._service is not None:
            self._service.config = config

    @property
    def service(self) -> "AgentService":
        """The service is built on first use, after the first frame."""
        if self._service is None:
            from tui_agent.service.agent import AgentService

            self._service = AgentService(self._config, self.paths)
        return self._service

    def after_first_frame(self, callback: Callable[[], object]) -> None:
        """Run `callback` once the first frame is on screen (at once if it already is).

        For work that must never delay start-up: probes, scans, history reads, the side panel."""
        if self._after_first_frame is None:
            self.call_later(callback)
        else:
            self._after_first_frame.append(callback)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseScrollDown, events.MouseScrollUp)) and not event.is_forwarded:
            self.last_input_at = time.perf_counter()
            if isinstance(event, events.Key):
                self.key_pace.typed(self.last_input_at)
        await super().on_event(event)

    @property
    def startup_settled(self) -> bool:
        """True once the first frame is drawn and the work deferred until after it has been started."""
        return self._after_first_frame is None

    def first_frame_drawn(self) -> None:
        """Called by the chat screen once its first frame has been written (its first after-refresh callback).

        Not Textual's Ready event: Ready is posted after the first layout of whatever screen is current, before
        the chat screen has painted, so work started on Ready delayed the very frame it was meant to follow."""
        if self.first_frame_shown:
            return
        self.first_frame_shown = True
        if not gc.isenabled():  # `tui-agent` paused collection for start-up (cli._run_tui)
            gc.freeze()  # what start-up made lives as long as the app: later collections need not scan it
            gc.enable()
            self._pace_collections()
        # Textual's writer thread puts the frame on the terminal and needs the interpreter for it: a moment of
        # idle lets it finish before the deferred start-up work takes the interpreter (it took ~25 ms otherwise).
        self.set_timer(FRAME_FLUSH_GRACE, self._run_after_first_frame, name="after-first-frame")

    def _pace_collections(self) -> None:
        """Full garbage collections run between frames and never scan the whole heap under the user's keys."""
        from tui_agent.ui.allocator import give_back_free_memory
        from tui_agent.ui.gc_pacing import CHECK_EVERY, GcPacer

        self.gc_pacer = GcPacer(lambda: self.last_input_at, busy=self._answer_busy, after_deep=give_back_free_memory)
        self.gc_pacer.start()
        self.set_interval(CHECK_EVERY, self.gc_pacer.tick, name="gc-pacer")

    def _answer_busy(self) -> bool:
        return any(getattr(screen, "answer_busy", False) for screen in self.screen_stack)

    def _run_after_first_frame(self) -> None:
        callbacks, self._after_first_frame = self._after_first_frame or [], None
        for callback in callbacks:
            self.call_later(callback)

    def get_system_commands(self, screen):
        """Textual's palette commands, with a Screenshot that saves where it can and says where."""
        from textual.app import SystemCommand

        from tui_agent.ui.screenshot import save_screenshot

        for command in super().get_system_commands(screen):
            if command.title == "Screenshot":  # after the palette has closed, so it is not in the picture
                yield SystemCommand(command.title, "Save an SVG picture of the screen and say where", lambda: self.set_timer(0.1, lambda: save_screenshot(self)))
            else:
                yield command

    def get_default_screen(self) -> "Screen":
        """The chat screen is the app's first screen, not pushed over Textual's empty default one: that one was
        composed, styled and laid out before it, and then styled again (≈ 40 ms of start-up, docs/benchmarks.md)."""
        from tui_agent.ui.screens.chat import ChatScreen

        return ChatScreen(self.initial_profile)

    async def on_mount(self) -> None:
        self._catch_signals()
        # The app is ready (its message loop starts; `run_test` hands over to the pilot) once the chat screen has
        # composed and mounted: nothing may find the first screen without its widgets. Textual's AwaitMount would
        # wait for the same event, and then ask for one more layout of the whole screen before the first frame
        # (+30 ms); the event itself is Textual's (8.2.8, pinned).
        await self.screen._mounted_event.wait()

    def _catch_signals(self) -> None:
        """SIGINT/SIGTERM end the app as a stop would: the streaming answer is kept (saved as stopped), then the
        app exits 130/143. Without this asyncio cancels the app's task and it exits 0 with the answer cut off."""
        import asyncio
        import signal

        loop = asyncio.get_running_loop()
        for name, code in SIGNAL_EXIT_CODES.items():
            try:
                loop.add_signal_handler(getattr(signal, name), lambda code=code: self.call_later(self.end_on_signal, code))
            except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread (tests)
                pass

    async def end_on_signal(self, code: int) -> None:
        """Stop a streaming answer and wait (briefly) until it is saved, then exit with `code`."""
        from tui_agent.ui.screens.chat import ChatScreen

        for screen in self.screen_stack:
            if isinstance(screen, ChatScreen):
                await screen.stop_and_settle(STOP_GRACE)
        self.exit(return_code=code)

    async def on_unmount(self) -> None:
        if self.gc_pacer is not None:
            self.gc_pacer.stop()
        if self._service is not None:
            await self._service.aclose()
