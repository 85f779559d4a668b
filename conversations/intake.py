"""The questionnaire as data: each question, what kind of answer it takes, and how to read it.

The words (question text, button labels, re-ask messages) live in `templates/questions/`.
`read_text` turns what a runner typed into a value, or says why not (`Unreadable`);
`answers_from` assembles the stored answers into the assessment contract of INTAKE.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from conversations.answers import OTHER_FLAGS, RECENT_CHANGES, URGENT_FLAGS, WARMUP_PATTERNS
from conversations.messages import template_module
from conversations.reminders import find_zone, parse_time

PAIN_SCALE = tuple(range(11))


# The real range of every number a runner types; each lies inside what the assessment
# contract (conversations.answers) accepts, so a typed answer can never be refused later.
PAIN = (0, 10)
AGE = (10, 100)
REPS = (0, 200)
KM = (0, 1000)
KM_IN_A_DAY = (0, 300)
MINUTES = (0, 600)
WEEKS = (0, 520)


@dataclass(frozen=True)
class Question:
    id: str
    section: str
    kind: str  # "choice", "multi", "pain" (a 0-10 keypad), "number", "time" or "zone"
    options: tuple = ()  # values for choice/multi; quick-pick values for number
    limits: tuple[float, float] = PAIN  # for "pain" and "number"
    decimals: bool = False
    extra: tuple = field(default=())  # extra buttons for pain/number: (value, label key)
    only_if: str | None = None  # the condition (a method of conversations.flow.Runner) to ask it
    decides_safety: bool = False  # its answer can decide R1-R4: the questionnaire may stop here

    @property
    def minimum(self) -> float:
        return self.limits[0]

    @property
    def maximum(self) -> float:
        return self.limits[1]

    def labels(self) -> dict:
        """Button labels by value, from templates/questions/labels.j2."""
        return labels_for(self.id)


# The questionnaire, in the order it is asked. The safety screen and the heel-raise test come
# first, so that a possible rupture, clot, infection or drug reaction stops it at once (R1-R4).
# The hop test is only asked when it is safe (see Runner.hop_test_is_safe).
QUESTIONS: tuple[Question, ...] = (
    Question("red_flags", "safety", "multi", URGENT_FLAGS, decides_safety=True),
    Question("age", "profile", "number", limits=AGE),
    Question("side", "profile", "choice", ("left", "right", "both")),
    Question("onset", "profile", "choice", ("gradual", "sudden")),
    Question("heel_raises_reps", "capacity", "number", (0, 5, 10, 15, 20, 25), REPS, decides_safety=True),
    Question("heel_raises_other_side", "capacity", "number", limits=REPS, extra=((None, "skip"),),
             decides_safety=True),
    Question("heel_raises_pain", "capacity", "pain", PAIN_SCALE),
    Question("location", "profile", "choice", ("midportion", "insertional", "unsure")),
    Question("weeks_of_symptoms", "profile", "number", (1, 4, 8, 12, 26), WEEKS),
    Question("morning_stiffness_minutes", "symptoms", "number", (0, 5, 20, 45, 90), MINUTES),
    Question("warmup_pattern", "symptoms", "choice", WARMUP_PATTERNS),
    Question("pain_now", "symptoms", "pain", PAIN_SCALE),
    Question("pain_during_last_run", "symptoms", "pain", PAIN_SCALE, only_if="is_running"),
    Question("settled_next_morning", "symptoms", "choice", (True, False, None)),
    Question("mornings_trend", "symptoms", "choice", ("better", "same", "worse")),
    Question("hop_pain", "capacity", "pain", PAIN_SCALE, extra=((None, "not_tried"),),
             only_if="hop_test_is_safe"),
    Question("weekly_km", "load", "number", (0, 10, 20, 30, 40, 60), KM, decimals=True),
    Question("weekly_km_before", "load", "number", (0, 10, 20, 30, 40, 60), KM, decimals=True),
    Question("recent_changes", "load", "multi", RECENT_CHANGES),
    Question("structured_loading_weeks", "history", "number", (0, 2, 6, 12), WEEKS),
    Question("trend", "history", "choice", ("better", "same", "worse")),
    Question("other_flags", "history", "multi", OTHER_FLAGS),
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
COMMON_TIMES = ("06:30", "07:00", "07:30", "08:00", "12:30", "18:00", "20:00")
COMMON_ZONES = (
    "Europe/London", "Europe/Berlin", "America/New_York", "America/Chicago",
    "America/Denver", "America/Los_Angeles", "Australia/Sydney", "Asia/Tokyo", "UTC",
)

# After onboarding: the reminder set-up, the daily check-in (R9) and the two-weekly retest (R10).
# Their answers go to the record's draft, not to the assessment's answers.
REMINDER_QUESTIONS = (
    Question("reminder_time", "reminders", "time", COMMON_TIMES),
    Question("reminder_zone", "reminders", "zone", COMMON_ZONES),
    Question("strength_days", "reminders", "multi", WEEKDAYS),
)
CHECKIN_QUESTIONS = (
    Question("checkin_pain", "checkin", "pain", PAIN_SCALE, extra=((None, "no_session"),)),
    Question("checkin_settled", "checkin", "choice", (True, False), only_if="had_a_session"),
    Question("checkin_morning", "checkin", "choice", ("better", "same", "worse")),
    Question("checkin_plan_done", "checkin", "choice", ("yes", "partly", "no")),
    Question("checkin_walk", "checkin", "pain", PAIN_SCALE, extra=((None, "no_brisk_walk"),),
             only_if="running_is_off"),
    Question("checkin_walkrun", "checkin", "choice", (True, False, None), only_if="on_the_ladder"),
    Question("checkin_walkrun_pain", "checkin", "pain", PAIN_SCALE, only_if="did_the_walk_run"),
    Question("checkin_km", "checkin", "number", (0, 3, 5, 8, 10, 15), KM_IN_A_DAY, decimals=True,
             only_if="running_normally"),
    Question("checkin_overstride", "checkin", "choice", ("yes", "no", "unsure"), only_if="cadence_unknown"),
)
RETEST_QUESTIONS = (
    Question("retest_reps", "retest", "number", (0, 5, 10, 15, 20, 25, 30), REPS, decides_safety=True),
    Question("retest_reps_other", "retest", "number", limits=REPS, extra=((None, "skip"),),
             decides_safety=True),
    Question("retest_pain", "retest", "pain", PAIN_SCALE),
    Question("retest_stiffness", "retest", "number", (0, 5, 20, 45, 90), MINUTES),
    Question("retest_hop", "retest", "pain", PAIN_SCALE, extra=((None, "not_tried"),),
             only_if="retest_hop_is_safe"),
)
# A VISA-A score typed with /visa: read like any number, with its real range.
VISA_QUESTION = Question("visa", "outcome", "number", limits=(0, 100))

# Answering again after an urgent result: first, whether a clinician has seen them since.
CLEARANCE_QUESTIONS = (Question("seen_clinician", "safety", "choice", (True, False)),)
BY_ID = {
    q.id: q
    for q in (*QUESTIONS, *REMINDER_QUESTIONS, *CHECKIN_QUESTIONS, *RETEST_QUESTIONS, *CLEARANCE_QUESTIONS)
}


@cache
def labels_for(question_id: str) -> dict:
    labels = template_module("questions/labels.j2").labels
    return labels[question_id]


class Unreadable(ValueError):
    """What a runner typed is not an answer to the question; `key` picks the re-ask message."""

    def __init__(self, key: str, **facts: object) -> None:
        super().__init__(key)
        self.key = key
        self.facts = facts


# A number, perhaps with a unit ("12 km", "45 min", "7/10"). Linear to match: nothing in it can
# backtrack, whatever a runner pastes.
NUMBER = re.compile(
    r"(-?)(\d+)(?:[.,](\d+))?\s*"
    r"(?:km|kms|k|kilometres?|kilometers?|min|mins|minutes?|weeks?|wks?|reps?|times|years?|yrs?"
    r"|/\s*10|out of 10)?"
)
LONGEST_NUMBER = 40  # characters: anything longer is a sentence, not a number
MOST_DIGITS = 7  # more digits than this is out of every range, however it is written


def read_text(question: Question, text: str) -> object:
    """A typed answer. Raises Unreadable with what was wrong."""
    if question.kind == "multi":
        raise Unreadable("use_buttons")
    cleaned = text.strip().lower()
    for value, label in question.labels().items():
        if cleaned == str(label).strip().lower():
            return value
    if question.kind == "choice":
        raise Unreadable("use_buttons")
    if question.kind == "time":
        if (clock := parse_time(text)) is None:
            raise Unreadable("not_a_time")
        return clock
    if question.kind == "zone":
        if (zone := find_zone(text)) is None:
            raise Unreadable("not_a_zone")
        return zone
    return read_number(question, cleaned)


def read_number(question: Question, cleaned: str) -> int | float:
    limits = {"minimum": question.minimum, "maximum": question.maximum}
    if cleaned.isascii() and cleaned.isdigit() and len(cleaned) > MOST_DIGITS:
        raise Unreadable("out_of_range", **limits)
    match = NUMBER.fullmatch(cleaned) if len(cleaned) <= LONGEST_NUMBER else None
    if not match:
        raise Unreadable("not_a_number", **limits)
    negative, whole, fraction = match.groups()
    if negative or len(whole.lstrip("0")) > MOST_DIGITS:
        raise Unreadable("out_of_range", **limits)
    if fraction and int(fraction) and not question.decimals:
        raise Unreadable("whole_number", **limits)
    number = float(f"{whole}.{fraction}") if fraction and question.decimals else int(whole)
    if not question.minimum <= number <= question.maximum:
        raise Unreadable("out_of_range", **limits)
    return number


def buttons_for(question: Question) -> list[tuple[object, str]]:
    """(value, label) for each button of a question, in order."""
    labels = question.labels()
    values = list(question.options) + [value for value, _ in question.extra]
    return [(value, labels[value]) for value in values]


def answers_from(stored: dict, current_phase: int | None = None) -> dict:
    """The assessment contract's answers from the questionnaire's stored answers.

    A question that was not asked (the run questions of a runner who is not running, a hop
    test that was not safe) is null in the contract.
    """
    answers = {
        key: stored[key]
        for key in (
            "age", "side", "location", "weeks_of_symptoms", "onset", "morning_stiffness_minutes",
            "warmup_pattern", "pain_now", "settled_next_morning", "mornings_trend",
            "structured_loading_weeks", "trend",
        )
    }
    answers["weekly_km"] = float(stored["weekly_km"])
    answers["weekly_km_before"] = float(stored["weekly_km_before"])
    answers["pain_during_last_run"] = stored.get("pain_during_last_run")
    answers["hop_pain"] = stored.get("hop_pain")
    answers["red_flags"] = list(stored.get("red_flags", [])) + list(stored.get("other_flags", []))
    answers["recent_changes"] = list(stored.get("recent_changes", []))
    answers["heel_raises"] = {"reps": stored["heel_raises_reps"], "pain": stored["heel_raises_pain"]}
    if stored.get("heel_raises_other_side") is not None:
        answers["heel_raises_other_side"] = stored["heel_raises_other_side"]
    if current_phase is not None:
        answers["current_phase"] = current_phase
    return answers
