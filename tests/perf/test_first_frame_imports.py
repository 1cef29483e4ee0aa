"""Nothing heavy may be imported or run before the chat screen's first frame (issue 12's guard).

Measured by what is in sys.modules when the chat screen reports its first frame drawn, in a fresh interpreter
(started twice: the second start must use the start-up cache of the config); timing belongs in bench/.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

# Provider SDKs, keyring (D-Bus probing), sqlite (history work), OAuth libraries, the login flows, the service
# (built with the side panel, after the first frame) and — once config.toml has been validated and cached —
# pydantic (validation), the TOML parser, importlib.resources with zipfile (the catalog is read as a file) and
# the slash-command table (read when a prompt is typed or sent), and the chat session (made at the first send).
FORBIDDEN = (
    "anthropic", "openai", "ollama", "authlib", "keyring", "sqlite3", "_sqlite3", "secretstorage",
    "tui_agent.service.history", "tui_agent.auth.store", "tui_agent.auth.oauth", "tui_agent.providers.openai_chat",
    "tui_agent.providers.anthropic", "tui_agent.providers.ollama", "tui_agent.providers.claude_cli",
    "tui_agent.service.agent", "pydantic", "pydantic_core", "tomllib", "importlib.resources", "zipfile",
    "tui_agent.ui.slash", "tui_agent.service.chat_session",
)

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys
    from pathlib import Path
    from tui_agent.config.load import load_config
    from tui_agent.config.paths import Paths
    from tui_agent.ui.app import TuiAgentApp

    seen = {}
    first_frame_drawn = TuiAgentApp.first_frame_drawn

    def record(self) -> None:  # the chat screen reports its first frame drawn
        seen.setdefault("modules", sorted(sys.modules))
        first_frame_drawn(self)

    TuiAgentApp.first_frame_drawn = record  # a subclass here would move the app's relative CSS_PATH
    paths = Paths.resolve()
    # as `tui-agent` loads it: from the start-up cache when config.toml was validated before
    config = load_config(paths.config_file, cache=paths.config_cache)
    seen["validated"] = "pydantic" in sys.modules
    app = TuiAgentApp(config=config, paths=paths, model=sys.argv[1] or None)

    async def main():
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            seen["header"] = str(app.screen.query_one("#chat-header").render())
    asyncio.run(main())
    print(json.dumps(seen))
    """
)


def first_frame_modules(tmp_path, profile: str = "") -> dict:
    """What was loaded when the first frame was drawn, on a second start (the first validated the config)."""
    script = tmp_path / "first_frame_probe.py"  # a file, not -c: Textual resolves CSS paths from the source file
    script.write_text(SCRIPT)
    runs = []
    for _ in range(2):
        proc = subprocess.run([sys.executable, str(script), profile], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert runs[0]["validated"] and not runs[1]["validated"], "the second start should use the start-up cache"
    return runs[1]


def test_no_heavy_module_is_imported_before_the_first_frame(isolated_home, tmp_path):
    (isolated_home / "config.toml").write_text(
        'default_profile = "local"\n[profiles.local]\nprovider = "ollama"\nmodel = "llama3.2"\n'
        '[providers.ollama]\nbase_url = "http://127.0.0.1:9"\n'
    )
    seen = first_frame_modules(tmp_path)
    assert "local" in seen["header"]
    loaded = [name for name in FORBIDDEN if name in seen["modules"]]
    assert loaded == [], f"imported before the first frame: {loaded}"


def test_first_run_screen_is_also_light(isolated_home, tmp_path):
    seen = first_frame_modules(tmp_path)
    loaded = [name for name in FORBIDDEN if name in seen["modules"]]
    assert loaded == [], f"imported before the first frame: {loaded}"


SETTLED_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from tui_agent.config.load import load_config
    from tui_agent.config.paths import Paths
    from tui_agent.ui.app import TuiAgentApp

    paths = Paths.resolve()
    app = TuiAgentApp(config=load_config(paths.config_file, cache=paths.config_cache), paths=paths)

    async def main():
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(3):  # the first frame's callbacks, then the workers they start (the model's facts)
                await pilot.pause()
                await app.workers.wait_for_complete()
            print(app.screen.query_one("#context-summary").render(), "httpx" in sys.modules)
    asyncio.run(main())
    """
)


def test_a_start_on_a_model_the_shipped_table_prices_loads_no_network_code(isolated_home, tmp_path, monkeypatch):
    """The built-in openai provider's model list says nothing the shipped table does not (model_facts): a start on
    a listed model asks nothing, so loads no HTTP stack until a message is sent (≈ 7 MB, issue 23); an unlisted
    model is asked about, as before (which also shows this probe sees the stack when it is loaded)."""
    script = tmp_path / "settled_probe.py"
    script.write_text(SETTLED_SCRIPT)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-0123456789abcdefghijKLMN")
    seen = {}
    for model in ("gpt-4o", "gpt-unlisted"):
        (isolated_home / "config.toml").write_text(
            f'default_profile = "gpt"\n[profiles.gpt]\nprovider = "openai"\nmodel = "{model}"\n'
            '[providers.openai]\nbase_url = "http://127.0.0.1:9/v1"\n'
        )
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        *summary, loaded = proc.stdout.split()
        seen[model] = (" ".join(summary), loaded)
    assert seen["gpt-4o"] == ("ctx 0 / 128k 0%", "False"), seen  # the table's window, shown; no HTTP stack
    assert seen["gpt-unlisted"][1] == "True", seen
