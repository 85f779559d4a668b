"""Twelve weeks of the programme, simulated: scripted runners check in every morning through the
real engine on a clock that moves a day at a time, and each week's phase, strength dose and
running are written down, for a clinician to check against the brief (`docs/programme.md`,
`achilles-coach programme`).

The runners, all starting as the typical runner (phase 2, running 30 km a week):

- easy: pain 0-2 every day, retests that improve;
- steady: pain 4 every day, always settling by the morning, heel raises stuck at 15;
- flare: pain 2, then two bad mornings in a row in week 5;
- stopped: running stopped in week 2 (a run at 7/10), then back by the walk-run ladder, with
  one bad walk-run on the way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conversations.clinic import load_clinic
from conversations.engine import Engine
from conversations.intake import BY_ID
from conversations.messages import template_module
from conversations.protocol import Protocol
from conversations.replies import OPTION, Event, Reply
from conversations.turn import Services, Turn
from storage import open_store

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "programme.md"
START = datetime(2027, 3, 1, 7, 0, tzinfo=UTC)  # a Monday morning in London
WEEKS = 12
RUNNER = 1
INTAKE = {  # the typical runner's answers, by question id
    "red_flags": [], "age": 38, "side": "right", "onset": "gradual", "heel_raises_reps": 18,
    "heel_raises_other_side": None, "heel_raises_pain": 3, "location": "midportion", "weeks_of_symptoms": 6,
    "morning_stiffness_minutes": 20, "warmup_pattern": "eases_then_returns", "pain_now": 2,
    "pain_during_last_run": 3, "settled_next_morning": True, "mornings_trend": "same", "hop_pain": 4,
    "weekly_km": 30, "weekly_km_before": 30, "recent_changes": [], "structured_loading_weeks": 0,
    "trend": "same", "other_flags": [], "reminder_time": "07:30", "reminder_zone": "Europe/London",
    "strength_days": ["mon", "wed", "fri"],
}
GOOD_DAY = {"checkin_pain": 1, "checkin_settled": True, "checkin_morning": "same", "checkin_plan_done": "yes",
            "checkin_walk": 1, "checkin_walkrun": None, "checkin_walkrun_pain": 2, "checkin_km": 5,
            "checkin_overstride": "no"}


@dataclass(frozen=True)
class Script:
    name: str
    about: str
    day: Callable[[int], dict]  # day 1, 2... -> the check-in's answers
    retest: Callable[[int], dict]  # week -> the retest's answers


def easy_day(day: int) -> dict:
    return GOOD_DAY


def steady_day(day: int) -> dict:
    return {**GOOD_DAY, "checkin_pain": 4, "checkin_km": 4}


def flare_day(day: int) -> dict:
    if day in (29, 30):  # week 5: a hard session, then two bad mornings in a row
        return {**GOOD_DAY, "checkin_pain": 7, "checkin_settled": False, "checkin_morning": "worse"}
    return {**GOOD_DAY, "checkin_pain": 2, "checkin_walkrun": True if day % 2 == 0 else None}


def stopped_day(day: int) -> dict:
    if day < 9:
        return {**GOOD_DAY, "checkin_pain": 2}
    if day == 9:  # a run at 7/10: running stops
        return {**GOOD_DAY, "checkin_pain": 7, "checkin_km": 6}
    walk_run_day = day % 2 == 0
    walk_run_pain = 6 if day == 20 else 2  # one bad walk-run on the way: a rung back
    return {**GOOD_DAY, "checkin_pain": 2, "checkin_walk": 3 if day < 12 else 1,
            "checkin_walkrun": True if walk_run_day else None, "checkin_walkrun_pain": walk_run_pain}


def improving(week: int) -> dict:
    reps = min(18 + 3 * week, 32)
    return {"retest_reps": reps, "retest_reps_other": 32, "retest_pain": 1 if week >= 4 else 2,
            "retest_stiffness": 0, "retest_hop": 1 if week >= 4 else 3}


def stuck(week: int) -> dict:
    return {"retest_reps": 15, "retest_reps_other": 30, "retest_pain": 4, "retest_stiffness": 20,
            "retest_hop": 4}


SCRIPTS = (
    Script("easy", "Pain 0-2 every day; retests improve.", easy_day, improving),
    Script("steady", "Pain 4 every day, always settled by the morning; heel raises stuck at 15.", steady_day,
           stuck),
    Script("flare", "Pain 2, then a flare in week 5 (7/10, not settled, two worse mornings in a row).",
           flare_day, improving),
    Script("stopped", "Running stopped in week 2 by a run at 7/10, then the walk-run ladder back, one bad "
           "walk-run (6/10) on the way.", stopped_day, improving),
)


class Runner:
    """One scripted runner, answering whatever the engine asks, as a runner would tap or type."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.replies: list[Reply] = []

    @property
    def state(self) -> str:
        return self.engine.store.load(RUNNER)["state"]

    def send(self, event: Event) -> None:
        self.replies = self.engine.handle(RUNNER, event).replies

    def tap(self, found: Callable) -> None:
        buttons = [button for reply in self.replies for row in reply.buttons for button in row]
        self.send(Event("button", next(button.data for button in buttons if found(button))))

    def answer(self, value: object) -> None:
        question = BY_ID[self.state]
        if question.kind == "multi":
            ticked = self.engine.store.load(RUNNER).get("selection", [])
            for index, option in enumerate(question.options):
                if (option in value) != (option in ticked):
                    self.tap(lambda button, i=index: button.data.endswith(f"|t{i}"))
            self.tap(lambda button: button.data.endswith("|done"))
        elif question.kind in ("number", "pain") and value is not None:
            self.send(Event("text", str(value)))
        else:
            self.tap(lambda button: button.label == OPTION and button.facts["value"] == value)

    def answer_all(self, answers: dict) -> None:
        """Every question the engine asks, for as long as `answers` has the answer."""
        while self.state in answers:
            self.answer(answers[self.state])


