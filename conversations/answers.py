"""A runner's answers and the assessment made from them: the contract of INTAKE.md as typed models.

Validation is pydantic's, in strict mode, so "5" is not a number and unknown fields are refused;
`describe_errors` turns its errors into one line per bad field for people to read.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

# The safety screen's flags (R1-R4): any of them means care today. The others ask for a
# clinician this week (R5, R6).
URGENT_FLAGS = (
    "pop_or_kick",
    "cannot_heel_raise",
    "gap_in_tendon",
    "calf_swelling_warmth_redness",
    "breathless_or_chest_pain",
    "fever_or_hot_heel",
    "fluoroquinolone",
)
OTHER_FLAGS = (
    "rest_or_night_pain",
    "weight_loss_or_lump",
    "tingling_or_numbness",
    "inflammatory_signs",
    "lumpy_tendons",
)
RED_FLAGS = URGENT_FLAGS + OTHER_FLAGS
RedFlag = Literal[RED_FLAGS]

RecentChange = Literal["hills", "speed_work", "lower_drop_shoes", "new_surface", "longer_long_run"]
RECENT_CHANGES: tuple[str, ...] = RecentChange.__args__

WarmupPattern = Literal[
    "eases_then_returns",
    "eases_and_stays_away",
    "worsens_while_running",
    "constant",
    "only_after",
    "not_running",
]
WARMUP_PATTERNS: tuple[str, ...] = WarmupPattern.__args__

Trend = Literal["better", "same", "worse"]
Pain = Annotated[int, Field(ge=0, le=10)]
Count = Annotated[int, Field(ge=0)]
Km = Annotated[float, Field(ge=0, allow_inf_nan=False)]

Triage = Literal["emergency", "urgent", "refer", "self_care"]
Referral = Literal["emergency", "today", "this_week", "routine", "none"]
Running = Literal["stop", "reduce", "hold", "progress"]
Modification = Literal[
    "flat_floor_only", "undo_load_spike", "higher_drop_or_heel_lift", "no_hills_or_speed"
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class HeelRaises(_Strict):
    reps: Count
    pain: Pain


class Answers(_Strict):
    age: Annotated[int, Field(ge=10, le=100)]
    side: Literal["left", "right", "both"]
    location: Literal["midportion", "insertional", "unsure"]
    weeks_of_symptoms: Count
    onset: Literal["gradual", "sudden"]
    red_flags: list[RedFlag]
    morning_stiffness_minutes: Count
    warmup_pattern: WarmupPattern
    pain_now: Pain
    pain_during_last_run: Pain | None
    settled_next_morning: bool | None
    mornings_trend: Trend
    heel_raises: HeelRaises
    hop_pain: Pain | None
    weekly_km: Km
    weekly_km_before: Km
    recent_changes: list[RecentChange]
    structured_loading_weeks: Count
    trend: Trend
    current_phase: Annotated[int, Field(ge=1, le=4)] | None = None
    heel_raises_other_side: Count | None = None


class Reason(_Strict):
    """Why: a rule of the brief that fired, with what made it fire. Its words are rendered when
    shown (`templates/reasons/`), never stored."""

    rule: str
    whys: list[str]
    facts: dict[str, int | float | bool | str | None]


class Assessment(_Strict):
    triage: Triage
    referral: Referral
    phase: Annotated[int, Field(ge=1, le=4)] | None
    running: Running
    modifications: list[Modification]
    reasons: list[Reason]


def contract_json(assessment: Assessment, lang: str = "en") -> dict:
    """The assessment as INTAKE.md's contract has it: each reason with its plain-language text
    (in `lang`; the rule ids and everything else are the same in every language)."""
    from conversations.messages import reason_text  # the contract's only words

    data = assessment.model_dump()
    data["reasons"] = [{"rule": r.rule, "text": reason_text(r, lang)} for r in assessment.reasons]
    return data


def parse_answers(data: object) -> Answers:
    """Validate raw answers (a dict parsed from JSON); raises pydantic.ValidationError."""
    return Answers.model_validate(data)


def describe_errors(error: ValidationError) -> list[str]:
    """One line per bad field, e.g. 'heel_raises.reps: Input should be greater than or equal to 0'."""
    lines = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"]) or "answers"
        lines.append(f"{field}: {problem['msg']}")
    return lines
