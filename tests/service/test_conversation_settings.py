"""Per-conversation settings end to end: what `/system` and `/set` put on the wire of every provider, stored and
reopened from history; the context window and cost the session learns from each provider."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import FakeAnthropic, FakeOllama, FakeOpenAI
from tui_agent.config.load import load_config
from tui_agent.config.paths import Paths
from tui_agent.core.events import Done, Usage
from tui_agent.service.agent import AgentService
from tui_agent.service.settings import SettingError

KEY = "sk-test-0123456789abcdefghijKLMN"


@pytest.fixture
async def service(isolated_home: Path, monkeypatch):
    with FakeAnthropic(models=["claude-sonnet-4-5"]) as anthropic, FakeOpenAI() as openai, \
            FakeOpenAI(openrouter=True, models=["vendor/some-model"]) as openrouter, FakeOllama() as ollama:
        (isolated_home / "config.toml").write_text(
            f'[providers.anthropic]\nbase_url = "{anthropic.base_url}"\n'
            f'[providers.openai]\nbase_url = "{openai.base_url}"\n'
            f'[providers.openrouter]\nbase_url = "{openrouter.base_url}"\n'
            f'[providers.ollama]\nbase_url = "{ollama.base_url}"\n'
            f'[providers.gw]\nkind = "openai-chat"\nbase_url = "{openai.base_url}"\n'
            '[profiles.claude]\nprovider = "anthropic"\nmodel = "claude-sonnet-4-5"\n'
            '[profiles.gpt]\nprovider = "openai"\nmodel = "gpt-test"\n'
            '[profiles.listed]\nprovider = "openai"\nmodel = "gpt-4o-2024-08-06"\n'
            '[profiles.router]\nprovider = "openrouter"\nmodel = "vendor/some-model"\n'
            '[profiles.local]\nprovider = "ollama"\nmodel = "llama3.2:latest"\n'
            '[profiles.gateway]\nprovider = "gw"\nmodel = "gpt-test"\ntemperature = 0.2\ntop_p = 0.9\nsystem = "Be brief."\n'
            '[profiles.thinker]\nprovider = "gw"\nmodel = "gpt-test"\nreasoning = "low"\n'
            '[profiles.cli]\nprovider = "claude-code"\nmodel = "sonnet"\n'
        )
        for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "OPENROUTER_API_KEY"):
            monkeypatch.setenv(name, KEY)
        paths = Paths.resolve()
        svc = AgentService(load_config(paths.config_file), paths)
        svc.fakes = {"claude": anthropic, "gpt": openai, "router": openrouter, "local": ollama, "gateway": openai,
                     "thinker": openai}
        yield svc
        await svc.aclose()


async def drain(stream):
    return [event async for event in stream]


async def sent_body(service, profile: str, settings: dict[str, str], text: str = "hi") -> dict:
    """The JSON body the provider received for one turn after `/set NAME VALUE` for each of `settings`."""
    session = service.chat_session(profile)
    for name, value in settings.items():
        if name == "system":
            await session.set_system(value)
        else:
            await session.set_parameter(name, value)
    events = await drain(session.send(text))
    assert isinstance(events[-1], Done), events[-1]
    return service.fakes[profile].chat_requests[-1].json


async def test_the_conversations_system_prompt_and_parameters_override_the_profiles(service):
    body = await sent_body(service, "gateway", {"system": "Answer in French.", "temperature": "0.7"})
    assert body["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert body["temperature"] == 0.7 and body["top_p"] == 0.9  # top_p still the profile's


async def test_system_off_sends_no_system_prompt_even_when_the_profile_has_one(service):
    body = await sent_body(service, "gateway", {"system": ""})
    assert [m["role"] for m in body["messages"]] == ["user"]


@pytest.mark.parametrize("profile, settings, expected", [
    # Anthropic: a documented thinking budget per level; max_tokens stays above it (budget + the answer's room).
    ("claude", {"reasoning": "low"}, {"thinking": {"type": "enabled", "budget_tokens": 1024}, "max_tokens": 1024 + 8192}),
    ("claude", {"reasoning": "high", "max_tokens": "500"}, {"thinking": {"type": "enabled", "budget_tokens": 16000},
                                                            "max_tokens": 16500}),
    ("claude", {"reasoning": "off"}, {"thinking": {"type": "disabled"}, "max_tokens": 8192}),
    ("claude", {"system": "Be terse.", "temperature": "0.5", "top_p": "0.8", "max_tokens": "300"},
     {"system": "Be terse.", "temperature": 0.5, "top_p": 0.8, "max_tokens": 300}),
    ("gpt", {"reasoning": "high"}, {"reasoning_effort": "high"}),
    ("gpt", {"reasoning": "off"}, {"reasoning_effort": "none"}),
    ("gpt", {"temperature": "1.5", "top_p": "0.3", "max_tokens": "64"}, {"temperature": 1.5, "top_p": 0.3, "max_tokens": 64}),
    ("router", {"reasoning": "medium"}, {"reasoning": {"effort": "medium"}}),
    ("router", {"reasoning": "off"}, {"reasoning": {"effort": "none"}}),
    ("gateway", {"reasoning": "low"}, {"reasoning_effort": "low"}),
    ("thinker", {}, {"reasoning_effort": "low"}),  # from the profile's `reasoning = "low"`
    ("local", {"reasoning": "medium"}, {"think": "medium"}),
    ("local", {"reasoning": "off"}, {"think": False}),
    ("local", {"system": "Be terse.", "temperature": "0.1", "top_p": "0.5", "max_tokens": "32"},
     {"options": {"temperature": 0.1, "top_p": 0.5, "num_predict": 32}}),
])
async def test_each_setting_reaches_each_provider_under_its_own_name(service, profile, settings, expected):
    body = await sent_body(service, profile, settings)
    assert {key: body.get(key) for key in expected} == expected
    if "system" in settings and profile != "claude":
        assert body["messages"][0] == {"role": "system", "content": settings["system"]}


async def test_an_unset_reasoning_sends_nothing(service):
    for profile, absent in (("claude", "thinking"), ("gpt", "reasoning_effort"), ("router", "reasoning"), ("local", "think")):
        assert absent not in await sent_body(service, profile, {})


async def test_settings_are_stored_with_the_conversation_and_come_back_when_it_is_reopened(service):
    session = service.chat_session("gateway")
    await session.set_system("Use haiku.")  # before the first message: stored when the conversation is created
    await drain(session.send("first"))
    await session.set_parameter("reasoning", "high")
    reopened = service.chat_session("gateway")
    await reopened.open(session.conversation_id)
    assert reopened.settings == {"system": "Use haiku.", "reasoning": "high"}
    await drain(reopened.send("second"))
    body = service.fakes["gateway"].chat_requests[-1].json
    assert body["messages"][0]["content"] == "Use haiku." and body["reasoning_effort"] == "high"
    await reopened.set_parameter("reasoning", "default")
    assert (await service.history.settings(session.conversation_id)) == {"system": "Use haiku."}


@pytest.mark.parametrize("name, value, words", [
    ("temperature", "5", "temperature: must be a number from 0 to 2"),
    ("top_p", "zero", "top_p: must be a number more than 0 and at most 1"),
    ("max_tokens", "1.5", "max_tokens: must be a whole number"),
    ("reasoning", "hgih", "did you mean `high`?"),
    ("temprature", "1", "Unknown setting `temprature`"),
])
async def test_a_bad_value_is_one_sentence_and_changes_nothing(service, name, value, words):
    session = service.chat_session("gateway")
    await session.set_parameter("temperature", "0.4")
    with pytest.raises(SettingError) as err:
        await session.set_parameter(name, value)
    assert words in str(err.value) and str(err.value).endswith("Nothing changed.")
    assert session.settings == {"temperature": 0.4}


async def test_set_alone_lists_each_value_and_where_it_comes_from(service):
    session = service.chat_session("gateway")
    await session.set_parameter("temperature", "0.9")
    lines = session.describe_settings().splitlines()
    assert any("temperature" in line and "0.9" in line and "(conversation)" in line for line in lines)
    assert any("top_p" in line and "0.9" in line and "(profile)" in line for line in lines)
    assert any("max_tokens" in line and "not sent" in line and "(provider default)" in line for line in lines)
    assert any("system" in line and "Be brief." in line and "(profile" in line for line in lines)
    claude = service.chat_session("claude")
    assert any("max_tokens" in line and "8192" in line and "(provider default)" in line
               for line in claude.describe_settings().splitlines())


async def test_the_claude_cli_says_it_cannot_take_a_parameter(service):
    session = service.chat_session("cli")
    sentence = await session.set_parameter("temperature", "0.3")
    assert "The Claude Code CLI cannot take temperature" in sentence
    assert "not applied by this provider" in session.describe_settings()


async def test_costs_come_from_openrouters_prices_and_the_shipped_table_and_are_unknown_otherwise(service):
    router = service.chat_session("router")
    usage = [e for e in await drain(router.send("hi")) if isinstance(e, Usage)][-1]
    # The fake lists $3 / $15 per million tokens and reports 9 in, 3 out.
    assert usage.cost_usd == pytest.approx((9 * 3 + 3 * 15) / 1_000_000)
    assert router.context_window() == 128000

    claude = service.chat_session("claude")
    usage = [e for e in await drain(claude.send("hi")) if isinstance(e, Usage)][-1]
    assert usage.cost_usd == pytest.approx((usage.input_tokens * 3 + usage.output_tokens * 15) / 1_000_000)
    assert claude.context_window() == 200000

    gateway = service.chat_session("gateway")
    usage = [e for e in await drain(gateway.send("hi")) if isinstance(e, Usage)][-1]
    assert usage.cost_usd is None and gateway.context_window() is None  # never a guess


async def test_a_model_the_shipped_table_prices_is_not_asked_about_and_one_it_does_not_is(service):
    openai = service.fakes["gpt"]
    facts = await service.model_facts(service.resolve("listed"))
    assert (facts.context_window, facts.input_usd_per_mtok, facts.output_usd_per_mtok) == (128000, 2.5, 10.0)
    assert not openai.requests  # nothing a model list says would change the table's window and prices
    facts = await service.model_facts(service.resolve("gpt"))
    assert facts.context_window is None  # not listed in the table: the provider is asked, and says nothing
    assert [r.path for r in openai.requests] == ["/v1/models"]


async def test_ollamas_context_length_comes_from_api_show_and_fullness_is_counted(service):
    session = service.chat_session("local")
    assert session.context_fill() is None  # not known before the provider is asked
    await drain(session.send("x" * 400))
    assert session.context_window() == 131072
    fill = session.context_fill()
    assert fill is not None and fill.window == 131072 and fill.tokens == 26 + 282  # the answer's own counts
    assert any(r.path == "/api/show" and r.json == {"model": "llama3.2:latest"} for r in service.fakes["local"].requests)


async def test_a_message_that_cannot_fit_is_warned_about_before_it_is_sent(service):
    session = service.chat_session("claude")
    assert session.will_not_fit("short question") is None
    warning = session.will_not_fit("word " * 200_000)
    assert warning is not None and "will not fit" in warning and "200,000" in warning
