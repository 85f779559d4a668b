"""The runner's conversation as one state machine (transitions), declared in `FLOW` below.

States are the steps a runner walks through: welcome, consent, the safety screen, each
question of the questionnaire (grouped in sections), the assessment and its outcome (urgent,
referred, plan) and idle. `Runner` is the machine's model: it wraps the runner's stored record
and holds the conditions the transitions ask. The engine that feeds it events and turns states
into screens is `conversations.coach`.
"""

from __future__ import annotations

from transitions import Machine

from conversations.answers import parse_answers
from conversations.intake import (
    CHECKIN_QUESTIONS,
    QUESTIONS,
    REMINDER_QUESTIONS,
    RETEST_QUESTIONS,
    URGENT_FLAGS,
    answers_from,
)
from conversations.triage import assess, assess_safety_screen

INTAKE_STATES = [question.id for question in QUESTIONS]
DAILY_STATES = [q.id for q in (*REMINDER_QUESTIONS, *CHECKIN_QUESTIONS, *RETEST_QUESTIONS)]
QUESTION_STATES = INTAKE_STATES + DAILY_STATES
CHECKIN_STATES = [question.id for question in CHECKIN_QUESTIONS]
STATES = [
    "welcome",
    "consent",
    "declined",
    *INTAKE_STATES,
    "assessment",
    "urgent",
    "referred",
    "plan",
    "idle",
    *DAILY_STATES,
    "reminders_set",
    "checked_in",
    "retested",
]
AFTER_ONBOARDING = ["urgent", "referred", "plan", "idle"]

# trigger, source(s), destination, condition (the first row that matches wins)
FLOW = [
    ("begin", ["welcome", "declined"], "consent", None),
    ("agree", ["welcome", "consent", "declined"], "red_flags", None),
    ("decline", ["welcome", "consent"], "declined", None),
    # Safety screen first: any urgent flag ends the questionnaire at once.
    ("answered", "red_flags", "assessment", "has_urgent_flag"),
    ("answered", "red_flags", "age", None),
    # Profile
    ("answered", "age", "side", None),
    ("answered", "side", "location", None),
    ("answered", "location", "onset", None),
    ("answered", "onset", "weeks_of_symptoms", None),
    ("answered", "weeks_of_symptoms", "morning_stiffness_minutes", None),
    # Symptoms
    ("answered", "morning_stiffness_minutes", "warmup_pattern", None),
    ("answered", "warmup_pattern", "pain_now", None),
    ("answered", "pain_now", "settled_next_morning", "not_running"),
    ("answered", "pain_now", "pain_during_last_run", None),
    ("answered", "pain_during_last_run", "settled_next_morning", None),
    ("answered", "settled_next_morning", "mornings_trend", None),
    # Capacity tests
    ("answered", "mornings_trend", "heel_raises_reps", None),
    ("answered", "heel_raises_reps", "heel_raises_pain", None),
    ("answered", "heel_raises_pain", "hop_pain", None),
    ("answered", "hop_pain", "heel_raises_other_side", None),
    # Training load
    ("answered", "heel_raises_other_side", "weekly_km", None),
    ("answered", "weekly_km", "weekly_km_before", None),
    ("answered", "weekly_km_before", "recent_changes", None),
    # History
    ("answered", "recent_changes", "structured_loading_weeks", None),
    ("answered", "structured_loading_weeks", "trend", None),
    ("answered", "trend", "other_flags", None),
    ("answered", "other_flags", "assessment", None),
    # Assessment and what follows it
    ("assessed", "assessment", "urgent", "needs_care_today"),
    ("assessed", "assessment", "referred", "needs_clinician_first"),
    ("assessed", "assessment", "plan", None),
    ("settle", "plan", "reminder_time", "has_no_reminder"),
    ("settle", "plan", "idle", None),
    # Something new or worrying, at any time after onboarding: the safety screen again.
    ("reassess", [*AFTER_ONBOARDING, *DAILY_STATES], "red_flags", None),
    # Reminder set-up (at the end of onboarding, and with /reminders)
    ("set_reminders", "idle", "reminder_time", None),
    ("answered", "reminder_time", "reminder_zone", None),
    ("answered", "reminder_zone", "strength_days", None),
    ("answered", "strength_days", "reminders_set", None),
    ("saved", "reminders_set", "idle", None),
    # The daily check-in (R9)
    ("check_in", "idle", "checkin_pain", None),
    ("answered", "checkin_pain", "checkin_morning", "had_no_session"),
    ("answered", "checkin_pain", "checkin_settled", None),
    ("answered", "checkin_settled", "checkin_morning", None),
    ("answered", "checkin_morning", "checkin_plan_done", None),
    ("answered", "checkin_plan_done", "checkin_km", None),
    ("answered", "checkin_km", "checked_in", None),
    ("decided", "checked_in", "retest_reps", "retest_is_due"),
    ("decided", "checked_in", "idle", None),
    # The two-weekly retest (R10 gates)
    ("answered", "retest_reps", "retest_reps_other", None),
    ("answered", "retest_reps_other", "retest_pain", None),
    ("answered", "retest_pain", "retest_hop", None),
    ("answered", "retest_hop", "retested", None),
    ("gated", "retested", "idle", None),
]


