"""Shared by the UI benchmarks: a temporary home and config, the 100 KB test answer, medians, RSS and the table.

Benchmarks measure ratios against a baseline taken in the same run; they print and never fail.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")  # read by Textual at import: no animation timing in the figures

SIZE = (100, 40)  # the headless screen of every in-process benchmark (chat and baselines alike)
NICK = "benchnick"  # the profile nickname: the chat header shows it, the pty start-up detects it
LOOPBACK = ("loopback", "bench-1")  # (provider, model) of the default profile: an openai-chat server, no auth


def temp_home(prefix: str = "tui-agent-bench-") -> Path:
    """A fresh TUI_AGENT_HOME (removed by the OS's tmp cleaning; benchmarks leave nothing in the user's home)."""
    return Path(tempfile.mkdtemp(prefix=prefix))


def bench_env(home: Path) -> dict[str, str]:
    """The environment of a benchmarked app: its own home, the file secret store, no provider keys, no real CLI."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and not k.startswith("TUI_AGENT_")}
    # An installed app runs from bytecode (pip compiles it at install; an editable checkout writes it on the
    # first run). Some sandboxes export PYTHONDONTWRITEBYTECODE, which would make every run recompile our
    # modules from source while Textual's came precompiled: an unfair comparison, so the warm-up writes .pyc.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update({"TUI_AGENT_HOME": str(home), "TUI_AGENT_KEYRING": "file", "HOME": str(home),
                "TUI_AGENT_CLAUDE_PATH": str(home / "no-claude"), "NO_PROXY": "127.0.0.1,localhost"})
    return env


def write_config(home: Path, base_url: str = "http://127.0.0.1:9/v1", *, default: bool = True, resume: bool = True,
                 model: tuple[str, str] = LOOPBACK) -> None:
    """A config whose default profile (or none: first run) is an openai-chat provider at `base_url`, no auth;
    `resume=False` keeps the app from reopening the last stored conversation at start. `model` = (provider,
    model) puts the profile on another provider, a built-in one moved to `base_url` (so nothing leaves the machine)."""
    head = f'default_profile = "{NICK}"\n' if default else ""
    if not resume:
        head += "[ui]\nresume_last = false\n"
    provider, name = model
    moved = f'[providers.{provider}]\nbase_url = "{base_url}"\n' if model != LOOPBACK else ""
    (home / "config.toml").write_text(
        head + f'[profiles.{NICK}]\nprovider = "{provider}"\nmodel = "{name}"\n\n{moved}'
        f'[providers.loopback]\ndisplay_name = "Loopback"\nkind = "openai-chat"\nbase_url = "{base_url}"\nauth = ["none"]\n'
        # local servers probed by the first-run scan point at a closed port, so they fail at once
        '[providers.ollama]\nbase_url = "http://127.0.0.1:9"\n[providers.lmstudio]\nbase_url = "http://127.0.0.1:9/v1"\n',
        encoding="utf-8",
    )


def make_app(home: Path, base_url: str = "http://127.0.0.1:9/v1", *, default: bool = True,
             model: tuple[str, str] = LOOPBACK):
    """The real app over the real AgentService, on a temp home whose default profile talks to `base_url`
    (the last conversation is not reopened at start: each benchmark opens what it measures); `model` as in
    write_config."""
    from tui_agent.config.load import load_config
    from tui_agent.config.paths import Paths
    from tui_agent.service.agent import AgentService
    from tui_agent.ui.app import TuiAgentApp

    write_config(home, base_url, default=default, resume=False, model=model)
    env = bench_env(home)
    paths = Paths.resolve(env=env)
    validate_in_child(env)
    config = load_config(paths.config_file, cache=paths.config_cache)  # as `tui-agent` loads it: from the cache
    # Collection is left as it is: the app freezes start-up's objects and paces full collections (ui/gc_pacing.py)
    # only when started as `tui-agent` starts it, with collection paused (cli._run_tui). A bench process runs one
    # app after another, and the pacer's whole-heap pass in a pause would scan every earlier app's leftovers too
    # (1.3 s measured), which the real app never does; the black-box bench (echo_pty.py) runs the real app, pacer
    # included. So the in-process figures are taken under CPython's own collector, as before.
    return TuiAgentApp(config=config, paths=paths, service=AgentService(config, paths, env=env))


def compile_tree() -> None:
    """Write the bytecode of the tree's tui_agent, as pip does at install: an installed app runs from it. Where
    PYTHONDONTWRITEBYTECODE is exported (some sandboxes do) and the tree is fresh (a clone, or a copy made to compare
    with), a benchmarked process would compile every module from source instead, which no user's app does: the
    empty chat screen measured 1.6 MB more that way (memory.py, 2026-12-07)."""
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "tui_agent")], cwd=ROOT, check=True)


def validate_in_child(env: dict[str, str]) -> None:
    """Validate the config at env's home in a child process, which writes the start-up cache, as an earlier run of
    `tui-agent` would have. The benchmarked process then loads it as every start but the first after an edit
    does, without importing pydantic: validating in-process kept ≈ 10 MB of pydantic in the memory figures
    that the app itself does not hold."""
    subprocess.run([sys.executable, "-c", "from tui_agent.service.startup import load_for_tui; load_for_tui(None, None)"],
                   env=env, cwd=ROOT, check=True)


async def started(app, pilot) -> None:
    """Let the app finish starting: first frame drawn and the work deferred after it (side panel, probes, scans)
    done, so that none of it falls inside what a benchmark times."""
    while not getattr(app, "startup_settled", True):
        await pilot.pause(0.01)
    await app.workers.wait_for_complete()  # the side panel's first probe round, a first-run scan
    await pilot.pause()
    gc.collect()  # every timed case starts with the same garbage: none


