"""Untrusted input on the command line: hostile servers, undecodable bytes, broken config files.

Assertions are on what reaches stdout/stderr (the bytes a terminal would get), and on exit codes: 2 for bad
input the user gave, 1 for bad state found at run time; never a traceback.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tests.fakes import FakeOllama, FakeOpenAI
from tui_agent.cli import main

HOSTILE = "\x1b]52;c;ZWNobyBwd25lZA==\x07\x1b]0;pwned\x1b\\\x1b[2J\u202e"
TERMINAL_CONTROLS = ("\x1b", "\x07", "\u202e", "\x9b")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_terminal_safe(*texts: str) -> None:
    for text in texts:
        assert not [c for c in TERMINAL_CONTROLS if c in text], f"control codes reached the terminal: {text!r}"


def assert_no_traceback(err: str) -> None:
    assert "Traceback" not in err and err.startswith("tui-agent: ") and err.count("\n") == 1, err


@pytest.fixture
def gateway(isolated_home: Path):
    """A keyless OpenAI-compatible provider `gw` on a loopback fake, profile `g` the default."""
    with FakeOpenAI() as fake:
        (isolated_home / "config.toml").write_text(
            f'default_profile = "g"\n[providers.gw]\nkind = "openai-chat"\nbase_url = "{fake.base_url}"\n'
            f'auth = ["none"]\n[profiles.g]\nprovider = "gw"\nmodel = "gpt-test"\n'
        )
        yield fake


# --- escape sequences from servers ----------------------------------------------------------------------------


def test_ask_removes_escape_sequences_even_split_across_deltas(capsys, gateway):
    gateway.script(FakeOpenAI.answer("Hello \x1b", "]52;c;ZWNobyBwd25lZA==\x07world", HOSTILE, " \x1b[31mred\x1b[0m"))
    code, out, err = run(capsys, "ask", "hi")
    assert (code, out, err) == (0, "Hello world red\n", "")


def test_ask_raw_writes_the_text_exactly_as_received(capsys, gateway):
    pieces = ["Hello \x1b", "]52;c;QQ==\x07world", " \x1b[31mred\x1b[0m\r\n"]
    gateway.script(FakeOpenAI.answer(*pieces))
    code, out, err = run(capsys, "ask", "--raw", "hi")
    assert (code, out, err) == (0, "".join(pieces), "")


def test_a_sequence_cut_off_by_the_end_of_the_answer_is_shown_visibly(capsys, gateway):
    gateway.script(FakeOpenAI.answer("done \x1b]0;never ended"))
    code, out, _err = run(capsys, "ask", "hi")
    assert (code, out) == (0, "done ␛]0;never ended\n")


def test_an_error_body_with_escape_sequences_is_printed_harmlessly(capsys, gateway):
    gateway.script(FakeOpenAI.error(400, "bad model " + HOSTILE + "\nsecond line"))
    code, out, err = run(capsys, "ask", "hi")
    assert code == 1 and out == ""
    assert "bad model" in err and "second line" in err
    assert_terminal_safe(err)
    assert_no_traceback(err)


def test_an_in_band_stream_error_with_escape_sequences_is_printed_harmlessly(capsys, gateway):
    gateway.script(FakeOpenAI.answer("partial", error={"message": "died " + HOSTILE, "type": "server_error"}))
    code, out, err = run(capsys, "ask", "hi")
    assert code == 1 and out == "partial\n"
    assert "died" in err
    assert_terminal_safe(err)


def test_discovered_model_names_with_control_characters_are_left_out(capsys, isolated_home):
    with FakeOllama(models=["evil\x1b]0;title\x07:latest", "bidi\u202eexe.txt", "qwen3:8b"]) as fake:
        (isolated_home / "config.toml").write_text(f'[providers.ollama]\nbase_url = "{fake.base_url}"\n')
        code, out, err = run(capsys, "models", "--provider", "ollama")
    assert code == 0, err
    assert "qwen3:8b" in out and "evil" not in out and "bidi" not in out
    assert_terminal_safe(out, err)


def test_imported_nicknames_are_printed_harmlessly(capsys, isolated_home, tmp_path):
    source = tmp_path / "profiles.json"
    source.write_text('[{"nickname": "x\\u001b]0;t\\u0007y", "provider": "nope"}, {"nickname": "a\\u001b[2Jb", "provider": "ollama"}]')
    code, out, err = run(capsys, "import", "qwen-profiles", str(source))
    assert code == 0
    assert "`xy`: a nickname must be non-empty printable text" in err
    assert "`ab`: a nickname must be non-empty printable text" in err  # never written into config.toml
    assert "0 imported" in out
    assert_terminal_safe(out, err)


# --- undecodable bytes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, named",
    [
        (["ask", "caf\udce9"], "PROMPT"),  # b"caf\xe9" decoded by Python with surrogateescape
        (["ask", "--system", "be \udcff", "hi"], "--system"),
        (["ask", "-m", "n\udcffck", "hi"], "--model"),
        (["explain", "\udcff"], "NICK"),
        (["login", "open\udcffai"], "PROVIDER"),
        (["models", "--provider", "\udcff"], "PROVIDER"),
    ],
)
def test_undecodable_bytes_in_an_argument_are_a_usage_error(capsys, gateway, argv, named):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert named in err and "not valid UTF-8" in err
    assert_no_traceback(err)
    assert gateway.chat_requests == []


def test_undecodable_bytes_on_stdin_are_a_usage_error(capsys, monkeypatch, gateway):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"caf\xe9 au lait"), encoding="utf-8"))
    code, out, err = run(capsys, "ask", "-")
    assert code == 2 and out == ""
    assert "stdin is not UTF-8 text (byte 0xe9 at offset 3)" in err
    assert_no_traceback(err)
    assert gateway.chat_requests == []


def test_a_utf8_prompt_on_stdin_with_a_byte_order_mark_is_read(capsys, monkeypatch, gateway):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("\ufeffcafé".encode()), encoding="utf-8"))
    gateway.script(FakeOpenAI.answer("ok"))
    code, out, _err = run(capsys, "ask", "-")
    assert (code, out) == (0, "ok\n")
    assert gateway.chat_requests[0].json["messages"][-1]["content"] == "café"


# --- broken config files --------------------------------------------------------------------------------------


def test_a_byte_order_mark_at_the_start_of_config_toml_is_ignored(capsys, isolated_home):
    config = isolated_home / "config.toml"
    config.write_bytes(b'\xef\xbb\xbf[profiles.x]\nprovider = "ollama"\nmodel = "m"\n')
    code, out, err = run(capsys, "config", "check")
    assert (code, err) == (0, "")
    assert "OK (1 profiles" in out


@pytest.mark.parametrize(
    "content, says",
    [
        ("a = " + "[" * 500 + "]" * 500 + "\n", "nested too deeply"),
        ("x = {" * 400 + "}" * 400 + "\n", "nested too deeply"),
        (b"default_profile = \"caf\xe9\"\n", "is not UTF-8 text (byte 0xe9 at offset 22)"),
        ("[providers.ollama]\nbase_url = \"http://bob:hunter22@127.0.0.1:11434\"\n", "must not contain a user name or password"),
        ("ui = 5\nprofiles = []\nproviders = \"x\"\n", "config.toml"),
    ],
    ids=["deep-arrays", "deep-inline-tables", "not-utf8", "userinfo", "wrong-types"],
)
def test_a_broken_config_is_one_located_sentence_and_exit_2(capsys, isolated_home, content, says):
    config = isolated_home / "config.toml"
    data = content if isinstance(content, bytes) else content.encode()
    config.write_bytes(data)
    for argv in (["config", "check"], ["status", "--no-probe"], ["ask", "hi"]):
        code, out, err = run(capsys, *argv)
        assert code == 2, (argv, out, err)
        assert says in out + err
        assert "hunter22" not in out + err and "Traceback" not in err
    assert config.read_bytes() == data  # left untouched


def test_a_huge_config_file_is_refused_without_reading_it(capsys, isolated_home):
    config = isolated_home / "config.toml"
    with config.open("wb") as f:
        f.truncate(5_000_000)
    code, _out, err = run(capsys, "status", "--no-probe")
    assert code == 2 and "larger than 4 MB" in err
    assert_no_traceback(err)


def test_userinfo_in_base_url_is_a_located_error_that_never_shows_the_password(capsys, isolated_home):
    (isolated_home / "config.toml").write_text('[providers.ollama]\nbase_url = "http://bob:hunter22@127.0.0.1:1/v1"\n')
    code, _out, err = run(capsys, "models")
    assert code == 2
    assert "providers.ollama.base_url" in err and "credentials belong in the key store" in err
    assert "http://•••@127.0.0.1:1/v1" in err and "hunter22" not in err and "bob" not in err


def test_control_characters_written_as_toml_escapes_are_located_config_errors(capsys, isolated_home):
    (isolated_home / "config.toml").write_text(
        '[profiles."a\\u001b[2Jb"]\nprovider = "ollama"\nmodel = "m\\u001b]0;x\\u0007"\nsystem = "two\\nlines\\tand a tab"\n'
        '[providers.ollama]\ndisplay_name = "Oll\\u202eama"\n'
    )
    code, out, err = run(capsys, "config", "check")
    assert code == 2
    assert out.splitlines() == [
        f'{isolated_home / "config.toml"}: profiles."a\\u001b[2Jb": a name with control characters is not allowed; rename it',
        f'{isolated_home / "config.toml"}: profiles."a\\u001b[2Jb".model: contains control characters or bidi overrides (a terminal escape?); remove them',
        f'{isolated_home / "config.toml"}: providers.ollama.display_name: contains control characters or bidi overrides (a terminal escape?); remove them',
    ]
    assert_terminal_safe(out, err)


def test_an_undecodable_api_key_on_stdin_is_a_usage_error(capsys, monkeypatch, isolated_home):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"sk-\xff\xfe\n"), encoding="utf-8"))
    code, out, err = run(capsys, "login", "openai")
    assert (code, out) == (2, "")
    assert "the API key for openai on stdin is not UTF-8 text" in err
    assert_no_traceback(err)


def test_an_unexpected_failure_is_one_sentence_without_verbose_and_a_traceback_with_it(capsys, monkeypatch, isolated_home):
    async def broken(*args, **kwargs):
        raise RuntimeError("something \x1b]0;odd\x07 happened")

    monkeypatch.setattr("tui_agent.headless.status", broken)
    code, out, err = run(capsys, "status", "--no-probe")
    assert (code, out) == (1, "")
    assert err == "tui-agent: unexpected failure (RuntimeError: something  happened); please report it — `--verbose` shows the traceback\n"
    with pytest.raises(RuntimeError):
        main(["status", "--no-probe", "--verbose"])
