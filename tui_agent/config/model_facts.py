"""Known context windows and prices of models, from the dated table shipped as `model_facts.toml`.

Only the providers and names in the table are known; every other model gets None (never a guess).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# A dated snapshot name: claude-sonnet-4-5-20250929, gpt-4o-2024-08-06.
_DATE_SUFFIX = re.compile(r"-(\d{8}|\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class ModelFacts:
    """What is known of one model: its context window and its price in USD per million tokens."""

    context_window: int | None = None
    input_usd_per_mtok: float | None = None
    output_usd_per_mtok: float | None = None

    @property
    def priced(self) -> bool:
        return self.input_usd_per_mtok is not None and self.output_usd_per_mtok is not None

    def cost(self, input_tokens: int | None, output_tokens: int | None) -> float | None:
        """The price of that many tokens, or None when the prices or the counts are not known."""
        if not self.priced or input_tokens is None or output_tokens is None:
            return None
        return (input_tokens * self.input_usd_per_mtok + output_tokens * self.output_usd_per_mtok) / 1_000_000  # type: ignore[operator]


@functools.cache
def _table() -> dict:
    import tomllib
    from importlib import resources

    return tomllib.loads(resources.files("tui_agent.config").joinpath("model_facts.toml").read_text(encoding="utf-8"))


def checked_on() -> str:
    """The date the shipped table was checked against the providers' price pages."""
    return str(_table().get("checked", ""))


def table_facts(provider_id: str, model: str) -> ModelFacts | None:
    """The shipped table's facts for `model` on the built-in provider `provider_id`, or None when not listed."""
    models = _table().get(provider_id)
    if not isinstance(models, dict):
        return None
    entry = models.get(model) or models.get(_DATE_SUFFIX.sub("", model))
    if not isinstance(entry, dict):
        return None
    return ModelFacts(entry.get("context_window"), entry.get("input"), entry.get("output"))
