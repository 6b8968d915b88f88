"""The bounded conversation (codeact.context) on its own: elision, summaries, cache markers."""

from __future__ import annotations

from codeact.context import Compactor, Conversation, with_cache_markers


def compact(compactor, conversation, summarize=None):
    """Drive a compaction, answering its summary request (if any) with ``summarize``."""
    compaction = compactor.compact(conversation, summarize is not None)
    try:
        request = next(compaction)
        while True:
            request = compaction.send(summarize(request))
    except StopIteration as done:
        return done.value


def conversation_of(steps: int, observation_chars: int = 5_000) -> Conversation:
    conversation = Conversation.start("system prompt")
    conversation.add("task", [{"role": "user", "content": "the task"}])
    for i in range(1, steps + 1):
        reply = {"role": "assistant", "content": f"```python\nprint(step_{i})\n```"}
        seen = {"role": "user", "content": f"Observation {i}:\n" + "x" * observation_chars}
        conversation.add("step", [reply, seen], step=i)
    return conversation


def test_under_the_limit_nothing_changes():
    conversation = conversation_of(3)
    before = conversation.messages()
    assert compact(Compactor(limit=100_000), conversation) is None
    assert conversation.messages() == before


def test_older_observations_are_elided_and_the_rest_stays_verbatim():
    conversation = conversation_of(10)
    before = conversation.messages()

    note = compact(Compactor(limit=8_000, keep_recent=3), conversation)

    after = conversation.messages()
    assert note == "elided the observations of 7 older steps"
    assert after[:2] == before[:2]  # system prompt and task
    assert after[-6:] == before[-6:]  # the three recent steps
    old_observation = after[3]["content"]
    assert old_observation.startswith("Observation 1:\nxxx")
    assert "shortened to save context: it was 5,015 characters" in old_observation
    assert after[2] == before[2]  # the reply (the code) of an old step stays
    assert conversation.tokens() < 8_000


def test_old_steps_still_over_a_quarter_of_the_limit_after_eliding_are_summarised_once():
    conversation = conversation_of(40, observation_chars=2_000)
    requests = []

    def summarize(messages):
        requests.append(messages)
        return "Printed steps 1 to 37; nothing failed."

    note = compact(Compactor(limit=3_000, keep_recent=3), conversation, summarize)

    assert note == "summarised 37 older entries"
    assert len(requests) == 1 and "print(step_1)" in requests[0][0]["content"]
    kinds = [e.kind for e in conversation.entries]
    assert kinds == ["system", "task", "summary", "step", "step", "step"]
    assert "Printed steps 1 to 37" in conversation.entries[2].messages[0]["content"]


def test_between_compactions_the_conversation_only_grows_at_its_end():
    conversation = conversation_of(0)
    compactor = Compactor(limit=10_000, keep_recent=3)
    previous: list = []
    compactions = 0
    for i in range(1, 41):
        conversation.add("step", conversation_of(1).entries[-1].messages, step=i)
        if compact(compactor, conversation):
            compactions += 1
        elif previous:
            assert conversation.messages()[: len(previous)] == previous
        previous = conversation.messages()
    assert 3 <= compactions <= 15


def test_a_summary_is_not_redone_when_only_recent_steps_are_large():
    conversation = conversation_of(8, observation_chars=20_000)
    for entry in conversation.entries[2:]:
        entry.messages[0]["content"] += "#" * 2_000  # long code: eliding leaves the old big
    calls = []
    compactor = Compactor(limit=1_000, keep_recent=3)
    compact(compactor, conversation, lambda m: calls.append(m) or "summary")
    compact(compactor, conversation, lambda m: calls.append(m) or "summary")
    assert len(calls) == 1


def test_conversations_round_trip_through_json():
    conversation = conversation_of(2)
    compact(Compactor(limit=1_000, keep_recent=1), conversation)
    again = Conversation.from_dict(conversation.to_dict())
    assert again.messages() == conversation.messages()
    assert [e.elided for e in again.entries] == [e.elided for e in conversation.entries]


def test_cache_markers_on_tool_results_go_on_the_message():
    messages = [
        {"role": "system", "content": "s"},
        {"role": "assistant", "content": None, "tool_calls": []},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]
    marked = with_cache_markers(messages)
    assert marked[2]["cache_control"] == {"type": "ephemeral"}
    assert marked[1] is messages[1]


def test_cache_markers_go_on_the_last_part_of_a_multimodal_message():
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}}
    messages = [{"role": "user", "content": [{"type": "text", "text": "look"}, image]}]
    marked = with_cache_markers(messages)
    assert marked[0]["content"][1]["cache_control"] == {"type": "ephemeral"}
    assert "cache_control" not in messages[0]["content"][1]