_WORDS = ("the", "model", "streams", "tokens", "quickly", "and", "renders", "markdown", "while", "you", "read",
          "**bold**", "*soft*", "`code`", "terminal", "widget", "frame", "answer", "über", "naïve", "résumé", "42")


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(_WORDS) for _ in range(rng.randint(6, 16))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(3, 6)))


def _code_line(rng: random.Random, i: int) -> str:
    indent = "    " * rng.randint(0, 2)
    return f"{indent}value_{i} = compute({rng.randint(0, 999)}, name=\"item-{i}\")  # step {i}"


def answer_text(size: int = 94_000, seed: int = 12) -> str:
    """About `size` characters of Markdown: headings, prose, bullet and numbered lists, a table, and a
    300-line Python code fence in the middle (the case that costs most while streaming)."""
    rng = random.Random(seed)
    parts: list[str] = []
    code_done = False
    section = 0
    while sum(len(p) + 2 for p in parts) < size:
        section += 1
        parts.append(f"## Section {section}")
        parts += [_paragraph(rng) for _ in range(rng.randint(2, 4))]
        if section % 2:
            parts.append("\n".join(f"- {_sentence(rng)}" for _ in range(rng.randint(3, 5))))
        else:
            parts.append("\n".join(f"{n}. {_sentence(rng)}" for n in range(1, rng.randint(3, 5) + 1)))
        parts.append(_paragraph(rng))
        if section % 6 == 0:
            parts.append("| name | value |\n|---|---|\n" + "\n".join(f"| row {n} | {rng.randint(0, 99)} |" for n in range(4)))
        if not code_done and sum(len(p) + 2 for p in parts) >= size * 0.45:
            parts.append("```python\n" + "\n".join(_code_line(rng, i) for i in range(300)) + "\n```")
            code_done = True
    return "\n\n".join(parts) + "\n"


def one_paragraph(size: int, end: str = "", seed: int = 5) -> str:
    """A single paragraph of about `size` characters (sentences with inline Markdown, no line break), then `end`."""
    rng = random.Random(seed)
    sentences: list[str] = []
    total = 0
    while total < size:
        sentences.append(_sentence(rng))
        total += len(sentences[-1]) + 1
    return " ".join(sentences) + (f" {end}" if end else "") + "\n"


def one_code_block(size: int, end: str = "", seed: int = 6) -> str:
    """A single fenced Python block of about `size` characters; `end` is its last line, as a comment."""
    rng = random.Random(seed)
    lines: list[str] = []
    total = 0
    while total < size:
        lines.append(_code_line(rng, len(lines)))
        total += len(lines[-1]) + 1
    if end:
        lines.append(f"# {end}")
    return "```python\n" + "\n".join(lines) + "\n```\n"


def chunks_of(text: str, size: int = 20) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)]


@contextlib.contextmanager
def loopback_answer(chunks: list[str], delay: float = 0.0, repeat: int = 1,
                    sent_at: list[float] | None = None, read_at: list[float] | None = None) -> Iterator[str]:
    """A loopback OpenAI-compatible server in a child process that streams `chunks` (one SSE event each,
    `delay` s apart) to each of the next `repeat` chat requests; yields its base URL. With `sent_at`, the
    `time.perf_counter()` at which each streamed reply was written whole is appended to it as it happens; with
    `read_at` (Linux), the moment the app had read its last byte (bench/_loopback.py)."""
    spec = Path(tempfile.mkstemp(prefix="tui-agent-bench-", suffix=".json")[1])
    spec.write_text(json.dumps({"chunks": chunks, "delay": delay, "repeat": repeat}), encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "_loopback.py"), str(spec)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert proc.stdout is not None
        base_url = proc.stdout.readline().strip()
        if not base_url:
            raise RuntimeError("the loopback server did not start (see its error output above)")
        stdout = proc.stdout

        def note_sends() -> None:
            for line in stdout:
                kind, _, moment = line.partition(" ")
                into = {"sent": sent_at, "read": read_at}.get(kind)
                if into is not None:
                    into.append(float(moment))

        threading.Thread(target=note_sends, daemon=True).start()
        yield base_url
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        spec.unlink(missing_ok=True)


def varied_chunks(text: str, low: int = 20, high: int = 60, seed: int = 7) -> list[str]:
    """`text` cut into pieces of `low`–`high` characters, as a model's deltas come."""
    rng = random.Random(seed)
    chunks, at = [], 0
    while at < len(text):
        size = rng.randint(low, high)
        chunks.append(text[at:at + size])
        at += size
    return chunks


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """Median, p95 (nearest rank) and max of `values`, NaN when there are none."""
    ordered = sorted(values)
    if not ordered:
        return float("nan"), float("nan"), float("nan")
    return ordered[len(ordered) // 2], ordered[int(len(ordered) * 0.95)], ordered[-1]


def median(values) -> float:
    return statistics.median(values)


def rss_mb() -> float:
    """This process's resident memory now (VmRSS), in MB."""
    return _status_kb("VmRSS") / 1024


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    return _status_kb("VmHWM") / 1024


def _status_kb(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} line (this benchmark reads Linux's /proc)")


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A small aligned text table: first column left-aligned, the rest right-aligned."""
    cells = [[str(h) for h in headers]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def machine() -> str:
    import platform

    import textual

    return (f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, Textual {textual.__version__}")
