"""The error hierarchy: every error carries one sentence meant for a person, and an exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui_agent.config.problems import ConfigProblem


class TuiAgentError(Exception):
    """Base of every error tui-agent raises on purpose; `str(err)` is the sentence shown to the user."""

    exit_code = 1


class UsageError(TuiAgentError):
    """A bad flag, argument or unknown name given on the command line."""

    exit_code = 2


class ConfigError(TuiAgentError):
    """The configuration cannot be loaded or a reference in it is broken."""

    exit_code = 2

    def __init__(self, problems: list["ConfigProblem"] | str):
        if isinstance(problems, str):
            from tui_agent.config.problems import ConfigProblem

            problems = [ConfigProblem(file="", key="", message=problems)]
        self.problems = problems
        first = problems[0].sentence() if problems else "the configuration is invalid"
        others = len(problems) - 1
        more = f" (and {others} more problem{'' if others == 1 else 's'}; run `tui-agent config check`)" if others else ""
        super().__init__(first + more)


class ResolutionError(ConfigError):
    """A link of the profile → provider → method chain is broken."""


class ProviderError(TuiAgentError):
    """A provider refused or failed a request at run time."""

    exit_code = 1


class AuthError(ProviderError):
    """Authentication is missing, expired or was refused at request time."""


class Unreachable(ProviderError):
    """The provider could not be asked (connection, DNS, TLS, timeout) or the endpoint is not there (404).

    Nothing was refused: a key whose check ends this way may still be saved on purpose (`login --no-check`).
    """


class Interrupted(TuiAgentError):
    """The user interrupted the operation."""

    exit_code = 130


class UnknownProvider(UsageError):
    """A provider name that is neither a provider id nor an alias; the one sentence says which names are close."""

    def __init__(self, name: str, closest: list[str], near: str | None = None):
        """`closest`: every valid name, closest first; `near`: the one to suggest, only when it is a likely typo."""
        self.name = name
        self.closest = closest
        guess = f"; did you mean `{near}`?" if near else (";" if closest else "")
        choices = f" valid choices: {', '.join(closest[:8])}" if closest else ""
        super().__init__(f"unknown provider `{name}`{guess}{choices}")
