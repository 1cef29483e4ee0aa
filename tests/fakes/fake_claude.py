"""A stand-in `claude` CLI: replays recorded stream-json lines and records its argv, env, cwd, stdin and signals.

Run through a launcher script that sets FAKE_CLAUDE_DIR (see `install_fake_claude`). The directory holds
`scenario.json` (what to answer) and receives `calls.jsonl` (one record per run) and `signals.log`.

scenario.json keys, all optional:
  "version":      text printed by `--version`
  "auth_status":  {"stdout": str, "stderr": str, "exit": int, "hang": bool}
  "auth_exit":    exit status of `auth login` / `auth logout`
  "print":        a list of turns for `-p` runs, used in order (the last one repeats); each turn:
                  {"recording": path to a .jsonl of recorded lines, "lines": [str] (instead of a recording),
                   "take": N (only the first N lines), "stderr": str, "exit": int (end the process after
                   this turn; without it a stream-json-input process waits for the next turn),
                   "hang": bool (after the lines, wait for signals), "ignore_sigint": bool, "ignore_sigterm": bool}
With `--input-format stream-json` each user line on stdin is one turn (recorded with its content as "stdin").
The recorded session id is replaced by the one passed with --session-id/--resume, as the real CLI would echo it.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()


def install_fake_claude(directory: Path, scenario: dict | None = None, name: str = "claude") -> Path:
    """Write a launcher named `name` into `directory`/bin that runs this fake; returns the launcher's path."""
    bin_dir = directory / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    state = directory / "state"
    state.mkdir(exist_ok=True)
    (state / "scenario.json").write_text(json.dumps(scenario or {}))
    launcher = bin_dir / name
    launcher.write_text(
        "#!/bin/sh\n"
        f"FAKE_CLAUDE_DIR='{state}' exec '{sys.executable}' '{HERE}' \"$@\"\n"
    )
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return launcher


def _state() -> Path:
    return Path(os.environ["FAKE_CLAUDE_DIR"])


def _record(entry: dict) -> None:
    with open(_state() / "calls.jsonl", "a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")


def _session_arg(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        for flag in ("--session-id", "--resume", "-r"):
            if arg == flag and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(flag + "="):
                return arg.split("=", 1)[1]
    return None


def _on_signal(turn: dict):
    def handler(signum, frame):
        name = signal.Signals(signum).name
        with open(_state() / "signals.log", "a", encoding="utf-8") as f:
            f.write(f"{name} {os.getpid()}\n")
        if name == "SIGINT" and not turn.get("ignore_sigint"):
            sys.exit(130)
        if name == "SIGTERM" and not turn.get("ignore_sigterm"):
            sys.exit(143)
    return handler


def main(argv: list[str]) -> int:
    scenario = json.loads((_state() / "scenario.json").read_text())
    entry = {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd(), "pid": os.getpid(),
             "pgid": os.getpgid(0), "stdin_is_tty": sys.stdin.isatty() if sys.stdin else None}

    if argv[:1] in (["--version"], ["-v"]):
        _record(entry)
        print(scenario.get("version", "2.1.197 (Claude Code)"))
        return 0
    if argv[:2] == ["auth", "status"]:
        _record(entry)
        cfg = scenario.get("auth_status", {"stdout": json.dumps({"loggedIn": False, "authMethod": "none", "apiProvider": "firstParty"}), "exit": 1})
        if cfg.get("hang"):
            time.sleep(60)
        sys.stdout.write(cfg.get("stdout", ""))
        sys.stderr.write(cfg.get("stderr", ""))
        return int(cfg.get("exit", 0))
    if argv[:2] in (["auth", "login"], ["auth", "logout"]):
        _record(entry)
        return int(scenario.get("auth_exit", 0))
    if "-p" not in argv and "--print" not in argv:
        _record(entry)
        print(f"fake claude: unexpected arguments {argv}", file=sys.stderr)
        return 2

    if _flag(argv, "--input-format") == "stream-json":
        # One process, many turns: each user line on stdin is answered with the next turn; EOF ends the process.
        while True:
            raw = sys.stdin.readline()
            if not raw:
                return 0
            message = json.loads(raw)
            content = message.get("message", {}).get("content")
            code = _answer(scenario, argv, dict(entry, stdin=content, stdin_line=message))
            if code is not None:
                return code
    return _answer(scenario, argv, dict(entry, stdin=sys.stdin.read())) or 0


def _flag(argv: list[str], flag: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def _answer(scenario: dict, argv: list[str], entry: dict) -> int | None:
    """Replay one turn; returns an exit status when the process should end after it, else None."""
    turns = scenario.get("print") or [{"lines": []}]
    calls = _state() / "calls.jsonl"
    previous = sum(1 for line in calls.read_text().splitlines() if "-p" in json.loads(line)["argv"]) if calls.exists() else 0
    turn = turns[min(previous, len(turns) - 1)]
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _on_signal(turn))
    _record(entry)

    if "recording" in turn:
        lines = [line for line in Path(turn["recording"]).read_text().splitlines() if line.strip()]
    else:
        lines = list(turn.get("lines", []))
    if "take" in turn:
        lines = lines[: turn["take"]]
    wanted = _session_arg(argv)
    recorded = None
    for line in lines:
        try:
            recorded = json.loads(line).get("session_id")
        except ValueError:
            continue
        if recorded:
            break
    for line in lines:
        if wanted and recorded:
            line = line.replace(recorded, wanted)
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    if turn.get("stderr"):
        sys.stderr.write(turn["stderr"])
        sys.stderr.flush()
    if turn.get("hang"):
        deadline = time.monotonic() + 60  # never outlive a broken test by much
        while time.monotonic() < deadline:
            time.sleep(0.02)
    if "exit" in turn:
        return int(turn["exit"])
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
