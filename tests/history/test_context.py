"""Fitting a conversation into a context window: whole turns cut from the oldest end, never the newest question."""

from __future__ import annotations

from tui_agent.core.chat import ChatMessage
from tui_agent.service.context import MESSAGE_OVERHEAD, estimate_tokens, fit_context


def _conversation(turns: int, size: int = 400) -> list[ChatMessage]:
    messages = []
    for n in range(turns):
        messages.append(ChatMessage("user", f"q{n} " + "x" * size))
        messages.append(ChatMessage("assistant", f"a{n} " + "y" * size))
    return messages


def _cost(messages) -> int:
    return sum(estimate_tokens(m.content) + MESSAGE_OVERHEAD for m in messages)


def test_default_estimate_is_about_four_characters_a_token():
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2
    assert estimate_tokens("x" * 4000) == 1000


def test_a_conversation_that_fits_is_sent_whole():
    messages = _conversation(3)
    fitted = fit_context(messages, context_window=10_000)
    assert fitted.messages == messages
    assert (fitted.turns_cut, fitted.messages_cut, fitted.trimmed, fitted.over_budget) == (0, 0, False, False)
    assert fitted.tokens == _cost(messages)


def test_oldest_whole_turns_are_cut_until_the_rest_fits():
    messages = _conversation(10) + [ChatMessage("user", "the newest question")]
    per_turn = _cost(messages[:2])
    window = _cost(messages[-1:]) + 3 * per_turn + per_turn // 2  # room for the question and 3.5 turns
    fitted = fit_context(messages, context_window=window)
    assert fitted.messages == messages[-7:]
    assert fitted.messages[0].role == "user" and fitted.messages[0].content.startswith("q7 ")
    assert (fitted.turns_cut, fitted.messages_cut) == (7, 14)
    assert fitted.tokens == _cost(messages[-7:]) <= window
    assert fitted.trimmed and not fitted.over_budget


def test_reserve_leaves_room_for_the_system_prompt_and_the_answer():
    messages = _conversation(4)
    everything = _cost(messages)
    assert fit_context(messages, context_window=everything).turns_cut == 0
    assert fit_context(messages, context_window=everything, reserve=1).turns_cut == 1


def test_the_newest_user_turn_is_kept_even_when_it_alone_is_too_big():
    messages = _conversation(2) + [ChatMessage("user", "z" * 10_000)]
    fitted = fit_context(messages, context_window=100)
    assert fitted.messages == messages[-1:]
    assert fitted.turns_cut == 2
    assert fitted.over_budget


def test_a_custom_estimator_is_used():
    messages = _conversation(4, size=10)
    one_token_each = fit_context(messages, context_window=2 * (1 + MESSAGE_OVERHEAD), estimate=lambda text: 1)
    assert one_token_each.messages == messages[-2:]
    assert one_token_each.turns_cut == 3


def test_stored_history_messages_can_be_fitted_directly(store):
    conversation = store.create_conversation()
    for n in range(5):
        store.add_message(conversation.id, "user", f"question {n} " + "q" * 400)
        store.add_message(conversation.id, "assistant", f"answer {n} " + "a" * 400)
    stored = store.messages(conversation.id)
    fitted = fit_context(stored, context_window=_cost(stored[-4:]))
    assert [m.id for m in fitted.messages] == [m.id for m in stored[-4:]]
    assert fitted.turns_cut == 3


def test_messages_before_the_first_question_form_their_own_turn():
    messages = [ChatMessage("assistant", "w" * 4000)] + _conversation(1, size=8)
    fitted = fit_context(messages, context_window=_cost(messages[1:]))
    assert fitted.messages == messages[1:]
    assert (fitted.turns_cut, fitted.messages_cut) == (1, 1)
