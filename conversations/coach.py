"""The conversation engine: one event from a runner in, the screens to show them out.

Telegram and the terminal chat both drive this. An event is a command, typed text or a tapped
button; the engine loads the runner's record, moves the state machine (`conversations.flow`),
saves the record before anything is shown (so nothing a runner confirmed is lost) and returns
`Reply` objects: rendered HTML plus buttons, which each adapter draws in its own way.

Button data is `"<step>|<token>"`: `step` counts the questions asked, so a tap on a button from
an older message is recognised and changes nothing. Global buttons (`"g|..."`) work anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from conversations.answers import Assessment
from conversations.clinic import Clinic
from conversations.flow import AFTER_ONBOARDING, QUESTION_STATES, Bound
from conversations.intake import BY_ID, QUESTIONS, Question, Unreadable, buttons_for, read_text
from conversations.messages import render, template_module
from conversations.plan import DayPlan, build_plan
from conversations.protocol import Protocol
from storage import RunnerStore

RECORD_VERSION = 1
CHECK = "✅"
BOX = "▫️"


@dataclass(frozen=True)
class Event:
    kind: str  # "command", "text" or "button"
    value: str  # the command name without "/", the text, or the button data
    argument: str = ""  # what followed a command, e.g. a /start deep-link payload
    update_id: int | None = None  # Telegram's, to ignore a redelivered update after a crash


@dataclass(frozen=True)
class Button:
    label: str
    data: str | None = None
    url: str | None = None


@dataclass
class Reply:
    html: str
    buttons: list[list[Button]] = field(default_factory=list)
    edit: bool = False  # replace the message whose button was tapped
    document: tuple[str, bytes] | None = None  # (file name, content)
    notice: str | None = None  # a short note on the tapped button (Telegram's callback answer)


def label(name: str) -> str:
    """A button's label, from templates/buttons.j2."""
    return getattr(template_module("buttons.j2"), name)


class Coach:
    """The engine. One instance serves every runner; it keeps no per-runner state itself."""

    def __init__(
        self,
        store: RunnerStore,
        clinic: Clinic,
        protocol: Protocol,
        now: Callable[[], datetime],
    ) -> None:
        self.store = store
        self.clinic = clinic
        self.protocol = protocol
        self.now = now

    # --- entry point ------------------------------------------------------------------------

    def handle(self, runner_id: int, event: Event) -> list[Reply]:
        record = self.store.load(runner_id)
        seen = record.get("last_update_id", -1) if record else -1
        if event.update_id is not None and event.update_id <= seen:
            return []  # already handled before a restart
        if record is None:
            record = {"runner_id": runner_id, "state": "welcome", "step": 0, "v": RECORD_VERSION}
        turn = Turn(self, record)
        replies = turn.dispatch(event)
        if turn.erased:
            return replies
        consent = record.get("consent")
        if consent is not None:  # before consent nothing is stored; after a refusal, only that
            if event.update_id is not None and consent["given"]:
                record["last_update_id"] = event.update_id
            self.store.save(runner_id, record)
        return replies

    def today(self) -> date:
        return self.now().astimezone(self.clinic.zone).date()


