"""Snapshot tests of the chat screen: animations off before Textual is imported, fixed size, no blinking cursor."""

from __future__ import annotations

import os

os.environ["TEXTUAL_ANIMATIONS"] = "none"  # read by Textual at import time

import pytest


@pytest.fixture
def home(isolated_home):
    """This test's TUI_AGENT_HOME: tests/conftest.py made it, removed provider keys and chose the file secret store."""
    return isolated_home
