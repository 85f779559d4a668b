"""Today's plan: the protocol's session for this phase, week and weekday, with modifications.

Pure data: the same phase, week, date and modifications always give the same plan; its words
(doses, running advice, what each modification means) are in `templates/plan/`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date

from conversations.answers import Answers, Assessment
from conversations.protocol import (
    WEEKDAYS,
    Cadence,
    Exercise,
    HeelLift,
    Protocol,
    Rung,
    Running,
    SessionItem,
    default_protocol,
)
from conversations.return_to_running import Build, session_due
from conversations.triage import assess, is_running

CONTACTS_PER_SET = 10  # hops are counted in sets of about ten contacts
LIGHTER_CONTACTS = 0.7  # after a check-in that asked to reduce: about a third fewer contacts


@dataclass(frozen=True)
class PlannedExercise:
    id: str
    name: str
    how_to: str
    sets: int
    reps: int | None
    seconds: int | None
    contacts: int | None
    tempo: str | None
    load: str | None
    rest_seconds: int
    times_per_day: int
    instead_of: str | None = None  # the exercise a modification replaced, by name


@dataclass(frozen=True)
class DayPlan:
    date: date
    phase: int
    phase_name: str
    phase_aim: str
    week: int
    day_type: str
    exercises: list[PlannedExercise]
    running: str
    currently_running: bool
    running_rules: Running
    cadence: Cadence
    modifications: list[str] = field(default_factory=list)  # ids, and "lighter" after a bad day
    comeback: str = "running"  # off, ladder or running (conversations.return_to_running)
    walk_run: Rung | None = None  # today's walk-run session, when one is due
    rung: int = 0  # the ladder's rung (0-based)
    rungs: int = 0
    build: Build | None = None  # this week's running target and the single-run cap
    overstride: str | None = None  # "yes", "no", "unsure"; None: not asked
    heel_lift: dict | None = None  # {"stage": "full" | "half" | "off", "millimetres": ...}
    add_load: bool = False  # pain 0-2 all last week: a little heavier within the block

    def as_json(self) -> dict:
        data = asdict(self)
        data["date"] = self.date.isoformat()
        data["running_rules"] = self.running_rules.model_dump()
        data["cadence"] = self.cadence.model_dump()
        data["walk_run"] = self.walk_run.model_dump() if self.walk_run else None
        return data


def needs_flat_alternative(exercise: Exercise, modifications: list[str]) -> bool:
    if "flat_floor_only" in modifications and not exercise.insertional_safe:
        return True
    return "no_hills_or_speed" in modifications and exercise.surface == "hill"


def _session_exercises(
    items: list[SessionItem], week: int, modifications: list[str], protocol: Protocol, lighter: bool
) -> list[PlannedExercise]:
    items = [item for item in items if item.from_week <= week]
    planned: list[PlannedExercise] = []
    chosen: set[str] = set()
    contact_exercises = sum(protocol.doses[i.dose].kind == "contacts" for i in items)
    for item in items:
        exercise = protocol.exercise(item.exercise)
        replaced = None
        if needs_flat_alternative(exercise, modifications):
            replaced, exercise = exercise.name, protocol.exercise(exercise.flat_alternative)
        if exercise.id in chosen:
            continue  # two exercises swapped to the same floor version: do it once
        chosen.add(exercise.id)
        dose = protocol.doses[item.dose]
        step = dose.step_for(week)
        sets, reps, contacts = step.sets, step.reps, None
        if lighter and sets:
            sets = max(1, sets - 1)  # one set fewer keeps the movement but eases the load
        if dose.kind == "contacts":
            total = step.contacts * (LIGHTER_CONTACTS if lighter else 1)
            contacts = math.ceil(total / contact_exercises)
            sets = max(1, round(contacts / CONTACTS_PER_SET))
            reps = math.ceil(contacts / sets)
        planned.append(
            PlannedExercise(
                id=exercise.id,
                name=exercise.name,
                how_to=exercise.how_to,
                sets=sets,
                reps=reps,
                seconds=step.seconds,
                contacts=contacts,
                tempo=dose.tempo,
                load=step.load or dose.load,
                rest_seconds=dose.rest_seconds,
                times_per_day=dose.times_per_day,
                instead_of=replaced,
            )
        )
    return planned


def week_pattern(pattern: dict[str, str], strength_days: tuple[str, ...] | None) -> dict[str, str]:
    """The phase's week moved onto the runner's chosen strength days.

    The phase says how many strength days it has; they go to the first of the runner's days.
    Hopping days keep their place unless that is now a strength day, then move to the next
    free day.
    """
    phase_strength = [day for day in WEEKDAYS if pattern[day] == "strength"]
    if not strength_days or len(phase_strength) == len(WEEKDAYS):
        return pattern
    chosen = [day for day in WEEKDAYS if day in strength_days][: len(phase_strength)]
    week = dict.fromkeys(WEEKDAYS, "recovery")
    for day in chosen:
        week[day] = "strength"
    for day in (d for d in WEEKDAYS if pattern[d] == "plyometric"):
        index = WEEKDAYS.index(day)
        while week[WEEKDAYS[index % 7]] != "recovery":
            index += 1
        week[WEEKDAYS[index % 7]] = "plyometric"
    return week


def build_plan(
    *,
    phase: int,
    running: str,
    modifications: list[str],
    on: date,
    week: int = 1,
    currently_running: bool = True,
    strength_days: tuple[str, ...] | None = None,
    lighter: bool = False,
    protocol: Protocol | None = None,
    comeback: dict | None = None,
    build: Build | None = None,
    heel_lift: dict | None = None,
    add_load: bool = False,
    overstride: str | None = None,
) -> DayPlan:
    """The plan for one day of a phase (week counts from 1 inside the phase).

    `lighter` is set after a check-in that asked to reduce the load (R9); `comeback` is where
    running stands (conversations.return_to_running), `build` this week's running numbers.
    """
    protocol = protocol or default_protocol()
    spec = protocol.phase(phase)
    day_type = week_pattern(spec.week, strength_days)[WEEKDAYS[on.weekday()]]
    items = spec.sessions.get(day_type, [])
    exercises = _session_exercises(items, week, modifications, protocol, lighter)
    applied = [*modifications, "lighter"] if lighter else list(modifications)
    return DayPlan(
        date=on,
        phase=phase,
        phase_name=spec.name,
        phase_aim=spec.aim,
        week=week,
        day_type=day_type,
        exercises=exercises,
        running=running,
        currently_running=currently_running,
        running_rules=protocol.running,
        cadence=protocol.cadence,
        modifications=applied,
        **running_today(comeback, on, protocol),
        build=build,
        overstride=overstride,
        heel_lift=heel_lift or (heel_lift_today(on.isoformat(), on, protocol.heel_lift)
                                if "higher_drop_or_heel_lift" in modifications else None),
        add_load=add_load and phase == 2,  # only the heavy slow block takes extra load
    )


def running_today(comeback: dict | None, on: date, protocol: Protocol) -> dict:
    """Where running stands, and on the walk-run ladder today's session if one is due."""
    comeback = comeback or {"stage": "running"}
    rules = protocol.walk_run
    rung = min(comeback.get("rung", 0), len(rules.rungs) - 1)
    due = comeback["stage"] == "ladder" and session_due(comeback.get("last_session"), on, rules)
    return {"comeback": comeback["stage"], "walk_run": rules.rungs[rung] if due else None, "rung": rung,
            "rungs": len(rules.rungs)}


def heel_lift_today(since: str | None, on: date, rules: HeelLift) -> dict | None:
    """A heel lift offered on `since`: full height first, then half, then weaned off."""
    if since is None:
        return None
    weeks = (on - date.fromisoformat(since)).days // 7
    if weeks < rules.full_weeks:
        return {"stage": "full", "millimetres": rules.millimetres, "weeks_left": rules.full_weeks - weeks}
    if weeks < rules.full_weeks + rules.half_weeks:
        return {"stage": "half", "millimetres": rules.millimetres // 2,
                "weeks_left": rules.full_weeks + rules.half_weeks - weeks}
    return {"stage": "off", "millimetres": 0, "weeks_left": 0}


def plan_for_answers(
    answers: Answers, *, on: date, week: int = 1, protocol: Protocol | None = None
) -> tuple[Assessment, DayPlan | None]:
    """Assess, then plan; no plan when the assessment gives no programme."""
    assessment = assess(answers)
    if assessment.phase is None:
        return assessment, None
    plan = build_plan(
        phase=assessment.phase,
        running=assessment.running,
        modifications=list(assessment.modifications),
        on=on,
        week=week,
        currently_running=is_running(answers),
        protocol=protocol,
    )
    return assessment, plan
