"""ClaudeCliAdapter against a fake `claude` that replays recorded stream-json lines."""

from __future__ import annotations

import asyncio
import os
import signal

import httpx
import pytest

from tests.claude.conftest import recording
from tui_agent.core.credentials import NO_CREDENTIAL
from tui_agent.config.schema import ProviderConfig
from tui_agent.providers import claude_cli
from tui_agent.core.chat import ChatMessage, ChatRequest
from tui_agent.providers.claude_cli import ClaudeCliAdapter
from tui_agent.core.events import Done, StreamFailed, TextDelta, ThinkingDelta, Usage

ANSWER = "Hello there (turn with 1 messages)"  # the text in success_thinking.jsonl


@pytest.fixture
async def client():
    async with httpx.AsyncClient() as c:
        yield c


@pytest.fixture
def workdir(tmp_path):
    return tmp_path / "state" / "claude-cwd"


@pytest.fixture
async def make_adapter(provider, client, workdir, user_env):
    made: list[ClaudeCliAdapter] = []

    def make(**options) -> ClaudeCliAdapter:
        made.append(ClaudeCliAdapter(provider, client, workdir, env=user_env, sigterm_after=0.05, sigkill_after=0.1, **options))
        return made[-1]

    yield make
    for adapter in made:
        await adapter.aclose()


@pytest.fixture
def adapter(make_adapter):
    return make_adapter()


def ask(*texts: str, conversation: str | None = "conv-1", system: str | None = None, model: str = "sonnet") -> ChatRequest:
    roles = ["user", "assistant"]
    messages = [ChatMessage(roles[i % 2], text) for i, text in enumerate(texts)]  # type: ignore[arg-type]
    return ChatRequest(model=model, messages=messages, system=system, conversation_id=conversation)


async def collect(adapter: ClaudeCliAdapter, request: ChatRequest) -> list:
    return [event async for event in adapter.stream(request, NO_CREDENTIAL)]


def terminal_only_at_end(events: list) -> bool:
    terminals = [i for i, e in enumerate(events) if isinstance(e, (Done, StreamFailed))]
    return terminals == [len(events) - 1]


def flag_value(argv: list[str], flag: str) -> str | None:
    for i, arg in enumerate(argv):
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
    return None


def process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


# --- a normal answer -----------------------------------------------------------------------------------------


async def test_answer_streams_thinking_and_text_then_usage_with_cost_then_done(adapter, fake_claude):
    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])

    events = await collect(adapter, ask("Say hello"))

    assert [e for e in events if isinstance(e, ThinkingDelta)] == [ThinkingDelta("Let me think.")]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == ANSWER
    assert Usage(input_tokens=11, output_tokens=6, cost_usd=0.000123) in events
    assert events[-1] == Done(stop_reason="end_turn")
    assert terminal_only_at_end(events)


async def test_cli_runs_as_a_chat_backend_with_tools_mcp_and_project_settings_off(adapter, fake_claude, workdir):
    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])

    await collect(adapter, ask("Say hello", system="Be brief.", model="opus"))

    [call] = fake_claude.print_calls()
    argv = call["argv"]
    for flag in ("-p", "--verbose", "--include-partial-messages", "--strict-mcp-config", "--disable-slash-commands"):
        assert flag in argv
    assert flag_value(argv, "--output-format") == "stream-json"
    assert flag_value(argv, "--input-format") == "stream-json"
    assert flag_value(argv, "--tools") == ""
    assert flag_value(argv, "--setting-sources") == "user"
    assert flag_value(argv, "--model") == "opus"
    assert flag_value(argv, "--system-prompt") == "Be brief."
    assert "--bare" not in argv  # --bare would ignore the subscription login
    assert call["cwd"] == str(workdir) and workdir.is_dir() and os.listdir(workdir) == []
    # The prompt goes on stdin as one stream-json user line, never into argv.
    assert call["stdin_line"] == {"type": "user", "message": {"role": "user", "content": "Say hello"},
                                  "parent_tool_use_id": None, "session_id": "default"}
    assert "Say hello" not in argv


async def test_without_a_system_prompt_a_plain_chat_prompt_replaces_the_coding_agent_one(adapter, fake_claude):
    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])

    await collect(adapter, ask("Say hello"))

    assert flag_value(fake_claude.print_calls()[0]["argv"], "--system-prompt") == claude_cli.DEFAULT_SYSTEM


