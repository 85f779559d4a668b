"""Today's plan: day types, doses by week, and the insertional modifications."""

from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.answers import parse_answers
from conversations.messages import render, render_text, template_module
from conversations.plan import build_plan, plan_for_answers
from conversations.protocol import default_protocol
from tests.strategies import answers

MONDAY = date(2026, 11, 23)


def dose(exercise) -> str:
    """The dose as the runner reads it (templates/plan/_dose.j2)."""
    return str(template_module("plan/_dose.j2").dose(exercise))
WEEK = [MONDAY + timedelta(days=n) for n in range(7)]
PROTOCOL = default_protocol()


def heavy_slow_monday(week: int):
    return build_plan(phase=2, running="hold", modifications=[], on=MONDAY, week=week)


def test_heavy_slow_blocks_follow_the_brief_week_by_week():
    doses = {week: dose(heavy_slow_monday(week).exercises[0]) for week in range(1, 14)}
    assert doses[1] == "3 x 15"
    assert doses[2] == doses[3] == "3 x 12"
    assert doses[4] == doses[5] == "4 x 10"
    assert doses[6] == doses[7] == doses[8] == "4 x 8"
    assert all(doses[week] == "4 x 6" for week in range(9, 14))


def test_heavy_slow_is_slow_with_long_rests():
    exercise = heavy_slow_monday(1).exercises[0]
    assert exercise.tempo == "3 s up, 3 s down"
    assert 120 <= exercise.rest_seconds <= 180
    assert "heavy" in exercise.load.lower()


def test_strength_phase_trains_three_days_and_recovers_between():
    day_types = [build_plan(phase=2, running="hold", modifications=[], on=d).day_type for d in WEEK]
    assert day_types.count("strength") == 3
    assert "plyometric" not in day_types
    assert day_types[0] == "strength" and day_types[1] == "recovery"


def test_spring_phase_keeps_two_strength_days_and_adds_hopping_from_60_contacts():
    plans = [build_plan(phase=3, running="progress", modifications=[], on=d) for d in WEEK]
    assert [p.day_type for p in plans].count("strength") == 2
    hopping = [p for p in plans if p.day_type == "plyometric"]
    assert len(hopping) >= 2
    contacts = sum(e.contacts for e in hopping[0].exercises if e.contacts)
    assert 60 <= contacts <= 70
    later = build_plan(phase=3, running="progress", modifications=[], on=hopping[0].date, week=8)
    assert 110 <= sum(e.contacts for e in later.exercises if e.contacts) <= 130


def test_calm_phase_holds_every_day_twice():
    for day in WEEK:
        plan = build_plan(phase=1, running="reduce", modifications=[], on=day)
        holds = [e for e in plan.exercises if e.seconds]
        assert len(holds) == 2 and all(e.sets == 5 and 30 <= e.seconds <= 45 for e in holds)
        assert all(e.times_per_day == 2 for e in holds)


def test_insertional_plan_swaps_the_step_for_the_floor_and_says_so():
    plan = build_plan(phase=2, running="hold", modifications=["flat_floor_only"], on=MONDAY)
    names = [e.name for e in plan.exercises]
    assert "Standing heel raise on the floor" in names
    assert "Standing heel raise off a step" not in names
    assert len(names) == len(set(names)), "two swaps to the same exercise are done once"
    swapped = next(e for e in plan.exercises if e.instead_of)
    assert swapped.instead_of == "Standing heel raise off a step"
    assert plan.modifications == ["flat_floor_only"]
    assert "the heel never drops below level" in render("plan/today.j2", plan=plan)


@given(
    answers().map(lambda data: dict(data, location="insertional")),
    st.integers(1, 16),
    st.sampled_from(WEEK),
)
@settings(max_examples=300)
def test_insertional_answers_never_get_an_unsafe_exercise(data, week, day):
    _, plan = plan_for_answers(parse_answers(data), on=day, week=week)
    if plan is None:
        return
    for exercise in plan.exercises:
        assert PROTOCOL.exercise(exercise.id).insertional_safe, exercise.name


def test_insertional_plans_are_safe_on_every_day_of_every_phase_and_week():
    for phase in (1, 2, 3, 4):
        for week in range(1, 17):
            for day in WEEK:
                plan = build_plan(
                    phase=phase, running="hold", modifications=["flat_floor_only"], on=day, week=week
                )
                unsafe = [e.name for e in plan.exercises if not PROTOCOL.exercise(e.id).insertional_safe]
                assert unsafe == [], f"phase {phase} week {week} {day:%a}: {unsafe}"


def test_no_hills_swaps_uphill_strides_for_flat_ones():
    tuesday = WEEK[1]
    hills = build_plan(phase=3, running="progress", modifications=[], on=tuesday, week=5)
    flat = build_plan(phase=3, running="progress", modifications=["no_hills_or_speed"],
                      on=tuesday, week=5)
    assert "Uphill strides" in [e.name for e in hills.exercises]
    assert "Flat strides" in [e.name for e in flat.exercises]
    assert "Uphill strides" not in [e.name for e in flat.exercises]


def test_running_advice_follows_the_assessment():
    stop = build_plan(phase=1, running="stop", modifications=[], on=MONDAY)
    spring = build_plan(phase=3, running="progress", modifications=[], on=MONDAY)
    assert "No running" in render_text("plan/running.j2", plan=stop)
    advice = render_text("plan/running.j2", plan=spring)
    assert "10%" in advice and "160 to 168" in advice


def test_no_plan_when_the_runner_must_see_someone_first():
    data = {
        "age": 15, "side": "left", "location": "insertional", "weeks_of_symptoms": 4,
        "onset": "gradual", "red_flags": [], "morning_stiffness_minutes": 5,
        "warmup_pattern": "eases_then_returns", "pain_now": 2, "pain_during_last_run": 3,
        "settled_next_morning": True, "mornings_trend": "same",
        "heel_raises": {"reps": 20, "pain": 2}, "hop_pain": 2, "weekly_km": 20,
        "weekly_km_before": 20, "recent_changes": [], "structured_loading_weeks": 0,
        "trend": "same",
    }
    assessment, plan = plan_for_answers(parse_answers(data), on=MONDAY)
    assert assessment.triage == "refer" and plan is None
