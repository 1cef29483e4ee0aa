"""One live writer per conversation: a second tui-agent never appends into a conversation another one has open."""

from __future__ import annotations

import pytest

from tests.ui.support import make_app, wait_until
from tests.ui.test_chat_history import SIZE, shown, stored_conversation
from tui_agent.config.load import load_config
from tui_agent.service.agent import AgentService
from tui_agent.service.claims import ConversationBusy, ConversationClaims
from tui_agent.ui.widgets.message import AssistantMessage, Note


def test_a_claim_excludes_another_holder_until_released(tmp_path):
    first, second = ConversationClaims(tmp_path), ConversationClaims(tmp_path)
    assert first.claim(7) and first.claim(7)  # claiming again what one holds is fine
    assert not second.claim(7)
    assert second.claim(8)
    first.release(7)
    assert second.claim(7)


async def test_a_conversation_open_elsewhere_is_not_opened_and_nothing_is_appended(home):
    app, _ = make_app(home)
    cid = stored_conversation(app, 1)
    other = AgentService(load_config(app.paths.config_file), app.paths)  # "another window" holding it
    assert other.claims.claim(cid)
    try:
        session = app.service.chat_session("fake")
        with pytest.raises(ConversationBusy, match=f"conversation {cid} is open in another tui-agent window"):
            await session.open(cid)
        assert session.conversation_id is None  # a send now starts a new conversation
    finally:
        await other.aclose()
        await app.service.aclose()


async def test_the_second_window_starts_a_new_conversation_and_says_so(home):
    app, _ = make_app(home)
    cid = stored_conversation(app, 1)
    other = AgentService(load_config(app.paths.config_file), app.paths)
    other.claims.claim(cid)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(
                pilot, lambda: any("open in another tui-agent window" in str(n.render()) for n in shown(app, Note)),
                "the sentence that the last conversation is open elsewhere",
            )
            assert app.screen.conversation_id is None and not shown(app, AssistantMessage)
    finally:
        await other.aclose()


async def test_a_closed_window_frees_its_conversation(home):
    app, _ = make_app(home)
    cid = stored_conversation(app, 1)
    other = AgentService(load_config(app.paths.config_file), app.paths)
    other.claims.claim(cid)
    await other.aclose()  # the other window ends
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.screen.conversation_id == cid, "the last conversation to open")
