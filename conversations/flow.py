"""The runner's conversation as state machines (transitions), declared in `FLOW` and `MODES`.

`FLOW` holds the steps a runner walks through: welcome, consent, the safety screen, each
question of the questionnaire, the assessment and its outcome (urgent, referred, plan) and
idle, then the reminder set-up, the daily check-in and the retest. The question chains are
generated from the question lists in `conversations.intake`: a question with `only_if` is
skipped when its condition fails, and after a question that `decides_safety` the chain stops
at the urgent screen as soon as R1-R4 fire.

`MODES` is a second, small machine on the same runner: something that interrupts the
conversation without moving it (the safety question a worrying message brings up). When it is
over, the runner is exactly where they were.

`Runner` is the model of both: it wraps the runner's stored record and holds the conditions
the transitions ask. The engine that feeds them events and turns states into screens is
`conversations.coach`.
"""

from __future__ import annotations

from transitions import Machine

from conversations.answers import parse_answers
from conversations.intake import (
    CHECKIN_QUESTIONS,
    CLEARANCE_QUESTIONS,
    QUESTIONS,
    REMINDER_QUESTIONS,
    RETEST_QUESTIONS,
    Question,
    answers_from,
)
from conversations.triage import SafetyFacts, assess, assess_safety, hop_test_is_safe

