"""The questionnaire as data: each question, what kind of answer it takes, and how to read it.

The words (question text, button labels, re-ask messages) live in `templates/questions/`.
`read_text` turns what a runner typed into a value, or says why not (`Unreadable`);
`answers_from` assembles the stored answers into the assessment contract of INTAKE.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache

from conversations.answers import OTHER_FLAGS, RECENT_CHANGES, URGENT_FLAGS, WARMUP_PATTERNS
from conversations.messages import LANGUAGES, option_labels
from conversations.reminders import find_zone, folded, parse_time

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
    unit: str | None = None  # what a "number" counts, a key of UNITS ("pain" is out of ten)

    @property
    def minimum(self) -> float:
        return self.limits[0]

    @property
    def maximum(self) -> float:
        return self.limits[1]

    def labels(self) -> dict:
        """Button labels by value (English), from templates/questions/labels.j2."""
        return option_labels(self.id)


# The questionnaire, in the order it is asked. The safety screen and the heel-raise test come
# first, so that a possible rupture, clot, infection or drug reaction stops it at once (R1-R4).
# The hop test is only asked when it is safe (see Runner.hop_test_is_safe).
QUESTIONS: tuple[Question, ...] = (
    Question("red_flags", "safety", "multi", URGENT_FLAGS, decides_safety=True),
    Question("age", "profile", "number", limits=AGE, unit="years"),
    Question("side", "profile", "choice", ("left", "right", "both")),
    Question("onset", "profile", "choice", ("gradual", "sudden")),
    Question("heel_raises_reps", "capacity", "number", (0, 5, 10, 15, 20, 25), REPS, decides_safety=True,
             unit="reps"),
    Question("heel_raises_other_side", "capacity", "number", limits=REPS, extra=((None, "skip"),),
             decides_safety=True, unit="reps"),
    Question("heel_raises_pain", "capacity", "pain", PAIN_SCALE),
    Question("location", "profile", "choice", ("midportion", "insertional", "unsure")),
    Question("weeks_of_symptoms", "profile", "number", (1, 4, 8, 12, 26), WEEKS, unit="weeks"),
    Question("morning_stiffness_minutes", "symptoms", "number", (0, 5, 20, 45, 90), MINUTES,
             unit="minutes"),
    Question("warmup_pattern", "symptoms", "choice", WARMUP_PATTERNS),
    Question("pain_now", "symptoms", "pain", PAIN_SCALE),
    Question("pain_during_last_run", "symptoms", "pain", PAIN_SCALE, only_if="is_running"),
    Question("settled_next_morning", "symptoms", "choice", (True, False, None)),
    Question("mornings_trend", "symptoms", "choice", ("better", "same", "worse")),
    Question("hop_pain", "capacity", "pain", PAIN_SCALE, extra=((None, "not_tried"),),
             only_if="hop_test_is_safe"),
    Question("weekly_km", "load", "number", (0, 10, 20, 30, 40, 60), KM, decimals=True, unit="km"),
    Question("weekly_km_before", "load", "number", (0, 10, 20, 30, 40, 60), KM, decimals=True,
             unit="km"),
    Question("recent_changes", "load", "multi", RECENT_CHANGES),
    Question("structured_loading_weeks", "history", "number", (0, 2, 6, 12), WEEKS, unit="weeks"),
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
             only_if="running_normally", unit="km"),
    Question("checkin_overstride", "checkin", "choice", ("yes", "no", "unsure"), only_if="cadence_unknown"),
)
RETEST_QUESTIONS = (
    Question("retest_reps", "retest", "number", (0, 5, 10, 15, 20, 25, 30), REPS, decides_safety=True,
             unit="reps"),
    Question("retest_reps_other", "retest", "number", limits=REPS, extra=((None, "skip"),),
             decides_safety=True, unit="reps"),
    Question("retest_pain", "retest", "pain", PAIN_SCALE),
    Question("retest_stiffness", "retest", "number", (0, 5, 20, 45, 90), MINUTES, unit="minutes"),
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


class Unreadable(ValueError):
    """What a runner typed is not an answer to the question; `key` picks the re-ask message."""

    def __init__(self, key: str, **facts: object) -> None:
        super().__init__(key)
        self.key = key
        self.facts = facts


def _same(one: object, other: object) -> bool:
    return type(one) is type(other) and one == other  # True is not 1, nor None "no answer"


@cache
def typed_labels(question_id: str) -> dict[str, tuple]:
    """What typing each button of a question means, in every language at once: the folded label
    ("si, se calmo") and, for a label like "Sí, se calmó", its first part ("si") -> the values it
    could mean. The language a runner types in is never assumed. A first part that begins another
    value's label ("no" beside "No recent run") is left out; several values is a clash, refused."""
    labels = [(value, folded(str(label))) for lang in LANGUAGES
              for value, label in option_labels(question_id, lang).items()]
    forms: dict[str, list] = {}

    def add(form: str, value: object) -> None:
        known = forms.setdefault(form, [])
        if not any(_same(value, other) for other in known):
            known.append(value)

    for value, label in labels:
        add(label, value)
    for value, label in labels:
        head = folded(label.partition(",")[0])
        if head != label and not any(
            not _same(value, other) and (text == head or text.startswith(head + " "))
            for other, text in labels
        ):
            add(head, value)
    return {form: tuple(values) for form, values in forms.items()}


