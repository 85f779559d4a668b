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
from conversations.intake import QUESTIONS, URGENT_FLAGS, answers_from
from conversations.triage import assess, assess_safety_screen

QUESTION_STATES = [question.id for question in QUESTIONS]
STATES = [
    "welcome",
    "consent",
    "declined",
    *QUESTION_STATES,
    "assessment",
    "urgent",
    "referred",
    "plan",
    "idle",
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
    ("settle", "plan", "idle", None),
    ("reassess", AFTER_ONBOARDING, "red_flags", None),
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
