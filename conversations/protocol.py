"""The loading protocol as data: `protocol.toml`, read and checked once at start-up.

Shapes and ranges are pydantic's job; the cross-references (a phase naming an exercise or dose
that does not exist, a flat alternative that is itself unsafe) are checked here. Every problem
becomes a `ProtocolError` naming the file, the entry and what is wrong.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_PROTOCOL = Path(__file__).with_name("protocol.toml")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DayType = Literal["strength", "plyometric", "recovery"]
Positive = Annotated[int, Field(gt=0)]
NonNegative = Annotated[int, Field(ge=0)]


class ProtocolError(Exception):
    """The protocol file cannot be used; the message says where and why."""


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Exercise(_Data):
    id: str
    name: str = Field(min_length=1)
    how_to: str = Field(min_length=1)
    target: Literal["calf", "soleus", "both"]
    knee: Literal["straight", "bent"]
    surface: Literal["floor", "step", "machine", "hill"]
    insertional_safe: bool
    flat_alternative: str | None = None

    @model_validator(mode="after")
    def _unsafe_needs_alternative(self) -> Exercise:
        if not self.insertional_safe and self.flat_alternative is None:
            raise ValueError("an exercise not safe for insertional pain needs a flat_alternative")
        return self


class DoseStep(_Data):
    from_week: Positive
    sets: Positive | None = None
    reps: Positive | None = None
    seconds: Positive | None = None
    contacts: Positive | None = None
    load: str | None = None


class Dose(_Data):
    kind: Literal["hold", "reps", "contacts"]
    rest_seconds: NonNegative
    times_per_day: Positive = 1
    tempo: str | None = None
    load: str | None = None
    steps: list[DoseStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _steps_fit_kind(self) -> Dose:
        needed = {"hold": ("sets", "seconds"), "reps": ("sets", "reps"), "contacts": ("contacts",)}
        weeks = [step.from_week for step in self.steps]
        if weeks[0] != 1 or weeks != sorted(set(weeks)):
            raise ValueError("steps must start at from_week = 1 and go up week by week")
        for index, step in enumerate(self.steps):
            missing = [name for name in needed[self.kind] if getattr(step, name) is None]
            if missing:
                raise ValueError(f"steps[{index}] of a '{self.kind}' dose needs {', '.join(missing)}")
        return self

    def step_for(self, week: int) -> DoseStep:
        return [step for step in self.steps if step.from_week <= week][-1]


class SessionItem(_Data):
    exercise: str
    dose: str
    from_week: Positive = 1


class Phase(_Data):
    number: Annotated[int, Field(ge=1, le=4)]
    name: str
    aim: str
    week: dict[Literal[WEEKDAYS], DayType]
    sessions: dict[DayType, list[SessionItem]]

    @model_validator(mode="after")
    def _whole_week(self) -> Phase:
        missing = [day for day in WEEKDAYS if day not in self.week]
        if missing:
            raise ValueError(f"week is missing {', '.join(missing)}")
        return self


class Running(_Data):
    single_run_increase_percent: Positive
    weekly_increase_percent: Positive
    restart_fraction: Annotated[float, Field(gt=0, le=1)]


class Cadence(_Data):
    increase_percent: Positive
    example_from: Positive


class Rung(_Data):
    run_minutes: Positive
    run_minutes_up_to: Positive | None = None  # "20-30 min continuous"
    walk_minutes: NonNegative  # 0: continuous running
    repeats: Positive


class WalkRun(_Data):
    walk_pain_at_most: Annotated[int, Field(ge=0, le=10)]
    raises_at_least: NonNegative
    raise_pain_under: Annotated[int, Field(ge=0, le=10)]
    days_between: Positive
    rungs: list[Rung] = Field(min_length=1)


class HeelLift(_Data):
    millimetres: Positive
    full_weeks: Positive
    half_weeks: NonNegative


class Protocol(_Data):
    exercises: list[Exercise]
    doses: dict[str, Dose]
    phases: list[Phase]
    running: Running
    cadence: Cadence
    walk_run: WalkRun
    heel_lift: HeelLift

    def exercise(self, exercise_id: str) -> Exercise:
        return self._exercises_by_id()[exercise_id]

    def phase(self, number: int) -> Phase:
        return next(phase for phase in self.phases if phase.number == number)

    def _exercises_by_id(self) -> dict[str, Exercise]:
        return {exercise.id: exercise for exercise in self.exercises}


def _cross_reference_problems(protocol: Protocol) -> list[str]:
    known = {exercise.id for exercise in protocol.exercises}
    problems = []
    seen: set[str] = set()
    for index, exercise in enumerate(protocol.exercises):
        entry = f"exercises[{index}] ({exercise.id})"
        if exercise.id in seen:
            problems.append(f"{entry}: the id is used twice")
        seen.add(exercise.id)
        alternative = exercise.flat_alternative
        if alternative is None:
            continue
        if alternative not in known:
            problems.append(f"{entry}: flat_alternative '{alternative}' is not in the library")
        elif not protocol.exercise(alternative).insertional_safe:
            problems.append(f"{entry}: flat_alternative '{alternative}' is not insertional-safe")
    numbers = sorted(phase.number for phase in protocol.phases)
    if numbers != [1, 2, 3, 4]:
        problems.append(f"phases: need exactly phases 1, 2, 3 and 4, found {numbers}")
    for index, phase in enumerate(protocol.phases):
        for day_type, items in phase.sessions.items():
            for position, item in enumerate(items):
                entry = f"phases[{index}] (phase {phase.number}) sessions.{day_type}[{position}]"
                if item.exercise not in known:
                    problems.append(f"{entry}: unknown exercise '{item.exercise}'")
                if item.dose not in protocol.doses:
                    problems.append(f"{entry}: unknown dose '{item.dose}'")
    return problems


def _pydantic_problems(error: ValidationError, data: dict) -> list[str]:
    problems = []
    for problem in error.errors():
        loc = problem["loc"]
        entry = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc)
        entry = entry.lstrip(".") or "(top level)"
        # Name the entry the way a clinician knows it: by its id when it has one.
        if len(loc) >= 2 and loc[0] in ("exercises", "phases") and isinstance(loc[1], int):
            try:
                item = data[loc[0]][loc[1]]
                label = item.get("id") or f"phase {item.get('number')}"
                entry = entry.replace(f"{loc[0]}[{loc[1]}]", f"{loc[0]}[{loc[1]}] ({label})", 1)
            except (KeyError, IndexError, TypeError, AttributeError):
                pass
        problems.append(f"{entry}: {problem['msg']}")
    return problems


def load_protocol(path: str | Path = DEFAULT_PROTOCOL) -> Protocol:
    """Read and check a protocol file; raise ProtocolError naming the file, entry and problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ProtocolError(f"{path}: cannot read the protocol file ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ProtocolError(f"{path}: not valid TOML: {error}") from None
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as error:
        problems = _pydantic_problems(error, data)
    else:
        problems = _cross_reference_problems(protocol)
    if problems:
        raise ProtocolError("\n".join(f"{path}: {problem}" for problem in problems))
    return protocol


@cache
def default_protocol() -> Protocol:
    return load_protocol(DEFAULT_PROTOCOL)


# The protocol's words a runner reads, translated through the same catalogs as the templates.
WORDS = ("name", "how_to", "aim", "tempo", "load")


def extract_words(fileobj, keywords, comment_tags, options):
    """Babel's extractor for protocol.toml (see babel.cfg): each runner-facing text, once."""
    text = fileobj.read().decode("utf-8")
    found: list[str] = []

    def walk(value: object, key: str = "") -> None:
        if isinstance(value, dict):
            for name, inner in value.items():
                walk(inner, name)
        elif isinstance(value, list):
            for inner in value:
                walk(inner, key)
        elif isinstance(value, str) and key in WORDS and value not in found:
            found.append(value)

    walk(tomllib.loads(text))
    for words in found:
        line = text[: text.find(words)].count("\n") + 1
        yield line, "_", words, []
