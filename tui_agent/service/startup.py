"""What the CLI needs before a service exists: the TUI's validated configuration, and the reports of `config check|path`.

Kept light (no adapters, no httpx): the TUI's first frame waits for this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui_agent.config.load import Config
    from tui_agent.config.paths import Paths
    from tui_agent.config.problems import ConfigProblem


def load_for_tui(config_flag: str | None, model: str | None) -> tuple["Config", "Paths"]:
    """The configuration and paths the TUI starts with; raises ConfigError (exit 2) before any screen."""
    from tui_agent.config.load import load_config
    from tui_agent.config.paths import Paths

    paths = Paths.resolve(config_flag)
    config = load_config(paths.config_file, cache=paths.config_cache)
    if model is not None and model not in config.profiles:
        from tui_agent.auth.resolve import resolve

        resolve(config, model)  # raises the located "no profile is called" error
    return config, paths


def check_config_file(config_flag: str | None) -> tuple["Paths", "Config | None", list["ConfigProblem"]]:
    """Every problem of the config file at once (`tui-agent config check`)."""
    from tui_agent.config.load import check_config
    from tui_agent.config.paths import Paths

    paths = Paths.resolve(config_flag)
    config, problems = check_config(paths.config_file)
    return paths, config, problems


def secret_store_description(paths: "Paths") -> str:
    from tui_agent.auth.store import open_store

    return open_store(paths).description
