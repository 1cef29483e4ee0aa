"""This conversation's token usage and, when the model's context window is known, how much of it is used.

Usage events are cumulative per answer (a later one replaces an earlier one for the same answer); the
conversation total is the sum over answers. The context in use is what the screen last learnt from the
session (`set_context_used`), else the last answer's input plus output. A cost is shown only when every answer's
price is known (the provider reported it, or the model's prices are known): otherwise "cost unknown".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Hashable

from rich.text import Text
from textual.content import Content
from textual.widget import Widget

from tui_agent.core.events import Usage
from tui_agent.ui.widgets.repaint import refresh_keeping_layout

_BAR_WIDTH = 12


def compact(n: int) -> str:
    """A token count for a narrow column: 950, 12.3k, 1.2M."""
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}k".replace(".0k", "k")
    return f"{n / 1_000_000:.1f}M".replace(".0M", "M")


@dataclass
class UsageTotals:
    """The numbers the meter shows; pure so it can be checked without Textual."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None
    answers: int = 0
    context_used: int | None = None  # the last answer's input + output, when it reported input
    unpriced: int = 0  # answers whose cost is not known

    def cost_text(self) -> str:
        """"$0.0123", or "cost unknown" when any answer's price is not known (never a guess)."""
        if self.cost_usd is None or self.unpriced:
            known = f" (${self.cost_usd:.4f} of it known)" if self.cost_usd is not None else ""
            return f"cost unknown{known}"
        return f"${self.cost_usd:.4f}"


class UsageBook:
    """Per-answer cumulative Usage, folded into conversation totals."""

    def __init__(self) -> None:
        self._answers: dict[Hashable, Usage] = {}
        self._order: list[Hashable] = []
        self._anonymous = 0

    def record(self, usage: Usage, answer_id: Hashable | None = None) -> None:
        if answer_id is None:
            # No id: every call is its own (finished) answer.
            self._anonymous += 1
            answer_id = ("anonymous", self._anonymous)
        if answer_id not in self._answers:
            self._order.append(answer_id)
        self._answers[answer_id] = usage

    def reset(self) -> None:
        self._answers.clear()
        self._order.clear()

    def totals(self) -> UsageTotals:
        totals = UsageTotals(answers=len(self._order))
        for key in self._order:
            usage = self._answers[key]
            totals.input_tokens += usage.input_tokens or 0
            totals.output_tokens += usage.output_tokens or 0
            if usage.cost_usd is not None:
                totals.cost_usd = (totals.cost_usd or 0.0) + usage.cost_usd
            else:
                totals.unpriced += 1
        if self._order:
            last = self._answers[self._order[-1]]
            if last.input_tokens is not None:
                totals.context_used = last.input_tokens + (last.output_tokens or 0)
        return totals


def context_share(used: int, window: int) -> str:
    """"12k / 200k 6%": how full a context window is."""
    return f"{compact(used)} / {compact(window)} {min(used / window, 1.0):.0%}"


def header_summary(totals: UsageTotals, context_window: int | None) -> str:
    """The one-line summary for narrow headers: "ctx 12k / 200k 6% · $0.0123" (or "cost unknown")."""
    parts = []
    if context_window and totals.context_used is not None:
        parts.append(f"ctx {context_share(totals.context_used, context_window)}")
    if totals.answers:
        parts.append(totals.cost_text())
    return " · ".join(parts)


def usage_text(totals: UsageTotals, context_window: int | None) -> Text:
    """The meter's lines: tokens in/out and cost, then the context bar when the window is known."""
    text = Text()
    text.append("Tokens this conversation\n", style="bold")
    if totals.answers == 0:
        text.append("  none yet")
    else:
        text.append(f"  in {totals.input_tokens:,} · out {totals.output_tokens:,}")
        text.append(f"\n  {totals.cost_text()}")
    if context_window:
        text.append("\nContext ", style="bold")
        if totals.context_used is None:
            text.append(f"? / {compact(context_window)} (not reported yet)")
        else:
            used = totals.context_used
            share = min(used / context_window, 1.0)
            filled = round(share * _BAR_WIDTH)
            text.append(f"{context_share(used, context_window)} ")
            text.append("█" * filled)
            text.append("░" * (_BAR_WIDTH - filled), style="dim")
    return text


class UsageMeter(Widget):
    """Shows this conversation's token usage below the provider rows."""

    DEFAULT_CSS = """
    UsageMeter {
        height: auto;
        padding: 0 1;
    }
    UsageMeter.-context-high {
        color: $warning;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._book = UsageBook()
        self._context_window: int | None = None
        self._context_used: int | None = None

    @property
    def totals(self) -> UsageTotals:
        totals = self._book.totals()
        if self._context_used is not None:
            totals.context_used = self._context_used
        return totals

    @property
    def context_window(self) -> int | None:
        return self._context_window

    def record_usage(self, usage: Usage, answer_id: Hashable | None = None) -> None:
        """Count one Usage event; with `answer_id`, a later Usage for the same answer replaces the earlier one."""
        self._book.record(usage, answer_id)
        self._changed()

    def reset_usage(self) -> None:
        """Start counting a new conversation."""
        self._book.reset()
        self._context_used = None
        self._changed()

    def set_context_used(self, tokens: int | None) -> None:
        """How many tokens of the window the conversation fills now (the session's count); None: the last answer's."""
        self._context_used = tokens
        self._changed()

    def set_context_window(self, tokens: int | None) -> None:
        """The active model's context window in tokens, or None when it is not known."""
        self._context_window = tokens if tokens and tokens > 0 else None
        self._changed()

    def render(self) -> Text:
        return usage_text(self.totals, self._context_window)

    def _changed(self) -> None:
        totals, window = self.totals, self._context_window
        # The colour is a second channel; the percentage is always printed.
        self.set_class(bool(window and totals.context_used and totals.context_used >= 0.9 * window), "-context-high")
        # Usage arrives while an answer streams; new numbers seldom change the number of lines.
        refresh_keeping_layout(
            self, lambda width: Content.from_rich_text(usage_text(totals, window)).get_height(self.styles, width)
        )
