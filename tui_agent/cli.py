"""The `tui-agent` command: the TUI by default, and the headless commands (status, models, ask, …).

Every error is one plain sentence on stderr with the exit code docs/interfaces.md gives; no traceback unless
--verbose. The TUI's modules are imported only when the TUI is what was asked for.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Sequence

from tui_agent import __version__
from tui_agent.errors import ConfigError, TuiAgentError, UsageError
from tui_agent.sanitize import sanitize

if TYPE_CHECKING:
    import argparse

log = logging.getLogger("tui_agent.cli")


def build_parser() -> "argparse.ArgumentParser":
    import argparse  # here: `tui-agent` alone, the usual start, parses nothing

    class _Parser(argparse.ArgumentParser):
        """argparse that reports usage errors as one sentence and exit code 2."""

        def error(self, message: str) -> None:  # type: ignore[override]
            self.exit(2, f"tui-agent: {message} (see `{self.prog} --help`)\n")

    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a global option given before the subcommand is not overwritten by the subparser's default.
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS, help="use this config.toml")
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help="log the resolution chain and HTTP exchanges (redacted)")

    parser = _Parser(prog="tui-agent", description="A terminal chat client for many model providers.", parents=[common])
    parser.add_argument("--version", action="version", version=f"tui-agent {__version__}")
    parser.add_argument("--model", "-m", metavar="NICK", help="open the TUI on this profile")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser, metavar="COMMAND")

    ask = sub.add_parser("ask", parents=[common], help="one answer, streamed to stdout")
    ask.add_argument("-m", "--model", dest="model", metavar="NICK", help="profile to use (default: default_profile)")
    ask.add_argument("--system", metavar="TEXT", help="system prompt for this answer")
    ask.add_argument("--raw", action="store_true", help="write the model's text exactly as received (no terminal sanitising)")
    ask.add_argument("prompt", metavar="PROMPT", help='the prompt; "-" reads it from stdin')

    status = sub.add_parser("status", parents=[common], help="login / credential state of every provider")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.add_argument("--no-probe", action="store_true", help="skip network and subprocess checks")

    models = sub.add_parser("models", parents=[common], help="profiles and discovered models, with availability")
    models.add_argument("--json", action="store_true", help="print JSON")
    models.add_argument("--provider", metavar="ID", help="only this provider")

    explain = sub.add_parser("explain", parents=[common], help="the resolution chain of a profile, step by step")
    explain.add_argument("nick", metavar="NICK")

    login = sub.add_parser("login", parents=[common], help="log in to a provider from the terminal")
    login.add_argument("provider", metavar="PROVIDER")
    login.add_argument("--method", metavar="M", help="auth method (default: the provider's default)")
    login.add_argument("--no-browser", action="store_true", help="print the URL instead of opening a browser")
    login.add_argument("--no-check", action="store_true", help="store an API key without checking it with the provider")

    logout = sub.add_parser("logout", parents=[common], help="forget stored credentials")
    logout.add_argument("provider", metavar="PROVIDER")

    config = sub.add_parser("config", parents=[common], help="check or locate the configuration")
    config_sub = config.add_subparsers(dest="config_command", parser_class=_Parser, metavar="ACTION", required=True)
    config_sub.add_parser("check", parents=[common], help="validate config; every problem with file and key")
    config_sub.add_parser("path", parents=[common], help="print the config, data, state, log and secret-store locations")

    imp = sub.add_parser("import", parents=[common], help="import profiles from another client")
    imp_sub = imp.add_subparsers(dest="import_command", parser_class=_Parser, metavar="SOURCE", required=True)
    qwen = imp_sub.add_parser("qwen-profiles", parents=[common], help="import ~/.qwen/model-profiles.json style profiles")
    qwen.add_argument("file", metavar="FILE", nargs="?", help="default: ~/.qwen/model-profiles.json")
    qwen.add_argument("--force", action="store_true", help="replace profiles that already exist")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    if not argv:  # `tui-agent` alone, the usual start: the TUI, without argparse and every subcommand's parser
        args: "argparse.Namespace | SimpleNamespace" = SimpleNamespace(model=None, command=None)
    else:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help, --version and usage errors end here
            return exc.code if isinstance(exc.code, int) else 0
    verbose = getattr(args, "verbose", False)
    config_flag = getattr(args, "config", None)
    try:
        _check_text_arguments(args)
        if args.command is None:
            return _run_tui(config_flag, args.model, verbose)
        from tui_agent.logs import setup_headless_logging

        setup_headless_logging(verbose)
        return asyncio.run(_dispatch(args, config_flag))
    except KeyboardInterrupt:
        print("tui-agent: interrupted", file=sys.stderr)
        return 130
    except TuiAgentError as exc:
        if verbose:
            log.exception("failed")
        _say(str(exc))
        return exc.exit_code
    except BrokenPipeError:
        return 1
    except Exception as exc:  # noqa: BLE001 — the backstop: one sentence, never a traceback without --verbose
        if verbose:
            log.exception("failed")
            raise
        _say(f"unexpected failure ({type(exc).__name__}: {exc}); please report it — `--verbose` shows the traceback")
        return 1


def _say(message: str) -> None:
    """One sentence on stderr, safe for the terminal (it may quote text from a server or a file), secrets removed."""
    from tui_agent.redact import redact_text

    try:
        print(f"tui-agent: {sanitize(redact_text(message))}", file=sys.stderr)
    except (OSError, ValueError):  # stderr closed or gone: nothing left to tell
        pass


FRAME_WRITER_SWITCH_INTERVAL = 0.001  # seconds: how soon the frame-writing thread gets the interpreter (see _run_tui)

# Arguments that name files may hold any bytes the file system allows; the others are text sent or compared.
_PATH_ARGUMENTS = frozenset({"config", "file"})
_OPTIONS_ONLY = frozenset({"system", "model", "method"})  # the rest are named like their positional metavar


def _check_text_arguments(args: "argparse.Namespace | SimpleNamespace") -> None:
    """Undecodable bytes in a text argument (kept by Python as lone surrogates) are a usage error, not a crash."""
    for name, value in vars(args).items():
        if isinstance(value, str) and name not in _PATH_ARGUMENTS:
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                option = f"--{name}" if name in _OPTIONS_ONLY else name.upper()
                raise UsageError(f"{option} is not valid UTF-8 text (an undecodable byte at position {exc.start}); pass it as UTF-8") from None


async def _dispatch(args: argparse.Namespace, config_flag: str | None) -> int:
    from tui_agent import headless

    if args.command == "config":
        if args.config_command == "check":
            return headless.config_check(config_flag)
        return headless.config_path(config_flag)
    if args.command == "import":
        return headless.import_qwen(config_flag, args.file, args.force)

    from tui_agent.service.agent import AgentService

    service = AgentService.load(config_flag)
    try:
        if args.command == "status":
            return await headless.status(service, as_json=args.json, probe=not args.no_probe)
        if args.command == "models":
            return await headless.models(service, as_json=args.json, provider=args.provider)
        if args.command == "explain":
            return await headless.explain(service, args.nick, verbose=getattr(args, "verbose", False))
        if args.command == "ask":
            return await headless.ask(service, args.model, args.system, args.prompt, raw=args.raw, verbose=getattr(args, "verbose", False))
        if args.command == "login":
            return await headless.login(service, args.provider, args.method, args.no_browser, no_check=args.no_check)
        if args.command == "logout":
            return await headless.logout(service, args.provider)
        raise UsageError(f"unknown command `{args.command}`")
    finally:
        await service.aclose()


def _run_tui(config_flag: str | None, model: str | None, verbose: bool) -> int:
    import gc

    # Start-up allocates much and frees little (modules, classes, styles): cyclic GC passes over it are wasted
    # before the first frame. The app freezes what start-up made and turns collection back on once the frame
    # is drawn (TuiAgentApp.first_frame_drawn); `finally` restores it whatever happens before.
    gc.disable()
    # Textual writes each frame from a thread of its own, which needs the interpreter's lock to do it. A thread that
    # waits for the lock gets it after the switch interval (CPython's default 5 ms), so while the event loop lays
    # out a growing answer a key's echo, painted at once, waited up to that long to leave for the terminal, each
    # time. At 1 ms the frame goes sooner; the event loop is not slowed (the lock changes hands only when another
    # thread asks for it). Measured black-box: docs/benchmarks.md, eighth pass.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(FRAME_WRITER_SWITCH_INTERVAL)
    try:
        from tui_agent.service.startup import load_for_tui

        config, paths = load_for_tui(config_flag, model)  # ConfigError → exit 2 before any screen
        from tui_agent.logs import setup_tui_logging

        setup_tui_logging(paths, verbose)
        from tui_agent.ui.app import TuiAgentApp

        app = TuiAgentApp(config=config, paths=paths, model=model, verbose=verbose)
        app.run()
        if app.failure:
            _say(app.failure)
    finally:
        gc.enable()
        sys.setswitchinterval(switch_interval)
    return app.return_code or 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