INTAKE_STATES = [question.id for question in QUESTIONS]
DAILY_STATES = [q.id for q in (*REMINDER_QUESTIONS, *CHECKIN_QUESTIONS, *RETEST_QUESTIONS)]
CLEARANCE_STATES = [question.id for question in CLEARANCE_QUESTIONS]
QUESTION_STATES = INTAKE_STATES + DAILY_STATES + CLEARANCE_STATES
CHECKIN_STATES = [question.id for question in CHECKIN_QUESTIONS]
STATES = [
    "welcome",
    "consent",
    "declined",
    *CLEARANCE_STATES,
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
CONSENTED = [*QUESTION_STATES, *AFTER_ONBOARDING]


def question_chain(questions: tuple[Question, ...], end: str, stop: str | None = None,
                   stop_if: str | None = None) -> list[tuple]:
    """`answered` rows through a list of questions, in order, then to `end`.

    A question with `only_if` is asked only when its condition holds, else the chain moves on;
    after a question that `decides_safety`, the chain goes to `stop` if `stop_if` holds.
    """
    rows = []
    for index, question in enumerate(questions):
        if question.decides_safety and stop is not None:
            rows.append(("answered", question.id, stop, stop_if))
        for later in questions[index + 1 :]:
            rows.append(("answered", question.id, later.id, later.only_if))
            if later.only_if is None:
                break
        else:
            rows.append(("answered", question.id, end, None))
    return rows


# trigger, source(s), destination, condition (the first row that matches wins)
FLOW = [
    ("begin", ["welcome", "declined"], "consent", None),
    ("agree", ["welcome", "consent", "declined"], "red_flags", None),
    ("decline", ["welcome", "consent"], "declined", None),
    # The questionnaire: the safety screen and heel-raise test first; any R1-R4 finding stops it.
    *question_chain(QUESTIONS, "assessment", stop="assessment", stop_if="needs_care_today_now"),
    # Assessment and what follows it
    ("assessed", "assessment", "urgent", "needs_care_today"),
    ("assessed", "assessment", "referred", "needs_clinician_first"),
    ("assessed", "assessment", "plan", None),
    ("settle", "plan", "reminder_time", "has_no_reminder"),
    ("settle", "plan", "idle", None),
    # A red flag confirmed at any point (the free-text safety net): straight to the assessment.
    ("flagged", CONSENTED, "assessment", None),
    # Answering again after an urgent result: first, has a clinician seen them since?
    ("reassess", "urgent", "seen_clinician", None),
    ("answered", "seen_clinician", "red_flags", "was_seen_since"),
    ("answered", "seen_clinician", "urgent", None),
    # Something new or worrying, at any time after onboarding: the safety screen again.
    ("reassess", [*AFTER_ONBOARDING, *DAILY_STATES], "red_flags", None),
    # Reminder set-up (at the end of onboarding, and with /reminders)
    ("set_reminders", "idle", "reminder_time", None),
    *question_chain(REMINDER_QUESTIONS, "reminders_set"),
    ("saved", "reminders_set", "idle", None),
    # The daily check-in (R9)
    ("check_in", "idle", "checkin_pain", None),
    *question_chain(CHECKIN_QUESTIONS, "checked_in"),
    ("decided", "checked_in", "retest_reps", "retest_is_due"),
    ("decided", "checked_in", "idle", None),
    # The two-weekly retest (R10 gates; R1 from the heel-raise test stops it at once)
    *question_chain(RETEST_QUESTIONS, "retested", stop="retested", stop_if="retest_needs_care_today"),
    ("gated", "retested", "urgent", "needs_care_today"),
    ("gated", "retested", "idle", None),
]

# trigger, source, destination: interruptions that leave the conversation where it was
MODES = ["none", "safety_check"]
MODE_FLOW = [
    ("mention_red_flag", ["none", "safety_check"], "safety_check"),
    ("confirm_red_flag", "safety_check", "none"),
    ("clear_red_flag", "safety_check", "none"),
]


class Runner:
    """The machines' model: one runner's stored record and the questions the flow asks of it."""

    def __init__(self, record: dict) -> None:
        self.record = record

    @property
    def answers(self) -> dict:
        return self.record.setdefault("answers", {})

    @property
    def draft(self) -> dict:
        return self.record.setdefault("draft", {})

    def safety_so_far(self) -> SafetyFacts:
        """The red flags and heel-raise test as far as the questionnaire has gone."""
        a = self.answers
        return SafetyFacts(frozenset(a.get("red_flags", [])), a.get("onset"), a.get("heel_raises_reps"),
                           a.get("heel_raises_other_side"))

    def retest_safety(self) -> SafetyFacts:
        """The retest's heel raises; the red flags are asked afresh whenever something is new."""
        d = self.draft
        return SafetyFacts(frozenset(), self.answers.get("onset"), d.get("retest_reps"),
                           d.get("retest_reps_other"))

    # Conditions named in FLOW and in the questions' `only_if`
    def needs_care_today_now(self) -> bool:
        return assess_safety(self.safety_so_far()) is not None

    def retest_needs_care_today(self) -> bool:
        return assess_safety(self.retest_safety()) is not None

    def is_running(self) -> bool:
        return self.answers.get("warmup_pattern") != "not_running"

    def hop_test_is_safe(self) -> bool:
        a = self.answers
        return hop_test_is_safe(a["age"], a["heel_raises_reps"], a["heel_raises_pain"],
                                a["morning_stiffness_minutes"], a["warmup_pattern"], a["pain_now"])

    def retest_hop_is_safe(self) -> bool:
        d = self.draft
        return hop_test_is_safe(self.answers["age"], d["retest_reps"], d["retest_pain"],
                                d["retest_stiffness"])

    def had_a_session(self) -> bool:
        return self.draft.get("checkin_pain") is not None

    def needs_care_today(self) -> bool:
        return self.record["assessment"]["triage"] in ("urgent", "emergency")

    def needs_clinician_first(self) -> bool:
        return self.record["assessment"]["phase"] is None

    def has_no_reminder(self) -> bool:
        return "reminder" not in self.record

    def retest_is_due(self) -> bool:
        return bool(self.record.get("retest_due"))

    def was_seen_since(self) -> bool:
        return bool(self.draft.get("seen_clinician"))

    # Callbacks
    def on_enter_assessment(self) -> None:
        """Safety first: the rules that can stop the questionnaire decide before anything else."""
        urgent = assess_safety(self.safety_so_far())
        if urgent is not None:
            self.record["assessment"] = urgent.model_dump()
            return
        answers = parse_answers(answers_from(self.answers, self.record.get("phase")))
        self.record["assessment"] = assess(answers).model_dump()


def _rows(flow: list[tuple]) -> list[dict]:
    """transitions' dicts from the rows above (a mode row has no condition)."""
    rows = [(*row, None) if len(row) == 3 else row for row in flow]
    return [
        {"trigger": trigger, "source": source, "dest": dest, "conditions": condition or []}
        for trigger, source, dest, condition in rows
    ]


def _build_machines() -> tuple[Machine, Machine]:
    flow = Machine(
        model=None,
        states=STATES,
        transitions=_rows(FLOW),
        initial="welcome",
        auto_transitions=True,  # to_<state>() serves /back and resuming
        ignore_invalid_triggers=False,
    )
    modes = Machine(
        model=None,
        states=MODES,
        transitions=_rows(MODE_FLOW),
        initial="none",
        auto_transitions=False,
        model_attribute="mode",
        ignore_invalid_triggers=False,
    )
    return flow, modes


MACHINE, MODE_MACHINE = _build_machines()


class Interruption:
    """The second machine's model: the record's `mode` (a machine binds its triggers to one
    model, so each machine gets its own)."""

    def __init__(self, record: dict) -> None:
        self.record = record


class Bound:
    """Attach a runner to the shared machines for the length of one event."""

    def __init__(self, record: dict) -> None:
        self.runner = Runner(record)
        self.runner.interruption = Interruption(record)

    def __enter__(self) -> Runner:
        record = self.runner.record
        MACHINE.add_model(self.runner, initial=record.get("state", "welcome"))
        MODE_MACHINE.add_model(self.runner.interruption, initial=record.get("mode", "none"))
        return self.runner

    def __exit__(self, *exc: object) -> None:
        record = self.runner.record
        interruption = self.runner.interruption
        record["state"] = self.runner.state
        if interruption.mode == "none":
            record.pop("mode", None)
        else:
            record["mode"] = interruption.mode
        MACHINE.remove_model(self.runner)
        MODE_MACHINE.remove_model(interruption)


def mermaid_diagram() -> str:
    """The flow as a Mermaid state diagram (written to docs/ by `achilles-coach diagram`)."""
    from transitions.extensions import GraphMachine

    diagrams = []
    for title, states, flow, initial in (
        ("Achilles Coach: a runner's conversation", STATES, FLOW, "welcome"),
        ("Achilles Coach: interruptions", MODES, MODE_FLOW, "none"),
    ):
        graph = GraphMachine(model=None, states=states, transitions=_rows(flow), initial=initial,
                             auto_transitions=False, graph_engine="mermaid", title=title)
        holder = Interruption({})
        graph.add_model(holder, initial=initial)
        diagrams.append(holder.get_graph().draw(None))
    return "\n".join(diagrams)