async def test_child_env_drops_exported_anthropic_keys_and_passes_the_oauth_token_through(adapter, fake_claude, user_env):
    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])
    before = dict(user_env)

    await collect(adapter, ask("Say hello"))

    env = fake_claude.print_calls()[0]["env"]
    assert "ANTHROPIC_API_KEY" not in env
    assert "ANTHROPIC_AUTH_TOKEN" not in env
    assert env["CLAUDE_CODE_OAUTH_TOKEN"] == user_env["CLAUDE_CODE_OAUTH_TOKEN"]
    assert env["HOME"] == user_env["HOME"]
    assert user_env == before  # the caller's mapping is not touched


async def test_api_key_source_and_model_from_the_init_line_are_recorded(adapter, fake_claude):
    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])
    assert adapter.last_api_key_source is None

    await collect(adapter, ask("Say hello"))

    assert adapter.last_api_key_source == "none"  # a login or CLAUDE_CODE_OAUTH_TOKEN, not an API key
    assert adapter.last_model == "claude-sonnet-5"


async def test_list_models_offers_the_cli_aliases(adapter):
    models = await adapter.list_models(NO_CREDENTIAL)

    assert [m.id for m in models] == ["sonnet", "opus", "haiku"]
    assert {m.provider for m in models} == {"claude-code"}


# --- failures ------------------------------------------------------------------------------------------------


async def test_not_logged_in_is_one_auth_error_with_the_login_hint(adapter, fake_claude):
    fake_claude.scenario(print=[{"recording": recording("not_logged_in"), "exit": 1}])

    events = await collect(adapter, ask("hi"))

    assert events == [events[-1]]  # the synthetic "Not logged in" message is not shown as an answer
    error = events[-1]
    assert isinstance(error, StreamFailed) and error.kind == "auth"
    assert "not logged in" in error.message and "tui-agent login claude-code" in error.message


async def test_refused_credential_is_an_auth_error(adapter, fake_claude):
    fake_claude.scenario(print=[{"recording": recording("api_error_401"), "exit": 1}])

    [error] = await collect(adapter, ask("hi"))

    assert isinstance(error, StreamFailed)
    assert (error.kind, error.status) == ("auth", 401)
    assert "401" in error.message and "tui-agent login claude-code" in error.message


async def test_rate_limited_answer_is_a_rate_limit_error_in_the_cli_words(adapter, fake_claude):
    fake_claude.scenario(print=[{"recording": recording("api_error_429"), "exit": 1}])

    [error] = await collect(adapter, ask("hi"))

    assert isinstance(error, StreamFailed)
    assert (error.kind, error.status) == ("rate_limit", 429)
    assert "temporarily limiting requests" in error.message
    assert "exit" not in error.message  # the CLI exits 1 on purpose after an error result


async def test_crashing_cli_reports_its_exit_status_and_last_stderr_line(adapter, fake_claude):
    fake_claude.scenario(print=[{"lines": ["this is not json"], "stderr": "starting\nTypeError: boom\n", "exit": 3}])

    events = await collect(adapter, ask("hi"))

    [error] = events
    assert isinstance(error, StreamFailed) and error.kind == "provider"
    assert "status 3" in error.message and "TypeError: boom" in error.message


async def test_cli_that_stops_without_a_result_line_is_an_interrupted_answer(adapter, fake_claude):
    fake_claude.scenario(print=[{"recording": recording("success_thinking"), "take": 12, "exit": 0}])

    events = await collect(adapter, ask("hi"))

    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hello", " there"]
    assert isinstance(events[-1], StreamFailed) and events[-1].kind == "interrupted"
    assert terminal_only_at_end(events)


async def test_missing_binary_is_one_clear_error(client, tmp_path, monkeypatch):
    monkeypatch.setattr(claude_cli, "_bundled_cli", lambda: None)
    provider = ProviderConfig(id="claude-code", kind="claude-cli", auth=["claude-cli"])
    adapter = ClaudeCliAdapter(provider, client, tmp_path / "wd", env={"PATH": str(tmp_path), "HOME": str(tmp_path)})

    [error] = await collect(adapter, ask("hi"))

    assert isinstance(error, StreamFailed)
    assert "Claude Code CLI was not found" in error.message and "npm install -g @anthropic-ai/claude-code" in error.message


