"""Whatever a runner types, at any question: a clear answer and the question again, never a crash,
and nothing out of range ever reaches the assessment."""

import copy
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.answers import parse_answers
from conversations.clinic import load_clinic
from conversations.engine import Engine
from conversations.intake import BY_ID, QUESTIONS, Unreadable, answers_from, read_text
from conversations.messages import html_to_text, render_reply
from conversations.protocol import default_protocol
from conversations.replies import Event
from storage import open_store
from tests.runner_script import TYPICAL_RUNNER, onboard_in_engine

NUMBER_QUESTIONS = [q for q in BY_ID.values() if q.kind in ("number", "pain")]
RUNNER = 5150

numbers_as_text = st.one_of(
    st.integers(-(10**6), 10**6).map(str),
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.2f}"),
    st.integers(1, 500).map(lambda n: "9" * n),  # up to a 500-digit number
    st.sampled_from(
        ["11", "10", "0", "-1", "7/10", "12 km", "45 min", "3,5", "1e400", "٣", "²", "½", "0x10"]
    ),
)
anything = numbers_as_text | st.text(max_size=300) | st.text(alphabet="0123456789 .,-", max_size=60)


@pytest.mark.parametrize("question", NUMBER_QUESTIONS, ids=lambda q: q.id)
def test_each_number_is_asked_again_with_its_range_just_outside_it(question):
    for outside in (question.minimum - 1, question.maximum + 1, 10**400):
        with pytest.raises(Unreadable) as caught:
            read_text(question, str(int(outside)))
        assert caught.value.key == "out_of_range"
        assert caught.value.facts == {"minimum": question.minimum, "maximum": question.maximum}
    assert read_text(question, str(int(question.minimum))) == question.minimum
    assert read_text(question, str(int(question.maximum))) == question.maximum


def test_the_real_ranges_of_the_brief():
    ranges = {q.id: (q.minimum, q.maximum) for q in NUMBER_QUESTIONS}
    assert ranges["age"] == (10, 100)
    assert all(ranges[q] == (0, 10) for q in ("pain_now", "pain_during_last_run", "hop_pain", "checkin_pain"))
    assert ranges["heel_raises_reps"] == ranges["retest_reps"] == (0, 200)
    assert ranges["weekly_km"] == (0, 1000)
    assert ranges["morning_stiffness_minutes"] == (0, 600)


@given(st.sampled_from(sorted(BY_ID)), anything)
@settings(max_examples=1200)
def test_any_typed_text_is_read_or_refused_with_a_reason(question_id, text):
    question = BY_ID[question_id]
    try:
        value = read_text(question, text)
    except Unreadable as problem:
        assert problem.key in (
            "use_buttons",
            "not_a_number",
            "whole_number",
            "out_of_range",
            "not_a_time",
            "not_a_zone",
        )
        return
    if question.kind in ("number", "pain") and value is not None:
        assert question.minimum <= value <= question.maximum


TYPICAL_STORED = {
    "red_flags": [],
    "age": 38,
    "side": "right",
    "onset": "gradual",
    "heel_raises_reps": 18,
    "heel_raises_other_side": None,
    "heel_raises_pain": 3,
    "location": "midportion",
    "weeks_of_symptoms": 6,
    "morning_stiffness_minutes": 20,
    "warmup_pattern": "eases_then_returns",
    "pain_now": 2,
    "pain_during_last_run": 3,
    "settled_next_morning": True,
    "mornings_trend": "same",
    "hop_pain": 4,
    "weekly_km": 30,
    "weekly_km_before": 30,
    "recent_changes": [],
    "structured_loading_weeks": 0,
    "trend": "same",
    "other_flags": [],
}


@given(st.sampled_from([q for q in QUESTIONS if q.kind in ("number", "pain")]), numbers_as_text)
@settings(max_examples=600)
def test_every_number_the_questionnaire_accepts_is_accepted_by_the_assessment(question, text):
    try:
        value = read_text(question, text)
    except Unreadable:
        return
    parse_answers(answers_from({**TYPICAL_STORED, question.id: value}))  # raises if out of the contract


@pytest.fixture(scope="module")
def at_each_question():
    """The stored record of a runner standing at each question of the questionnaire."""
    clinic = load_clinic()
    coach = Engine(
        open_store(None), clinic, default_protocol(), lambda: datetime(2026, 11, 23, 9, tzinfo=UTC)
    )
    records = {}
    for asked in range(len(TYPICAL_RUNNER)):
        onboard_in_engine(coach, asked, TYPICAL_RUNNER[:asked])
        record = coach.store.load(asked)
        records[record["state"]] = record
    return coach, records


@given(data=st.data())
@settings(max_examples=400, deadline=None)
def test_no_typed_input_at_any_question_breaks_the_conversation(at_each_question, data):
    coach, records = at_each_question
    state = data.draw(st.sampled_from(sorted(records)))
    text = data.draw(anything.filter(str.strip))
    coach.store.save(RUNNER, copy.deepcopy(records[state]))

    outcome = coach.apply(RUNNER, Event("text", text))  # the engine itself, not its safety catch

    screens = [render_reply(reply) for reply in outcome.replies]
    assert screens and all(screen.html for screen in screens)
    assert "something went wrong" not in html_to_text(screens[0].html)
    after = coach.store.load(RUNNER)
    parse_answers(answers_from({**TYPICAL_STORED, **after["answers"]}))


def test_pain_eleven_is_asked_again_with_the_scale(at_each_question):
    coach, records = at_each_question
    coach.store.save(RUNNER, copy.deepcopy(records["pain_now"]))
    outcome = coach.apply(RUNNER, Event("text", "11"))
    text = "\n".join(html_to_text(render_reply(r).html) for r in outcome.replies)
    assert "from 0 to 10" in text and "How much does it hurt right now" in text
    assert coach.store.load(RUNNER)["state"] == "pain_now"
