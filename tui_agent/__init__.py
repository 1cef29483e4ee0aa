"""tui-agent: a terminal chat client for many model providers with an explicit, visible auth chain."""

__version__ = "0.1.0"