async def test_configured_cli_path_that_does_not_exist_is_reported_not_replaced(client, tmp_path, fake_claude):
    provider = ProviderConfig(id="claude-code", kind="claude-cli", auth=["claude-cli"], cli_path=str(tmp_path / "nope"))
    env = {"PATH": str(fake_claude.path.parent), "HOME": str(tmp_path)}  # a working `claude` is on PATH
    adapter = ClaudeCliAdapter(provider, client, tmp_path / "wd", env=env)

    [error] = await collect(adapter, ask("hi"))

    assert isinstance(error, StreamFailed) and "providers.claude-code.cli_path" in error.message
    assert fake_claude.calls() == []


# --- conversations -------------------------------------------------------------------------------------------


async def test_second_turn_goes_to_the_kept_cli_process_with_only_the_new_message(adapter, fake_claude):
    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])

    await collect(adapter, ask("Say hello"))
    events = await collect(adapter, ask("Say hello", ANSWER, "And again?"))

    first, second = fake_claude.print_calls()
    assert second["pid"] == first["pid"]  # no second start-up
    assert second["stdin"] == "And again?"
    assert flag_value(first["argv"], "--session-id") == adapter.last_session_id
    assert "--no-session-persistence" not in first["argv"]
    assert isinstance(events[-1], Done) and "".join(e.text for e in events if isinstance(e, TextDelta)) == ANSWER


async def test_without_a_kept_process_the_second_turn_resumes_the_cli_session(make_adapter, fake_claude):
    adapter = make_adapter(keep_alive=0)
    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])

    await collect(adapter, ask("Say hello"))
    events = await collect(adapter, ask("Say hello", ANSWER, "And again?"))

    first, second = fake_claude.print_calls()
    session = flag_value(first["argv"], "--session-id")
    assert session and flag_value(first["argv"], "--resume") is None
    assert second["pid"] != first["pid"] and process_is_gone(first["pid"])
    assert flag_value(second["argv"], "--resume") == session
    assert flag_value(second["argv"], "--session-id") is None
    assert second["stdin"] == "And again?"
    assert isinstance(events[-1], Done) and adapter.last_session_id == session


async def test_another_model_mid_conversation_moves_the_session_to_a_new_process(adapter, fake_claude):
    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])

    await collect(adapter, ask("Say hello", model="sonnet"))
    await collect(adapter, ask("Say hello", ANSWER, "Now you", model="opus"))
    await adapter.aclose()

    first, second = fake_claude.print_calls()
    assert second["pid"] != first["pid"] and process_is_gone(first["pid"])
    assert flag_value(second["argv"], "--resume") == flag_value(first["argv"], "--session-id")
    assert flag_value(second["argv"], "--model") == "opus" and second["stdin"] == "Now you"


async def test_kept_process_that_died_between_turns_is_replaced_by_resuming_the_session(adapter, fake_claude):
    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])
    await collect(adapter, ask("Say hello"))
    first = fake_claude.print_calls()[0]
    os.kill(first["pid"], signal.SIGKILL)

    events = await collect(adapter, ask("Say hello", ANSWER, "Still there?"))

    second = fake_claude.print_calls()[1]
    assert second["pid"] != first["pid"]
    assert flag_value(second["argv"], "--resume") == flag_value(first["argv"], "--session-id")
    assert second["stdin"] == "Still there?"
    assert not any(isinstance(e, StreamFailed) for e in events) and isinstance(events[-1], Done)


async def test_only_the_most_recent_conversation_keeps_its_process(adapter, fake_claude):
    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])

    await collect(adapter, ask("Say hello", conversation="a"))
    await collect(adapter, ask("Say hello", conversation="b"))
    await collect(adapter, ask("Say hello", ANSWER, "Back to a", conversation="a"))

    a1, b1, a2 = fake_claude.print_calls()
    assert process_is_gone(a1["pid"]) and a2["pid"] != a1["pid"]
    assert flag_value(a2["argv"], "--resume") == flag_value(a1["argv"], "--session-id")
    assert not process_is_gone(a2["pid"])
    await adapter.aclose()
    assert process_is_gone(b1["pid"]) and process_is_gone(a2["pid"])


