"""Find the code blocks of an answer in its Markdown source, so they can be copied as the original text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodeBlock:
    """One fenced or indented code block: its language tag (may be "") and its exact source lines."""

    language: str
    code: str

    def label(self, width: int = 40) -> str:
        """A short description for menus: language, line count and the first non-empty line."""
        lines = self.code.splitlines()
        first = next((line.strip() for line in lines if line.strip()), "")
        if len(first) > width:
            first = first[: width - 1] + "…"
        lang = self.language or "text"
        count = f"{len(lines)} line" + ("" if len(lines) == 1 else "s")
        return f"{lang}, {count}: {first}"


def normalize(state) -> None:
    """markdown-it's `normalize` core rule (CR LF and CR become LF, NUL becomes U+FFFD), without its regex: the regex
    replaced every LF with an LF, 60 ms over 5 MB in one C call that holds the interpreter, so a parse in a worker
    thread still stopped the event loop for that long. `str.replace` gives the same text, and finds nothing to
    replace in a fraction of a millisecond."""
    state.src = state.src.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "\ufffd")


INLINE_RULES = ["inline", "linkify", "text_join"]  # markdown-it's core rules after the block pass


def code_blocks(markdown: str) -> list[CodeBlock]:
    """Every code block in document order, parsed the way Textual's Markdown widget parses it."""
    from markdown_it import MarkdownIt  # Textual's own Markdown parser, loaded only when asked

    parser = MarkdownIt("gfm-like")
    parser.core.ruler.at("normalize", normalize)
    # Code blocks are block-level: the inline pass (every paragraph's text, emphasis and links made into tokens of
    # their own) finds none and was most of the work: on the 94 KB answer of docs/benchmarks.md 2.6 MB of tokens,
    # alive at once, and most of the time. Fences and indented code come out of the block pass the same.
    parser.disable(INLINE_RULES)
    blocks: list[CodeBlock] = []
    for token in parser.parse(markdown):
        if token.type == "fence":
            language = token.info.strip().split(" ", 1)[0] if token.info else ""
            blocks.append(CodeBlock(language, token.content))
        elif token.type == "code_block":
            blocks.append(CodeBlock("", token.content))
    return blocks
