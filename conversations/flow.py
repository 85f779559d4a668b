"""The runner's conversation: one machine (transitions) with three regions, declared below.

- `state`, where the runner is: welcome and consent, the safety screen and each question of
  the questionnaire, the assessment and its outcome, idle, then the reminder set-up, the daily
  check-in and the retest. The question chains (onwards with `answered`, back with `back`) are
  generated from the question lists in `conversations.intake`: a question with `only_if` is
  skipped when its condition fails, and after a question that `decides_safety` the chain stops
  at the urgent screen as soon as R1-R4 fire.
- `mode`, an interruption that leaves the runner where they were: the safety question a
  worrying message brings up, a pause (/cancel), a deletion waiting to be confirmed, a
  challenge's invitation waiting for an answer. While one is on, no question is asked.
- `reach`, whether Telegram still delivers to the runner (they may have blocked the bot).

`Conversation` is the model of all three. The record's "state", "mode" and "reach" move only
through `fire`, along these rows; nothing else writes them. The conditions the rows name are
`Conversation`'s methods, pure reads of the record; the callbacks (`on_enter`, `after`) are
named here and carried out by `conversations.turn.Turn`, which hands each to the module that
owns that part of the conversation. `docs/conversation.mmd` is drawn from these rows.
"""

from __future__ import annotations

from transitions import Machine

from conversations.intake import (
    CHECKIN_QUESTIONS,
    CLEARANCE_QUESTIONS,
    QUESTIONS,
    REMINDER_QUESTIONS,
    RETEST_QUESTIONS,
    Question,
)
from conversations.triage import SafetyFacts, assess_safety, hop_test_is_safe

INTAKE_STATES = [q.id for q in QUESTIONS]
CHECKIN_STATES = [q.id for q in CHECKIN_QUESTIONS]
DAILY_STATES = [q.id for q in (*REMINDER_QUESTIONS, *CHECKIN_QUESTIONS, *RETEST_QUESTIONS)]
CLEARANCE_STATES = [q.id for q in CLEARANCE_QUESTIONS]
QUESTION_STATES = INTAKE_STATES + DAILY_STATES + CLEARANCE_STATES
BEFORE_CONSENT = ["welcome", "declined"]
AFTER_ONBOARDING = ["urgent", "referred", "plan", "idle"]
CONSENTED = [*QUESTION_STATES, *AFTER_ONBOARDING]
# Passed through within one event: each does its work on entry and moves on at once.
PASSING = {"assessment": "assess", "reminders_set": "save_reminders", "checked_in": "apply_checkin",
           "retested": "apply_retest"}


def row(trigger: str, source: str | list[str], dest: str, condition: str | None = None,
        after: str | None = None) -> dict:
    """One transition: the first row whose condition holds wins."""
    return {"trigger": trigger, "source": source, "dest": dest, "conditions": condition or [],
            "after": after or []}


def chain(questions: tuple[Question, ...], end: str, stop: str | None = None,
          stop_if: str | None = None) -> list[dict]:
    """`answered` rows through a list of questions and on to `end`; `back` rows the other way."""
    rows = []
    for index, question in enumerate(questions):
        if question.decides_safety and stop is not None:
            rows.append(row("answered", question.id, stop, stop_if))
        rows += _next_asked("answered", question.id, questions[index + 1 :], end)
        rows += _next_asked("back", question.id, questions[:index][::-1], None)
    return rows


def _next_asked(trigger: str, source: str, candidates, end: str | None) -> list[dict]:
    # A question asked only if its condition holds: try it, else the one after it.
    rows = []
    for candidate in candidates:
        rows.append(row(trigger, source, candidate.id, candidate.only_if))
        if candidate.only_if is None:
            return rows
    return rows + ([row(trigger, source, end)] if end else [])


STATES = [
    *BEFORE_CONSENT,
    *({"name": q, "on_enter": "ask"} for q in CLEARANCE_STATES),
    *({"name": q, "on_enter": "ask"} for q in INTAKE_STATES),
    *AFTER_ONBOARDING,
    *({"name": q, "on_enter": "ask"} for q in DAILY_STATES),
    *({"name": state, "on_enter": callback} for state, callback in PASSING.items()),
]

FLOW = [
    # Consent first: before it, nothing is stored but a refusal.
    row("agree", BEFORE_CONSENT, "red_flags"),
    row("decline", BEFORE_CONSENT, "declined"),
    # The questionnaire: the safety screen and heel-raise test first; any R1-R4 finding stops it.
    *chain(QUESTIONS, "assessment", stop="assessment", stop_if="needs_care_today_now"),
    row("assessed", "assessment", "urgent", "needs_care_today", after="show_urgent"),
    row("assessed", "assessment", "referred", "needs_clinician_first", after="show_referral"),
    row("assessed", "assessment", "plan", after="show_plan"),
    row("settle", "plan", "reminder_time", "has_no_reminder"),
    row("settle", "plan", "idle"),
    # A red flag confirmed at any point (the free-text safety net): straight to the assessment.
    row("flagged", CONSENTED, "assessment"),
    # Answering again after an urgent result: first, has a clinician seen them since?
    row("reassess", "urgent", "seen_clinician"),
    row("answered", "seen_clinician", "red_flags", "was_seen_since", after="clear_to_answer_again"),
    row("answered", "seen_clinician", "urgent", after="show_still_urgent"),
    # Something new or worrying, at any time after onboarding: the safety screen again.
    row("reassess", ["referred", "plan", "idle", *DAILY_STATES], "red_flags"),
    # Reminder set-up (at the end of onboarding, and with /reminders)
    row("set_reminders", "idle", "reminder_time"),
    *chain(REMINDER_QUESTIONS, "reminders_set"),
    row("saved", "reminders_set", "idle"),
    # The daily check-in (R9)
    row("check_in", "idle", "checkin_pain"),
    *chain(CHECKIN_QUESTIONS, "checked_in"),
    row("decided", "checked_in", "retest_reps", "retest_is_due"),
    row("decided", "checked_in", "idle"),
    # The two-weekly retest (R10 gates; R1 from the heel-raise test stops it at once)
    *chain(RETEST_QUESTIONS, "retested", stop="retested", stop_if="retest_needs_care_today"),
    row("gated", "retested", "urgent", "needs_care_today", after="show_urgent"),
    row("gated", "retested", "idle"),
]

