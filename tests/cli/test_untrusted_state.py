"""Headless commands against bad state and hostile servers: one sentence, exit 1, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

from tests.fakes import FakeOpenAI
from tui_agent.cli import main

KEY = "sk-test-0123456789abcdefghijKLMN"


def write_gateway_config(home: Path, base_url: str, timeouts: str = "") -> None:
    (home / "config.toml").write_text(
        f'default_profile = "g"\n[providers.gw]\nkind = "openai-chat"\nbase_url = "{base_url}"\n'
        f'auth = ["api-key"]\n{timeouts}[profiles.g]\nprovider = "gw"\nmodel = "gpt-test"\n'
    )


def test_a_wrong_typed_store_entry_is_one_sentence_exit_1_and_the_file_untouched(capsys, isolated_home):
    with FakeOpenAI(api_key=KEY) as fake:
        write_gateway_config(isolated_home, fake.base_url)
        credentials = isolated_home / "data" / "credentials.json"
        credentials.parent.mkdir(parents=True)
        credentials.write_text(json.dumps({"gw": ["not", "an", "object"]}))
        before = credentials.read_bytes()
        code = main(["ask", "hello"])
        out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.strip() == (
        f"tui-agent: the credentials file {credentials} has an entry for `gw` that tui-agent cannot read "
        "(it is a JSON list, not an object); it was left untouched — run `tui-agent login gw` to replace it"
    )
    assert "Traceback" not in err
    assert credentials.read_bytes() == before
    assert fake.chat_requests == []
