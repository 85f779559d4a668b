"""Properties of the triage engine over random valid (and invalid) answers."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from conversations.answers import parse_answers
from conversations.messages import reason_text
from conversations.triage import assess
from tests.strategies import answers, answers_with_a_safety_flag

SAFETY_RULES = {"R1", "R2", "R3", "R4"}


@given(answers_with_a_safety_flag())
@settings(max_examples=300)
def test_any_safety_flag_sends_to_care_today_with_no_programme(data):
    assessment = assess(parse_answers(data))
    assert assessment.triage in ("urgent", "emergency")
    assert assessment.referral in ("today", "emergency")
    assert assessment.phase is None
    assert assessment.running == "stop"
    assert assessment.reasons and {r.rule for r in assessment.reasons} <= SAFETY_RULES


@given(answers())
@settings(max_examples=300)
def test_engine_never_raises_and_always_explains(data):
    assessment = assess(parse_answers(data))
    assert assessment.reasons, "every assessment gives its reasons"
    assert all(reason_text(reason).strip() for reason in assessment.reasons)
    if assessment.triage == "self_care":
        assert assessment.phase in (1, 2, 3, 4)
    if data["location"] == "insertional" and assessment.phase is not None:
        assert "flat_floor_only" in assessment.modifications


@given(answers())
@settings(max_examples=200)
def test_phase_moves_at_most_one_step_from_the_current_one(data):
    assessment = assess(parse_answers(data))
    current = data.get("current_phase")
    if current is not None and assessment.phase is not None and assessment.phase > current:
        assert assessment.phase == current + 1


BAD_VALUES = {
    "age": [9, 101, "38", 38.5, None],
    "side": ["up", 1],
    "location": ["knee"],
    "weeks_of_symptoms": [-1, "6"],
    "onset": ["slow"],
    "red_flags": [["snake_bite"], "pop_or_kick"],
    "morning_stiffness_minutes": [-5],
    "warmup_pattern": ["sometimes"],
    "pain_now": [11, -1, "3"],
    "pain_during_last_run": [12],
    "settled_next_morning": ["yes"],
    "mornings_trend": ["up"],
    "heel_raises": [{"reps": -1, "pain": 2}, {"reps": 5}, 12],
    "hop_pain": [99],
    "weekly_km": [-3, "forty"],
    "weekly_km_before": [-0.5],
    "recent_changes": [["moon_running"]],
    "structured_loading_weeks": [-2],
    "trend": ["sideways"],
    "current_phase": [0, 5],
    "heel_raises_other_side": [-1],
}


@given(answers(), st.sampled_from(sorted(BAD_VALUES)), st.data())
@settings(max_examples=300)
def test_invalid_field_is_named_in_the_error(data, field, draw):
    bad = dict(data, **{field: draw.draw(st.sampled_from(BAD_VALUES[field]))})
    with pytest.raises(ValidationError) as caught:
        parse_answers(bad)
    named = {str(error["loc"][0]) for error in caught.value.errors()}
    assert named == {field}


@given(answers(), st.sampled_from(["age", "trend", "heel_raises", "red_flags"]))
def test_missing_field_is_named(data, field):
    del data[field]
    with pytest.raises(ValidationError) as caught:
        parse_answers(data)
    assert {str(error["loc"][0]) for error in caught.value.errors()} == {field}


@given(answers(), st.text(min_size=1, max_size=20))
def test_unknown_field_is_refused_by_name(data, field):
    if field in data or field in ("current_phase", "heel_raises_other_side"):
        return
    with pytest.raises(ValidationError) as caught:
        parse_answers(dict(data, **{field: 1}))
    assert {str(error["loc"][0]) for error in caught.value.errors()} == {field}
