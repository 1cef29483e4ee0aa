"""The layer contracts in pyproject.toml (import-linter) hold: a breach fails the test command, so it fails CI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_imports_keep_to_the_layers():
    lint = Path(sys.executable).with_name("lint-imports")
    assert lint.exists(), "import-linter is missing: install the test extra (pip install -e '.[test]')"
    result = subprocess.run(
        [str(lint), "--no-cache", "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    report = result.stdout[result.stdout.find("Contracts"):] + result.stderr
    assert result.returncode == 0, f"a layer contract is broken (see docs/architecture.md):\n{report}"
    assert "0 broken" in result.stdout
