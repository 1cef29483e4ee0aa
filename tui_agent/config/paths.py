"""Where tui-agent keeps its files, with the precedence docs/interfaces.md gives."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

APP = "tui-agent"


@dataclass(frozen=True)
class Paths:
    """Every file location, resolved once from flags and the environment."""

    config_file: Path
    data_dir: Path
    state_dir: Path

    @property
    def history_db(self) -> Path:
        return self.data_dir / "history.db"

    @property
    def credentials_file(self) -> Path:
        return self.data_dir / "credentials.json"

    @property
    def log_file(self) -> Path:
        return self.state_dir / "tui-agent.log"

    @property
    def config_cache(self) -> Path:
        """The last validated config with what it was validated from (`config/cache.py`): start-up speed only."""
        return self.state_dir / "config-cache.json"

    @property
    def prompt_recall_file(self) -> Path:
        """Prompts and slash commands sent, newest first (`service/recall.py`)."""
        return self.data_dir / "prompt-recall.json"

    @property
    def attachments_dir(self) -> Path:
        """Images sent as attachments, one file per content hash (`service/attachments.py`)."""
        return self.data_dir / "attachments"

    @property
    def recents_file(self) -> Path:
        return self.state_dir / "recents.toml"

    @property
    def claude_workdir(self) -> Path:
        """The app-owned empty working directory the Claude Code CLI runs in."""
        return self.state_dir / "claude-cwd"

    @classmethod
    def resolve(cls, config_flag: str | os.PathLike | None = None, env: Mapping[str, str] | None = None) -> "Paths":
        """Config: --config, TUI_AGENT_CONFIG, TUI_AGENT_HOME/config.toml, then XDG; data/state: TUI_AGENT_HOME or XDG."""
        env = os.environ if env is None else env
        home = env.get("TUI_AGENT_HOME")
        if home:
            base = Path(home).expanduser()
            data, state, default_config = base / "data", base / "state", base / "config.toml"
        else:
            import platformdirs

            data = Path(_xdg(env, "XDG_DATA_HOME") or platformdirs.user_data_dir(APP, appauthor=False))
            state = Path(_xdg(env, "XDG_STATE_HOME") or platformdirs.user_state_dir(APP, appauthor=False))
            default_config = Path(
                _xdg(env, "XDG_CONFIG_HOME") or platformdirs.user_config_dir(APP, appauthor=False)
            ) / "config.toml"
        if config_flag:
            config = Path(config_flag).expanduser()
        elif env.get("TUI_AGENT_CONFIG"):
            config = Path(env["TUI_AGENT_CONFIG"]).expanduser()
        else:
            config = default_config
        return cls(config_file=config, data_dir=data, state_dir=state)


def _xdg(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    return str(Path(value) / APP) if value else None
