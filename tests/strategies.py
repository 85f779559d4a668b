"""Hypothesis strategies for runners' answers, shared by the property tests."""

from hypothesis import strategies as st

from conversations.answers import RECENT_CHANGES, RED_FLAGS, WARMUP_PATTERNS
from conversations.answers import URGENT_FLAGS as SAFETY_FLAGS

pain = st.integers(0, 10)
trend = st.sampled_from(["better", "same", "worse"])
km = st.floats(0, 250, allow_nan=False, allow_infinity=False) | st.integers(0, 250)


def answers(red_flags=None) -> st.SearchStrategy[dict]:
    """Any valid answers as the JSON-ish dict the engine receives."""
    flags = red_flags if red_flags is not None else st.lists(st.sampled_from(RED_FLAGS), unique=True)
    required = {
        "age": st.integers(10, 100),
        "side": st.sampled_from(["left", "right", "both"]),
        "location": st.sampled_from(["midportion", "insertional", "unsure"]),
        "weeks_of_symptoms": st.integers(0, 300),
        "onset": st.sampled_from(["gradual", "sudden"]),
        "red_flags": flags,
        "morning_stiffness_minutes": st.integers(0, 600),
        "warmup_pattern": st.sampled_from(WARMUP_PATTERNS),
        "pain_now": pain,
        "pain_during_last_run": st.none() | pain,
        "settled_next_morning": st.none() | st.booleans(),
        "mornings_trend": trend,
        "heel_raises": st.fixed_dictionaries({"reps": st.integers(0, 80), "pain": pain}),
        "hop_pain": st.none() | pain,
        "weekly_km": km,
        "weekly_km_before": km,
        "recent_changes": st.lists(st.sampled_from(RECENT_CHANGES), unique=True),
        "structured_loading_weeks": st.integers(0, 60),
        "trend": trend,
    }
    optional = {
        "current_phase": st.integers(1, 4),
        "heel_raises_other_side": st.integers(0, 80),
    }
    return st.fixed_dictionaries(required, optional=optional)


def answers_with_a_safety_flag() -> st.SearchStrategy[dict]:
    flags = st.lists(st.sampled_from(RED_FLAGS), unique=True).flatmap(
        lambda others: st.sampled_from(SAFETY_FLAGS).map(lambda flag: sorted({flag, *others}))
    )
    return answers(red_flags=flags)