# What a typed number counts, in English and Spanish, as read after `folded` (no accents: "dias",
# "anos"). A number is read only in its question's unit or one that converts exactly (UNIT_SIZES):
# "45 min" is not 45 weeks, "1 hora" of stiffness is 60 minutes, "14 dias" is 2 weeks.
UNITS = {
    "weeks": ("week", "weeks", "wk", "wks", "semana", "semanas", "sem"),
    "days": ("day", "days", "dia", "dias"),
    "minutes": ("min", "mins", "minute", "minutes", "minuto", "minutos"),
    "hours": ("h", "hr", "hrs", "hour", "hours", "hora", "horas"),
    "km": ("km", "kms", "k", "kilometre", "kilometres", "kilometer", "kilometers", "kilometro", "kilometros"),
    "reps": ("rep", "reps", "times", "repeticion", "repeticiones", "veces", "vez"),
    "years": ("year", "years", "yr", "yrs", "ano", "anos"),
}
UNIT_SIZES = {("hours", "minutes"): Fraction(60), ("days", "weeks"): Fraction(1, 7)}
NUMBER_WORDS = {
    **dict.fromkeys(("zero", "cero"), 0), **dict.fromkeys(("one", "un", "una", "uno"), 1),
    "two": 2, "dos": 2, "three": 3, "tres": 3, "four": 4, "cuatro": 4, "five": 5, "cinco": 5,
    "six": 6, "seis": 6, "seven": 7, "siete": 7, "eight": 8, "ocho": 8, "nine": 9, "nueve": 9,
    "ten": 10, "diez": 10,
}
_UNIT_OF = {word: unit for unit, words in UNITS.items() for word in words}


def _either(words) -> str:
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


# A number, perhaps with a unit ("12 km", "45 min", "7/10", "7 de 10", "siete"), read after
# `folded` (single spaces), at most LONGEST_NUMBER long. Linear to match: nothing in it can backtrack.
NUMBER = re.compile(
    rf"(-?)(?:(\d+)(?:[.,](\d+))?|({_either(NUMBER_WORDS)}))"
    rf"(?: ?({_either(_UNIT_OF)})|( ?(?:/|out of|de|sobre) ?(?:10|ten|diez)))?"
)
LONGEST_NUMBER = 40  # characters: anything longer is a sentence, not a number
MOST_DIGITS = 7  # more digits than this is out of every range, however it is written


def read_text(question: Question, text: str) -> object:
    """A typed answer, in any of LANGUAGES. Raises Unreadable with what was wrong."""
    if question.kind == "multi":
        raise Unreadable("use_buttons")
    typed = folded(text)
    meanings = typed_labels(question.id).get(typed, ())
    if len(meanings) == 1:
        return meanings[0]
    if meanings or question.kind == "choice":  # several meanings: the buttons, not a guess
        raise Unreadable("use_buttons")
    if question.kind == "time":
        if (clock := parse_time(text)) is None:
            raise Unreadable("not_a_time")
        return clock
    if question.kind == "zone":
        if (zone := find_zone(text)) is None:
            raise Unreadable("not_a_zone")
        return zone
    return read_number(question, typed)


def read_number(question: Question, text: str) -> int | float:
    limits = {"minimum": question.minimum, "maximum": question.maximum}
    cleaned = folded(text)
    if cleaned.isascii() and cleaned.isdigit() and len(cleaned) > MOST_DIGITS:
        raise Unreadable("out_of_range", **limits)
    match = NUMBER.fullmatch(cleaned) if len(cleaned) <= LONGEST_NUMBER else None
    if not match:
        raise Unreadable("not_a_number", **limits)
    negative, whole, fraction, word, unit_word, out_of_ten = match.groups()
    if negative or (whole and len(whole.lstrip("0")) > MOST_DIGITS):
        raise Unreadable("out_of_range", **limits)
    if word:
        number = Fraction(NUMBER_WORDS[word])
    else:
        number = Fraction(int(whole)) + (Fraction(int(fraction), 10 ** len(fraction)) if fraction else 0)
    wanted = "out_of_ten" if question.kind == "pain" else question.unit
    said = "out_of_ten" if out_of_ten else _UNIT_OF.get(unit_word)
    if said and said != wanted:
        size = UNIT_SIZES.get((said, wanted))
        if size is None or (number * size).denominator != 1:  # another measure, or not a whole one
            raise Unreadable("not_a_number", **limits)
        number *= size
    if number.denominator != 1 and not question.decimals:
        raise Unreadable("whole_number", **limits)
    if not question.minimum <= number <= question.maximum:
        raise Unreadable("out_of_range", **limits)
    return int(number) if number.denominator == 1 else float(number)


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