MODES = ["none", "safety_check", "paused", "confirming_delete", "considering_invite"]
MODE_FLOW = [
    row("mention_red_flag", MODES, "safety_check"),
    row("confirm_red_flag", "safety_check", "none"),
    row("clear_red_flag", "safety_check", "none"),
    row("pause", "none", "paused"),
    row("resume", "paused", "none"),
    row("ask_to_delete", ["none", "paused"], "confirming_delete"),
    row("keep_data", "confirming_delete", "none"),
    row("consider_invite", ["none", "paused"], "considering_invite"),
    row("decide_invite", "considering_invite", "none"),
]

REACH = [{"name": name, "on_enter": "publish_schedule"} for name in ("reachable", "blocked")]
REACH_FLOW = [row("blocked", "reachable", "blocked"), row("returned", "blocked", "reachable")]

REGIONS = (  # (record key, states, rows, initial)
    ("state", STATES, FLOW, "welcome"),
    ("mode", MODES, MODE_FLOW, "none"),
    ("reach", REACH, REACH_FLOW, "reachable"),
)


class Conversation:
    """The machine's model: one runner's place in the conversation, kept in their record."""

    def __init__(self, record: dict) -> None:
        self.record = record

    # The regions' states, as transitions reads and writes them. A region at its initial state
    # is left out of the record.
    def _get(self, key: str) -> str:
        return self.record.get(key, INITIAL[key])

    def _set(self, key: str, value: str) -> None:
        if value == INITIAL[key] and key != "state":
            self.record.pop(key, None)
        else:
            self.record[key] = value

    state = property(lambda self: self._get("state"), lambda self, value: self._set("state", value))
    mode = property(lambda self: self._get("mode"), lambda self, value: self._set("mode", value))
    reach = property(lambda self: self._get("reach"), lambda self, value: self._set("reach", value))

    def fire(self, trigger: str) -> bool:
        """Move along the first row of `trigger` whose condition holds; False if none does."""
        return TRIGGERS[trigger].trigger(self)

    def can(self, trigger: str) -> bool:
        """Whether `trigger` has rows from where the runner is (conditions aside)."""
        event = TRIGGERS[trigger]
        return getattr(self, event.machine.model_attribute) in event.transitions

    # --- the conditions the rows name ------------------------------------------------------

    @property
    def answers(self) -> dict:
        return self.record.get("answers", {})

    @property
    def draft(self) -> dict:
        return self.record.get("draft", {})

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

    @property
    def comeback(self) -> dict:
        """Where the runner's running stands (conversations.return_to_running)."""
        return self.record.get("comeback", {"stage": "running"})

    def running_is_off(self) -> bool:
        return self.comeback["stage"] == "off"

    def on_the_ladder(self) -> bool:
        return self.comeback["stage"] == "ladder"

    def did_the_walk_run(self) -> bool:
        return self.draft.get("checkin_walkrun") is True

    def running_normally(self) -> bool:
        return self.comeback["stage"] == "running"

    def cadence_unknown(self) -> bool:
        """Asked once, when the spring phase rebuilds running: cadence advice is for overstriders."""
        spring = (self.record.get("phase") or 0) >= 3
        return self.running_normally() and spring and "overstride" not in self.record

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


def _machine(attribute: str, states: list, rows: list[dict], initial: str, cls: type = Machine,
             **options) -> Machine:
    return cls(model=None, states=states, transitions=rows, initial=initial, model_attribute=attribute,
               auto_transitions=False, ignore_invalid_triggers=False, **options)


MACHINES = [_machine(*region) for region in REGIONS]
INITIAL = {key: initial for key, _, _, initial in REGIONS}
TRIGGERS = {name: event for machine in MACHINES for name, event in machine.events.items()}
STATE_NAMES = {machine.model_attribute: list(machine.states) for machine in MACHINES}  # by region


def callbacks() -> set[str]:
    """Every callback the machine names (for the test that `Turn` carries them all)."""
    named = set(PASSING.values()) | {"ask", "publish_schedule"}
    return named | {r["after"] for _, _, rows, _ in REGIONS for r in rows if r["after"]}


def conditions() -> set[str]:
    return {r["conditions"] for _, _, rows, _ in REGIONS for r in rows if r["conditions"]}


def mermaid_diagram() -> str:
    """The machine as Mermaid state diagrams, one per region (`achilles-coach diagram`)."""
    from transitions.extensions import GraphMachine

    titles = {"state": "Achilles Coach: a runner's conversation", "mode": "Interruptions (mode)",
              "reach": "Whether Telegram delivers (reach)"}
    diagrams = []
    for attribute, states, rows, initial in REGIONS:
        graph = _machine("state", states, rows, initial, GraphMachine, graph_engine="mermaid",
                         title=titles[attribute], show_conditions=True)
        holder = Conversation({})
        graph.add_model(holder, initial=initial)
        diagrams.append(holder.get_graph().draw(None))
    return "\n".join(diagrams)