@dataclass(frozen=True)
class Week:
    number: int
    phase: int
    strength: str  # next week's strength dose, as the runner reads it
    decision: str
    running: str
    retest: str = ""
    ladder: tuple[int, ...] = ()  # the rung (1-based) after each check-in on the walk-run ladder


def simulate(script: Script, protocol: Protocol) -> list[Week]:
    clock = [START]
    engine = Engine(open_store(None), load_clinic(), protocol, lambda: clock[0])  # in memory: a sketch
    runner = Runner(engine)
    runner.send(Event("command", "start"))
    runner.tap(lambda button: button.label == "agree")
    runner.answer_all(INTAKE)  # the questionnaire, then the reminder set-up
    weeks, retest, ladder, weighed = [], "", [], ""
    for day in range(1, WEEKS * 7 + 1):
        clock[0] = START + timedelta(days=day)
        runner.send(Event("command", "checkin"))
        runner.answer_all(script.day(day))
        if day % 7 == 6:  # the seventh day of the load schedule's week: the week is weighed
            weighed = engine.store.checkins(RUNNER)[-1]["decision"]
        if runner.state == "retest_reps":
            runner.answer_all(script.retest(day // 7))
            retest = retested(runner.replies, engine.store.load(RUNNER))
        comeback = engine.store.load(RUNNER).get("comeback", {})
        if comeback.get("stage") == "ladder":
            ladder.append(comeback["rung"] + 1)
        if day % 7 == 0:
            weeks.append(snapshot(engine, day // 7, weighed, clock[0], retest, tuple(ladder)))
            retest, ladder = "", []
    return weeks


def retested(replies: list[Reply], record: dict) -> str:
    """A retest in a few words: the raises, the phase it leads to, and any clinician it asks for."""
    found = next(reply for reply in replies if reply.template == "checkin/retest_result.j2")
    latest = record["retests"][-1]
    referral = "".join(f", {reason.rule}: see a clinician" for reason in found.facts["referral"])
    return f"{latest['reps']} raises at {latest['pain']}/10: phase {found.facts['phase'].number}{referral}"


def snapshot(engine: Engine, number: int, decision: str, now: datetime, retest: str,
             ladder: tuple[int, ...]) -> Week:
    """The week as a clinician would check it: the phase, the dose the coming Monday brings,
    the week's last decision and where running stands."""
    record = engine.store.load(RUNNER)
    monday = now + timedelta(days=-now.weekday() % 7)
    services = Services(engine.store, engine.clinic, engine.services.protocol, lambda: monday)
    if record["state"] == "urgent" or record.get("phase") is None:
        return Week(number, 0, "none", decision, "none")
    plan = Turn(record, services).todays_plan()
    dose = template_module("plan/_dose.j2").dose
    strength = ", ".join(f"{exercise.name} {dose(exercise)}" for exercise in plan.exercises[:1]) or "rest day"
    if plan.comeback == "off":
        running = "stopped"
    elif plan.comeback == "ladder":
        running = f"walk-run, rung {plan.rung + 1} of {plan.rungs}"
    else:
        running = plan.running + (f", up to {plan.build.single_run_cap_km} km a run" if plan.build and
                                  plan.build.single_run_cap_km else "")
    return Week(number, plan.phase, strength + (" (add load)" if plan.add_load else ""), decision, running,
                retest, ladder)


def document(protocol: Protocol) -> str:
    lines = [
        "# The programme over twelve weeks, simulated",
        "",
        "Written by `achilles-coach programme` (a test keeps it current). Each runner starts as the",
        "typical runner (phase 2, running 30 km a week), checks in every morning through the real",
        "engine and retests every two weeks. Each row is the end of a week: the phase, the strength",
        "dose the next Monday brings, the decision that weighed the week, where running stands (and",
        "the walk-run rungs it went through that week), and the retest if there was one.",
    ]
    for script in SCRIPTS:
        lines += ["", f"## {script.name}", "", script.about, "",
                  "| week | phase | strength (next Monday) | week weighed | running | retest |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {w.number} | {w.phase} | {w.strength} | {w.decision} | {w.running}"
                  f"{' (rungs ' + ', '.join(map(str, w.ladder)) + ')' if w.ladder else ''} | {w.retest} |"
                  for w in simulate(script, protocol)]
    return "\n".join(lines) + "\n"