class Turn:
    """One event for one runner: the record, the machine, and the replies being built."""

    def __init__(self, coach: Coach, record: dict) -> None:
        self.coach = coach
        self.record = record
        self.erased = False

    @property
    def state(self) -> str:
        return self.record["state"]

    @property
    def consented(self) -> bool:
        return bool(self.record.get("consent", {}).get("given"))

    def page(self, template: str, buttons=None, **context) -> Reply:
        context.setdefault("clinic", self.coach.clinic)
        return Reply(render(template, **context), buttons or [])

    def clinic_row(self) -> list[Button]:
        return [Button(label("clinic"), data="g|clinic")]

    # --- dispatch -----------------------------------------------------------------------------

    def dispatch(self, event: Event) -> list[Reply]:
        if event.kind == "command":
            handler = COMMANDS.get(event.value)
            if handler is None:
                return [self.page("common/unknown_command.j2", command=event.value)]
            return handler(self, event.argument)
        if event.kind == "button":
            return self.tap(event.value)
        return self.typed(event.value)

    def typed(self, text: str) -> list[Reply]:
        if not self.consented:
            return self.welcome()
        if self.record.get("paused"):
            return [self.page("common/paused.j2")]
        if self.state in QUESTION_STATES:
            question = BY_ID[self.state]
            try:
                value = read_text(question, text)
            except Unreadable as problem:
                hint = self.page(f"questions/reask/{problem.key}.j2", **problem.facts)
                return [hint, self.ask()]
            return self.answer(question, value)
        if self.state == "urgent":
            return [self.urgent_screen()]
        return [self.page("common/idle.j2", has_plan=self.has_plan())]

    def tap(self, data: str) -> list[Reply]:
        step, _, token = data.partition("|")
        if step == "g":
            return GLOBAL_BUTTONS.get(token, Turn.stale)(self)
        if not step.isdigit() or int(step) != self.record.get("step"):
            return self.stale()
        if token in ("erase", "keep") and self.record.pop("pending", None) == "delete":
            return self.erase() if token == "erase" else [self.page("privacy/kept.j2")]
        if token == "back":
            return self.back()
        if not self.consented or self.state not in QUESTION_STATES or self.record.get("paused"):
            return self.stale()
        question = BY_ID[self.state]
        values = [value for value, _ in buttons_for(question)]
        if question.kind == "multi":
            return self.toggle(question, token, values)
        if not token.isdigit() or int(token) >= len(values):
            return self.stale()
        return self.answer(question, values[int(token)])

    def stale(self) -> list[Reply]:
        return [Reply("", notice=render("common/stale_button.j2"))]

    # --- onboarding -------------------------------------------------------------------------

    def welcome(self, argument: str = "") -> list[Reply]:
        buttons = [
            [Button(label("agree"), data="g|agree")],
            [Button(label("decline"), data="g|decline")],
        ]
        return [self.page("onboarding/welcome.j2", buttons, returning=self.state == "declined")]

    def agree(self) -> list[Reply]:
        if self.consented:
            return self.stale()
        self.record["consent"] = {"given": True, "at": self.coach.now().isoformat()}
        self.record["answers"] = {}
        self.record["asked"] = []
        with Bound(self.record) as runner:
            runner.agree()
        return [self.page("onboarding/thanks.j2"), self.ask()]

    def decline(self) -> list[Reply]:
        if self.consented:
            return self.stale()
        # The refusal is all we keep: no answers, no name.
        refusal = {"given": False, "at": self.coach.now().isoformat()}
        runner_id = self.record["runner_id"]
        self.record.clear()
        self.record.update(runner_id=runner_id, state="declined", consent=refusal)
        return [self.page("onboarding/declined.j2")]

    # --- questions --------------------------------------------------------------------------

    def ask(self, *, edit: bool = False) -> Reply:
        """The current question, with fresh buttons (or the same ones when editing)."""
        question = BY_ID[self.state]
        if not edit:
            self.record["step"] = self.record.get("step", 0) + 1
        step = self.record["step"]
        rows: list[list[Button]] = []
        options = buttons_for(question)
        if question.kind == "multi":
            chosen = self.record.get("selection", [])
            for index, (value, text) in enumerate(options):
                mark = CHECK if value in chosen else BOX
                rows.append([Button(f"{mark} {text}", data=f"{step}|t{index}")])
            done = label("done") if chosen else label("none_of_these")
            rows.append([Button(done, data=f"{step}|done")])
        elif question.kind == "pain":
            keys = [Button(text, data=f"{step}|{i}") for i, (_, text) in enumerate(options)]
            rows += [keys[:6], keys[6:11]]
            if keys[11:]:
                rows.append(keys[11:])
        else:
            buttons = [Button(text, data=f"{step}|{i}") for i, (_, text) in enumerate(options)]
            per_row = 1 if question.kind == "choice" and len(options) > 3 else 3
            rows += [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]
        if self.record.get("asked"):
            rows.append([Button(label("back"), data=f"{step}|back")])
        number = QUESTIONS.index(question) + 1
        reply = self.page(
            f"questions/{question.id}.j2",
            rows,
            number=number,
            total=len(QUESTIONS),
            answers=self.record.get("answers", {}),
        )
        reply.edit = edit
        return reply

    def toggle(self, question: Question, token: str, values: list) -> list[Reply]:
        chosen = self.record.setdefault("selection", [])
        if token == "done":
            selection = [value for value in values if value in chosen]
            self.record.pop("selection")
            return self.answer(question, selection)
        if not token.startswith("t") or not token[1:].isdigit() or int(token[1:]) >= len(values):
            return self.stale()
        value = values[int(token[1:])]
        if value in chosen:
            chosen.remove(value)
        else:
            chosen.append(value)
        return [self.ask(edit=True)]

    def answer(self, question: Question, value: object) -> list[Reply]:
        self.record["answers"][question.id] = value
        self.record.setdefault("asked", []).append(question.id)
        self.record.pop("selection", None)
        with Bound(self.record) as runner:
            runner.answered()
            if runner.state == "assessment":
                runner.assessed()
        if self.state in QUESTION_STATES:
            return [self.ask()]
        return self.outcome()

    def back(self, argument: str = "") -> list[Reply]:
        if self.state not in QUESTION_STATES:
            return [self.page("questions/nothing_to_go_back_to.j2")]
        asked = self.record.get("asked", [])
        if not asked:
            return [self.page("questions/first_question.j2"), self.ask()]
        previous = asked.pop()
        self.record.pop("selection", None)
        with Bound(self.record) as runner:
            getattr(runner, f"to_{previous}")()
        return [self.ask()]

    # --- outcomes ---------------------------------------------------------------------------

    def outcome(self) -> list[Reply]:
        """What the runner sees when the questionnaire ends (or the safety screen stops it)."""
        self.record.pop("asked", None)
        assessment = Assessment.model_validate(self.record["assessment"])
        self.remember_assessment(assessment)
        if self.state == "urgent":
            return [self.urgent_screen()]
        if self.state == "referred":
            return [self.page("triage/referred.j2", [self.clinic_row()], assessment=assessment)]
        with Bound(self.record) as runner:
            runner.settle()
        plan = self.todays_plan()
        return [
            self.page("triage/result.j2", assessment=assessment, phase=self.coach.protocol.phase(
                assessment.phase)),
            self.page("plan/today.j2", [self.clinic_row()], plan=plan),
        ]

    def remember_assessment(self, assessment: Assessment) -> None:
        today = self.coach.today().isoformat()
        if assessment.phase != self.record.get("phase"):
            self.record["phase_started"] = today
        self.record["phase"] = assessment.phase
        self.record.setdefault("assessments", []).append(
            {"date": today, "triage": assessment.triage, "phase": assessment.phase}
        )

    def urgent_screen(self) -> Reply:
        assessment = Assessment.model_validate(self.record["assessment"])
        buttons = [
            [Button(label("book"), url=self.coach.clinic.booking_url)],
            [Button(label("answer_again"), data="g|reassess")],
        ]
        return self.page("triage/urgent.j2", buttons, assessment=assessment)

    def has_plan(self) -> bool:
        return self.state in ("plan", "idle") and self.record.get("phase") is not None

    def week_of_phase(self) -> int:
        started = date.fromisoformat(self.record.get("phase_started", self.coach.today().isoformat()))
        return max(1, (self.coach.today() - started).days // 7 + 1)

    def todays_plan(self) -> DayPlan:
        assessment = self.record["assessment"]
        return build_plan(
            phase=self.record["phase"],
            running=assessment["running"],
            modifications=list(assessment["modifications"]),
            on=self.coach.today(),
            week=self.week_of_phase(),
            currently_running=self.record.get("answers", {}).get("warmup_pattern") != "not_running",
            protocol=self.coach.protocol,
        )

    # --- commands ---------------------------------------------------------------------------

    def start(self, argument: str = "") -> list[Reply]:
        if not self.consented:
            return self.welcome(argument)
        if self.record.pop("paused", None) or self.state in QUESTION_STATES:
            return [self.page("onboarding/resume.j2"), self.ask()]
        if self.state == "urgent":
            return [self.urgent_screen()]
        return [self.page("common/idle.j2", has_plan=self.has_plan(), welcome_back=True)]

    def today_command(self, argument: str = "") -> list[Reply]:
        if not self.has_plan():
            return self.not_ready()
        return [self.page("plan/today.j2", [self.clinic_row()], plan=self.todays_plan())]

    def plan_command(self, argument: str = "") -> list[Reply]:
        if not self.has_plan():
            return self.not_ready()
        assessment = Assessment.model_validate(self.record["assessment"])
        phase = self.coach.protocol.phase(self.record["phase"])
        reply = self.page(
            "plan/overview.j2",
            [self.clinic_row()],
            assessment=assessment,
            phase=phase,
            week=self.week_of_phase(),
        )
        return [reply]

    def not_ready(self) -> list[Reply]:
        if not self.consented:
            return self.welcome()
        if self.state == "urgent":
            return [self.urgent_screen()]
        if self.state == "referred":
            return [self.page("triage/no_programme_yet.j2", [self.clinic_row()])]
        return [self.page("plan/not_ready.j2"), *self.start()]

    def reassess(self, argument: str = "") -> list[Reply]:
        if not self.consented:
            return self.welcome()
        if self.state in QUESTION_STATES:
            return [self.page("questions/already_answering.j2"), self.ask()]
        self.record["answers"] = {}
        self.record["asked"] = []
        self.record.pop("paused", None)
        with Bound(self.record) as runner:
            runner.reassess()
        return [self.page("onboarding/reassess.j2"), self.ask()]

    def clinic(self, argument: str = "") -> list[Reply]:
        buttons = [[Button(label("book"), url=self.coach.clinic.booking_url)]]
        return [self.page("common/clinic.j2", buttons)]

    def help(self, argument: str = "") -> list[Reply]:
        return [self.page("common/help.j2")]

    def disclaimer(self, argument: str = "") -> list[Reply]:
        return [self.page("common/disclaimer.j2")]

    def privacy(self, argument: str = "") -> list[Reply]:
        return [self.page("privacy/privacy.j2")]

    def export(self, argument: str = "") -> list[Reply]:
        runner_id = self.record["runner_id"]
        if self.store_has_nothing():
            return [self.page("privacy/nothing_stored.j2")]
        data = self.coach.store.export(runner_id)
        document = json.dumps(data, indent=2, ensure_ascii=False, default=str).encode()
        reply = self.page("privacy/export.j2")
        reply.document = (f"achilles-coach-{runner_id}.json", document)
        return [reply]

    def delete(self, argument: str = "") -> list[Reply]:
        if self.store_has_nothing():
            return [self.page("privacy/nothing_stored.j2")]
        self.record["pending"] = "delete"
        self.record["step"] = self.record.get("step", 0) + 1
        step = self.record["step"]
        buttons = [
            [Button(label("erase"), data=f"{step}|erase")],
            [Button(label("keep"), data=f"{step}|keep")],
        ]
        return [self.page("privacy/confirm_delete.j2", buttons)]

    def erase(self) -> list[Reply]:
        self.coach.store.delete(self.record["runner_id"])
        self.erased = True
        return [self.page("privacy/erased.j2")]

    def store_has_nothing(self) -> bool:
        return self.coach.store.load(self.record["runner_id"]) is None

    def cancel(self, argument: str = "") -> list[Reply]:
        if self.record.pop("pending", None):
            return [self.page("privacy/kept.j2")]
        if self.consented and self.state in QUESTION_STATES:
            self.record["paused"] = True
            return [self.page("common/cancelled.j2")]
        return [self.page("common/nothing_to_cancel.j2")]


COMMANDS: dict[str, Callable[[Turn, str], list[Reply]]] = {
    "start": Turn.start,
    "help": Turn.help,
    "today": Turn.today_command,
    "plan": Turn.plan_command,
    "reassess": Turn.reassess,
    "clinic": Turn.clinic,
    "disclaimer": Turn.disclaimer,
    "privacy": Turn.privacy,
    "export": Turn.export,
    "delete": Turn.delete,
    "cancel": Turn.cancel,
    "back": Turn.back,
}

GLOBAL_BUTTONS: dict[str, Callable[[Turn], list[Reply]]] = {
    "agree": Turn.agree,
    "decline": Turn.decline,
    "clinic": Turn.clinic,
    "reassess": Turn.reassess,
}

__all__ = ["AFTER_ONBOARDING", "Button", "Coach", "Event", "Reply"]