async def test_idle_kept_process_is_stopped_after_the_idle_timeout(make_adapter, fake_claude):
    adapter = make_adapter(idle_timeout=0.05)
    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])

    await collect(adapter, ask("Say hello"))
    pid = fake_claude.print_calls()[0]["pid"]
    for _ in range(500):  # bounded wait for the timer's effect, not a timing assertion
        if process_is_gone(pid):
            break
        await asyncio.sleep(0.01)

    assert process_is_gone(pid)
    await collect(adapter, ask("Say hello", ANSWER, "Later"))
    assert flag_value(fake_claude.print_calls()[1]["argv"], "--resume")  # the session itself is still valid


async def test_turn_without_a_conversation_ends_its_process(adapter, fake_claude):
    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])

    events = await collect(adapter, ask("Say hello", conversation=None))

    [call] = fake_claude.print_calls()
    assert "--no-session-persistence" in call["argv"] and process_is_gone(call["pid"])
    assert isinstance(events[-1], Done)


async def test_history_the_session_has_not_seen_goes_as_a_transcript_into_a_new_session(adapter, fake_claude):
    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])

    await collect(adapter, ask("Say hello"))
    # The user switched models mid-conversation: the last answer came from another provider.
    await collect(adapter, ask("Say hello", "An answer from another model", "And now?"))

    first, second = fake_claude.print_calls()
    assert flag_value(second["argv"], "--resume") is None
    assert flag_value(second["argv"], "--session-id") not in (None, flag_value(first["argv"], "--session-id"))
    prompt = second["stdin"]
    assert prompt.index("Say hello") < prompt.index("An answer from another model") < prompt.index("And now?")
    assert prompt.rstrip().endswith("And now?")


async def test_reopened_conversation_starts_a_new_session_with_the_transcript(provider, client, workdir, user_env, fake_claude):
    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])
    reopened = ClaudeCliAdapter(provider, client, workdir, env=user_env)  # a new run of tui-agent: no sessions

    await collect(reopened, ask("Say hello", ANSWER, "Still there?"))

    [call] = fake_claude.print_calls()
    assert flag_value(call["argv"], "--session-id") and flag_value(call["argv"], "--resume") is None
    assert "Say hello" in call["stdin"] and ANSWER in call["stdin"] and "Still there?" in call["stdin"]


async def test_turn_after_a_failed_turn_does_not_resume(adapter, fake_claude):
    fake_claude.scenario(print=[
        {"recording": recording("success_thinking")},
        {"recording": recording("api_error_429"), "exit": 1},
        {"recording": recording("success_thinking")},
    ])

    await collect(adapter, ask("Say hello"))
    await collect(adapter, ask("Say hello", ANSWER, "Again"))
    await collect(adapter, ask("Say hello", ANSWER, "Again"))

    third = fake_claude.print_calls()[2]
    assert flag_value(third["argv"], "--resume") is None
    assert "Say hello" in third["stdin"]


async def test_lost_cli_session_is_replaced_by_a_new_one_with_the_transcript(make_adapter, fake_claude):
    adapter = make_adapter(keep_alive=0)
    fake_claude.scenario(print=[
        {"recording": recording("success_thinking")},
        {"recording": recording("resume_missing"), "stderr": "No conversation found with session ID\n", "exit": 1},
        {"recording": recording("success_thinking")},
    ])

    await collect(adapter, ask("Say hello"))
    events = await collect(adapter, ask("Say hello", ANSWER, "And again?"))

    calls = fake_claude.print_calls()
    assert [flag_value(c["argv"], "--resume") is not None for c in calls] == [False, True, False]
    assert "Say hello" in calls[2]["stdin"] and "And again?" in calls[2]["stdin"]
    assert not any(isinstance(e, StreamFailed) for e in events)
    assert isinstance(events[-1], Done)


# --- cancellation --------------------------------------------------------------------------------------------

PARTIAL = {"recording": recording("success_thinking"), "take": 11, "hang": True}  # through the first text delta


async def first_text(stream) -> TextDelta:
    async for event in stream:
        if isinstance(event, TextDelta):
            return event
    raise AssertionError("no text arrived")