class Runner:
    """The machine's model: one runner's stored record and the questions the flow asks of it."""

    def __init__(self, record: dict) -> None:
        self.record = record

    @property
    def answers(self) -> dict:
        return self.record.setdefault("answers", {})

    # Conditions named in FLOW
    def has_urgent_flag(self) -> bool:
        return any(flag in URGENT_FLAGS for flag in self.answers.get("red_flags", []))

    def not_running(self) -> bool:
        return self.answers.get("warmup_pattern") == "not_running"

    def needs_care_today(self) -> bool:
        return self.record["assessment"]["triage"] in ("urgent", "emergency")

    def needs_clinician_first(self) -> bool:
        return self.record["assessment"]["phase"] is None

    def has_no_reminder(self) -> bool:
        return "reminder" not in self.record

    def had_no_session(self) -> bool:
        return self.record.get("draft", {}).get("checkin_pain") is None

    def retest_is_due(self) -> bool:
        return bool(self.record.get("retest_due"))

    # Callbacks
    def on_enter_assessment(self) -> None:
        if self.has_urgent_flag():  # the safety screen stopped the questionnaire
            self.record["assessment"] = assess_safety_screen(self.answers["red_flags"]).model_dump()
            return
        answers = parse_answers(answers_from(self.answers, self.record.get("phase")))
        self.record["assessment"] = assess(answers).model_dump()


def _build_machine() -> Machine:
    transitions = [
        {"trigger": trigger, "source": source, "dest": dest, "conditions": condition or []}
        for trigger, source, dest, condition in FLOW
    ]
    return Machine(
        model=None,
        states=STATES,
        transitions=transitions,
        initial="welcome",
        auto_transitions=True,  # to_<state>() serves /back and resuming
        ignore_invalid_triggers=False,
    )


MACHINE = _build_machine()


class Bound:
    """Attach a runner to the shared machine for the length of one event."""

    def __init__(self, record: dict) -> None:
        self.runner = Runner(record)
        self.state = record.get("state", "welcome")

    def __enter__(self) -> Runner:
        MACHINE.add_model(self.runner, initial=self.state)
        return self.runner

    def __exit__(self, *exc: object) -> None:
        self.runner.record["state"] = self.runner.state
        MACHINE.remove_model(self.runner)


def mermaid_diagram() -> str:
    """The flow as a Mermaid state diagram (written to docs/ by `achilles-coach diagram`)."""
    from transitions.extensions import GraphMachine

    transitions = [
        {"trigger": trigger, "source": source, "dest": dest, "conditions": condition or []}
        for trigger, source, dest, condition in FLOW
    ]
    graph = GraphMachine(
        model=None,
        states=STATES,
        transitions=transitions,
        initial="welcome",
        auto_transitions=False,
        graph_engine="mermaid",
        title="Achilles Coach: a runner's conversation",
    )
    holder = Runner({})
    graph.add_model(holder, initial="welcome")
    return holder.get_graph().draw(None)
