"""What tui-agent's event loop was doing, logged from inside the real app (a diagnostic, not a benchmark).

Put this directory first on PYTHONPATH and name a log file in LOOP_TRACE (not a TUI_AGENT_ variable: the benches
clear those); every process started then (the app, and whatever else runs Python) writes one line per event to
`<file>.<pid>`:

    PYTHONPATH=bench/looptrace LOOP_TRACE=/tmp/trace \\
        .venv/bin/python bench/echo_pty.py --runs 1 --cases paced --json > /tmp/echo.json
    .venv/bin/python bench/looptrace_report.py /tmp/echo.json paced /tmp/trace   # the slowest keys, and why

Lines are `KIND perf_counter_seconds ...`; perf_counter is the system's monotonic clock on Linux, so the stamps
line up with the bench's own (`echo_pty.py --json` gives each key's `written`):

- CB: an event-loop callback that ran longer than 4 ms (a task step is named by its coroutine);
- MSG: a Textual message whose dispatch took longer than 4 ms, and who handled it (awaits included: nested);
- KEY: a key event reaching the app, named only when it types no character (`*` for one that does: what is typed
  is never logged, a pasted key included); FRAME: a frame handed to the terminal driver;
- LAYOUT: a layout of the screen longer than 2 ms (with how many widgets it arranged);
- GC: a garbage collection (every full one, and any longer than 2 ms);
- APPEND+ / APPEND-: an answer's append starting (characters) and ending (ms).

It patches Textual 8.2.8's private methods (`App._display`, `Screen._refresh_layout`,
`MessagePump._dispatch_message`) once `tui_agent.ui.app` is imported; another Textual may need other names.
"""

import os

_OUT = os.environ.get("LOOP_TRACE")
if _OUT:
    import asyncio
    import asyncio.events
    import builtins
    import gc
    import time

    _file = open(f"{_OUT}.{os.getpid()}", "w", buffering=1)
    _now = time.perf_counter

    def _log(kind: str, at: float, *rest: object) -> None:
        _file.write(" ".join([kind, f"{at:.4f}", *map(str, rest)]) + "\n")

    _run = asyncio.events.Handle._run

    def _timed_run(self) -> None:
        start = _now()
        _run(self)
        took = _now() - start
        if took > 0.004:
            callback = self._callback
            owner = getattr(callback, "__self__", None)
            if isinstance(owner, asyncio.Task):
                name = "task:" + getattr(owner.get_coro(), "__qualname__", "?")
            else:
                name = getattr(callback, "__qualname__", repr(callback))
            _log("CB", start, f"{took * 1000:.1f}", name[:100])

    asyncio.events.Handle._run = _timed_run

    _gc_started = [0.0]

    def _on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            _gc_started[0] = _now()
            return
        took = _now() - _gc_started[0]
        if took > 0.002 or info["generation"] == 2:
            _log("GC", _gc_started[0], f"{took * 1000:.1f}", f"gen{info['generation']}", f"collected={info['collected']}")

    gc.callbacks.append(_on_gc)

    def _patch_textual() -> None:
        from textual import events
        from textual.app import App
        from textual.message_pump import MessagePump
        from textual.screen import Screen

        from tui_agent.ui.widgets.answer_markdown import AnswerMarkdown

        dispatch = MessagePump._dispatch_message

        async def timed_dispatch(self, message):
            start = _now()
            result = await dispatch(self, message)
            took = _now() - start
            if took > 0.004:
                _log("MSG", start, f"{took * 1000:.1f}", type(message).__name__, type(self).__name__)
            return result

        MessagePump._dispatch_message = timed_dispatch

        display = App._display

        def logged_display(self, screen, renderable):
            start = _now()
            result = display(self, screen, renderable)
            _log("FRAME", start, f"{(_now() - start) * 1000:.1f}", type(renderable).__name__)
            return result

        App._display = logged_display

        on_event = App.on_event

        async def logged_on_event(self, event):
            if isinstance(event, events.Key):
                _log("KEY", _now(), "*" if event.is_printable else event.key)
            return await on_event(self, event)

        App.on_event = logged_on_event

        refresh_layout = Screen._refresh_layout

        def timed_layout(self, *args, **kwargs):
            start = _now()
            result = refresh_layout(self, *args, **kwargs)
            took = _now() - start
            if took > 0.002:
                _log("LAYOUT", start, f"{took * 1000:.1f}", f"widgets={len(self._compositor.widgets)}")
            return result

        Screen._refresh_layout = timed_layout

        append = AnswerMarkdown.append

        def logged_append(self, text):
            start = _now()
            _log("APPEND+", start, len(text))
            awaitable = append(self, text)

            class Logged:
                def __await__(self):
                    result = yield from awaitable.__await__()
                    _log("APPEND-", _now(), f"{(_now() - start) * 1000:.1f}")
                    return result

            return Logged()

        AnswerMarkdown.append = logged_append

    _import = builtins.__import__

    def _watching_import(name, *args, **kwargs):
        module = _import(name, *args, **kwargs)
        if name == "tui_agent.ui.app":
            builtins.__import__ = _import
            _patch_textual()
        return module

    builtins.__import__ = _watching_import