async def test_closing_the_stream_sends_sigint_to_the_cli_process_group(adapter, fake_claude):
    fake_claude.scenario(print=[PARTIAL])
    stream = adapter.stream(ask("Say hello"), NO_CREDENTIAL)

    assert (await first_text(stream)).text == "Hello"
    await stream.aclose()

    [call] = fake_claude.print_calls()
    assert call["pgid"] == call["pid"]  # started in its own process group
    assert fake_claude.signals() == ["SIGINT"]
    assert process_is_gone(call["pid"])


async def test_cli_that_ignores_sigint_and_sigterm_is_killed(adapter, fake_claude):
    fake_claude.scenario(print=[dict(PARTIAL, ignore_sigint=True, ignore_sigterm=True)])
    stream = adapter.stream(ask("Say hello"), NO_CREDENTIAL)

    await first_text(stream)
    await stream.aclose()

    [call] = fake_claude.print_calls()
    assert fake_claude.signals() == ["SIGINT", "SIGTERM"]  # then SIGKILL, which cannot be recorded
    assert process_is_gone(call["pid"])


async def test_cancelling_the_task_stops_the_cli_and_the_next_turn_does_not_resume(adapter, fake_claude):
    fake_claude.scenario(print=[PARTIAL, {"recording": recording("success_thinking")}])
    got_text = asyncio.Event()

    async def consume():
        async for event in adapter.stream(ask("Say hello"), NO_CREDENTIAL):
            if isinstance(event, TextDelta):
                got_text.set()

    task = asyncio.create_task(consume())
    await got_text.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    first = fake_claude.print_calls()[0]
    assert fake_claude.signals() == ["SIGINT"] and process_is_gone(first["pid"])

    events = await collect(adapter, ask("Say hello", "Hello", "Go on"))  # the partial answer was kept as "Hello"
    second = fake_claude.print_calls()[1]
    assert flag_value(second["argv"], "--resume") is None and "Say hello" in second["stdin"]
    assert isinstance(events[-1], Done)


async def test_after_the_cli_login_changes_the_kept_process_is_not_reused(adapter, fake_claude, provider, user_env):
    from tui_agent.auth.claude_cli import find_claude_cli, run_logout

    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])
    await collect(adapter, ask("Say hello"))
    await run_logout(find_claude_cli(provider, user_env), user_env)

    await collect(adapter, ask("Say hello", ANSWER, "Who am I now?"))

    first, second = fake_claude.print_calls()
    assert second["pid"] != first["pid"] and process_is_gone(first["pid"])
    assert flag_value(second["argv"], "--resume") == flag_value(first["argv"], "--session-id")


async def test_a_new_token_in_the_environment_is_not_served_by_the_kept_process(adapter, fake_claude, user_env):
    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])
    await collect(adapter, ask("Say hello"))
    user_env["CLAUDE_CODE_OAUTH_TOKEN"] = "sk-ant-oat01-a-newer-token"

    await collect(adapter, ask("Say hello", ANSWER, "Again"))

    first, second = fake_claude.print_calls()
    assert second["pid"] != first["pid"]
    assert second["env"]["CLAUDE_CODE_OAUTH_TOKEN"] == "sk-ant-oat01-a-newer-token"


async def test_continue_on_claude_code_sends_the_answer_so_far_and_a_user_turn_asking_to_go_on(adapter, fake_claude):
    """The CLI takes only user turns: /continue's fallback reaches it as the transcript plus the request to go on."""
    from datetime import datetime, timezone

    from tui_agent.service.chat_session import CONTINUE_PROMPT, continue_messages
    from tui_agent.service.history import Message

    now = datetime.now(timezone.utc)
    branch = [
        Message(1, 1, "user", "Say hello", "complete", now, now),
        Message(2, 1, "assistant", "Hello, and wel", "stopped", now, now, parent_id=1),
    ]
    plan, messages = continue_messages(branch, "claude-cli")
    assert plan.how == "ask" and "Claude Code CLI" in plan.note
    fake_claude.scenario(print=[{"recording": recording("success_thinking")}])
    events = await collect(adapter, ChatRequest(model="sonnet", messages=messages, conversation_id="conv-9"))

    [call] = fake_claude.print_calls()
    assert "<assistant>\nHello, and wel\n</assistant>" in call["stdin"]
    assert call["stdin"].endswith(CONTINUE_PROMPT)
    assert isinstance(events[-1], Done)
