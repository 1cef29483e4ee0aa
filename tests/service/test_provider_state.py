"""Request outcomes move the provider's state for every view: the service's one provider-state authority."""

from __future__ import annotations

import pytest

from tests.fakes._server import Reply
from tests.fakes.fake_openai import FakeOpenAI
from tests.ui.support import closed_port
from tui_agent.config.load import load_config
from tui_agent.config.paths import Paths
from tui_agent.core.chat import ChatMessage
from tui_agent.service.agent import AgentService, collect_text, usable

KEY = "sk-test-provider-state-0123456789"
NEW_KEY = "sk-test-provider-state-new-98765"


def make_service(home, base_url: str, *, auth: str = "api-key", env: dict | None = None) -> AgentService:
    (home / "config.toml").write_text(
        f'[providers.gw]\nkind = "openai-chat"\nbase_url = "{base_url}"\nauth = ["{auth}"]\napi_key_env = "GW_KEY"\n'
        '[profiles.gw]\nprovider = "gw"\nmodel = "gpt-test"\n'
    )
    paths = Paths.resolve()
    return AgentService(load_config(paths.config_file), paths, env=env or {})


async def ask(service):
    return await collect_text(service.send("gw", [ChatMessage("user", "hi")]))


@pytest.fixture
def fake():
    with FakeOpenAI(api_key=KEY) as server:
        yield server


async def test_a_refused_key_is_error_with_the_fix_until_a_new_key_or_a_success(isolated_home, fake):
    service = make_service(isolated_home, fake.base_url)
    try:
        await service.save_api_key("gw", "sk-wrong-key-000000000000")
        assert (await service.credential_status("gw")).state.value == "ready"  # the probe cannot know
        await ask(service)  # 401
        status = await service.credential_status("gw")
        assert status.state.value == "error"
        assert status.detail.startswith("the server refused the key 0 s ago (HTTP 401); run `tui-agent login gw`")
        assert not usable(status)[0]
        assert (await service.credential_status("gw", probe=True)).state.value == "error"  # a probe never clears it
        assert service.last_status("gw").state.value == "error"  # published to every subscriber

        await service.save_api_key("gw", KEY)
        assert (await service.credential_status("gw")).state.value == "ready"  # a new key: the refusal was the old one's
        fake.script(fake.answer("fine"))
        text, _ = await ask(service)
        assert text == "fine" and (await service.credential_status("gw")).state.value == "ready"
    finally:
        await service.aclose()


async def test_a_refused_environment_key_says_to_set_a_valid_one(isolated_home, fake):
    service = make_service(isolated_home, fake.base_url, env={"GW_KEY": "sk-env-wrong-0000000000"})
    try:
        await ask(service)
        status = await service.credential_status("gw")
        assert status.state.value == "error" and "set a valid GW_KEY" in status.detail
    finally:
        await service.aclose()


@pytest.mark.parametrize(
    "reply,line",
    [
        (Reply.html(502), "last request failed: HTTP 502 (not the JSON expected: an HTML page or garbage) 0 s ago"),
        (FakeOpenAI.error(503, "busy", "server_error"), "last request failed: HTTP 503 (server error) 0 s ago"),
        (FakeOpenAI.error(429, "slow down", "rate_limit_exceeded", headers={"retry-after": "120"}),
         "last request failed: HTTP 429 (rate limited, retry in 120 s) 0 s ago"),
    ],
    ids=["html-502", "503", "429"],
)
async def test_server_failures_leave_the_state_and_add_a_second_line_until_a_success(isolated_home, fake, reply, line):
    service = make_service(isolated_home, fake.base_url, env={"GW_KEY": KEY})
    try:
        fake.script(*[reply] * 6)  # every retry meets the same failure
        await ask(service)
        status = await service.credential_status("gw")
        assert status.state.value == "ready" and status.last_failure == line
        fake._queues.clear()  # the retries left some failures queued
        fake.script(fake.answer("back"))
        await ask(service)
        assert (await service.credential_status("gw")).last_failure == ""
    finally:
        await service.aclose()


async def test_a_server_that_cannot_be_reached_is_unreachable_with_what_failed(isolated_home):
    service = make_service(isolated_home, f"http://127.0.0.1:{closed_port()}/v1", env={"GW_KEY": KEY})
    try:
        await ask(service)
        status = await service.credential_status("gw", probe=False)
        assert status.state.value == "unreachable"
        assert status.detail.startswith("the last request could not reach it 0 s ago: Could not connect to")
    finally:
        await service.aclose()


async def test_a_model_list_that_cannot_be_read_is_not_asked_for_again_before_every_answer(isolated_home, fake):
    service = make_service(isolated_home, fake.base_url, env={"GW_KEY": "sk-wrong-for-models-000000"})
    try:
        session = service.chat_session("gw", persist=False)
        for _ in range(3):
            await collect_text(session.send("hi"))
        listings = [r for r in fake.requests if r.path.endswith("/models")]
        assert len(listings) == 1  # asked once; the picker's or panel's refresh asks again
    finally:
        await service.aclose()
