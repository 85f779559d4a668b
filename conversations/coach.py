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
import logging
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo

from timezonefinder import TimezoneFinder

from conversations.answers import URGENT_FLAGS, Assessment
from conversations.challenges import Challenge, session_reminders_due
from conversations.clinic import Clinic
from conversations.clinic_desk import ClinicDesk
from conversations.daily import DailyLoop
from conversations.flow import AFTER_ONBOARDING, CLEARANCE_STATES, INTAKE_STATES, QUESTION_STATES, Bound
from conversations.intake import BY_ID, QUESTIONS, Question, Unreadable, buttons_for, labels_for, read_text
from conversations.messages import render, render_text, template_module
from conversations.plan import DayPlan, build_plan
from conversations.protocol import Protocol
from conversations.reminders import (
    DEFAULT_STRENGTH_DAYS,
    reminder_due,
    snooze_due,
    summary_due,
)
from conversations.replies import Button, Event, Reply
from conversations.safety_net import signs_in
from storage import RunnerStore

log = logging.getLogger(__name__)
RECORD_VERSION = 1
CHECK = "✅"
BOX = "▫️"


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
        self.schedule_listeners: list[Callable[[int, dict | None], None]] = []
        self.outbox: list[tuple[int, list[Reply]]] = []  # messages for other chats (admins, groups)
        self.pending_announcements: dict[tuple[int, str], str] = {}  # (admin, code) -> text
        self.bot_username = "achilles_coach_bot"  # the adapter sets the real one

    def take_outbox(self) -> list[tuple[int, list[Reply]]]:
        """Messages this engine wants sent to other chats; the adapter sends them."""
        outbox, self.outbox = self.outbox, []
        return outbox

    # --- entry point ------------------------------------------------------------------------

    def handle(self, runner_id: int, event: Event) -> list[Reply]:
        """The replies to one event. Never raises: if anything fails, nothing of this event is
        saved and the runner gets an apology with the clinic's contact and their question again."""
        try:
            return self.turn(runner_id, event)
        except Exception:
            log.exception("update %s could not be handled", event.update_id)
            return self.apology(runner_id)

    def apology(self, runner_id: int) -> list[Reply]:
        sorry = Reply(render("common/sorry.j2", clinic=self.clinic))
        try:
            record = self.store.load(runner_id)
            return [sorry, *(Turn(self, record).where_we_are() if record else [])]
        except Exception:
            log.exception("the apology could not show where the runner is")
            return [sorry]

    def turn(self, runner_id: int, event: Event) -> list[Reply]:
        record = self.store.load(runner_id)
        seen = record.get("last_update_id", -1) if record else -1
        if event.update_id is not None and event.update_id <= seen:
            # Telegram sent it again after a crash: it was applied, but its reply may never have
            # gone out. Show where the runner is now; never apply the answer twice.
            return Turn(self, record, event.name).where_we_are()
        if record is None:
            record = {"runner_id": runner_id, "state": "welcome", "step": 0, "v": RECORD_VERSION}
        turn = Turn(self, record, event.name)
        replies = turn.dispatch(event)
        if turn.erased:
            return replies
        consent = record.get("consent")
        if consent is not None:  # before consent nothing is stored; after a refusal, only that
            if event.update_id is not None and consent["given"]:
                record["last_update_id"] = event.update_id
            self.store.save(runner_id, record)
        return replies

    def today(self, record: dict | None = None) -> date:
        """Today in the runner's time zone (the clinic's until they have chosen one)."""
        zone = self.clinic.zone
        if record and record.get("reminder"):
            zone = ZoneInfo(record["reminder"]["timezone"])
        return self.now().astimezone(zone).date()

    # --- reminders: the scheduler asks, the adapter sends, then tells us what went out -------

    def publish_schedule(self, record: dict) -> None:
        """Keep the shared schedule index (and whoever plans reminders) in step with a record."""
        reminder = record.get("reminder")
        entry = None
        if reminder and not record.get("inactive"):
            entry = {key: reminder.get(key) for key in ("time", "timezone", "active", "snooze_until")}
        self.store.set_schedule(record["runner_id"], entry)
        for listener in self.schedule_listeners:
            listener(record["runner_id"], entry)

    def due(self, runner_id: int) -> list[tuple[str, list[Reply]]]:
        """The scheduled messages due now for this runner, as (kind, replies)."""
        record = self.store.load(runner_id)
        reminder = (record or {}).get("reminder")
        if not record or not reminder or record.get("inactive") or record["state"] == "urgent":
            return []
        now = self.now()
        turn = Turn(self, record)
        due = []
        if not turn.has_plan():
            return []
        if reminder_due(reminder, now, record.get("last_reminder_on")) or snooze_due(reminder, now):
            due.append(("reminder", [turn.reminder_screen()]))
        if summary_due(reminder, now, record.get("last_summary_on")):
            due.append(("summary", [turn.summary_screen()]))
        return due

    def mark_sent(self, runner_id: int, kind: str) -> None:
        """Called once a scheduled message has reached Telegram."""
        record = self.store.load(runner_id)
        if record is None:
            return
        today = self.today(record).isoformat()
        if kind == "reminder":
            if (lapse := Turn(self, record).nudge_due()) is not None:
                record["nudged_for"] = lapse  # one gentle nudge per lapse, not one a day
            record["last_reminder_on"] = today
            if record["reminder"].get("snooze_until"):
                record["reminder"]["snooze_until"] = None
                self.publish_schedule(record)
        else:
            record["last_summary_on"] = today
        self.store.save(runner_id, record)

    def session_reminders(self) -> list[tuple[int, list[Reply]]]:
        """Group-session reminders due now (the day before and an hour before), each runner's
        copy showing the time in their own zone. Marked sent as they are handed out."""
        now = self.now()
        out = []
        for stored in self.store.challenges():
            challenge = Challenge.model_validate(stored)
            due = session_reminders_due(challenge, self.clinic.zone, now)
            if not due:
                continue
            for marker, session, start in due:
                challenge.sent.append(marker)
                kind = marker.rsplit("/", 1)[1]
                for participant in challenge.participants:
                    record = self.store.load(participant["id"])
                    if record is None or record.get("inactive"):
                        continue
                    local = start.astimezone(ZoneInfo(record.get("reminder", {}).get("timezone")
                                                      or self.clinic.timezone))
                    html = render("clinic/session_reminder.j2", challenge=challenge, session=session,
                                  start=local, kind=kind, clinic=self.clinic)
                    out.append((participant["id"], [Reply(html)]))
            self.store.save_challenge(challenge.model_dump(mode="json"))
        return out

    def mark_inactive(self, runner_id: int) -> None:
        """The runner blocked the bot: stop sending until they come back."""
        record = self.store.load(runner_id)
        if record is not None:
            record["inactive"] = True
            self.store.save(runner_id, record)
            self.publish_schedule(record)


class Turn(DailyLoop, ClinicDesk):
    """One event for one runner: the record, the machine, and the replies being built."""

    def __init__(self, coach: Coach, record: dict, name: str = "") -> None:
        self.coach = coach
        self.record = record
        self.given_name = name
        self.erased = False

    @property
    def state(self) -> str:
        return self.record["state"]

    @property
    def mode(self) -> str:
        """An interruption the conversation is waiting on ("none" most of the time)."""
        return self.record.get("mode", "none")

    @property
    def name(self) -> str:
        """The first name Telegram gave, for a clinic's roster (rendered only when needed)."""
        return self.given_name or render_text("clinic/unnamed.j2")

    @property
    def consented(self) -> bool:
        return bool(self.record.get("consent", {}).get("given"))

    def page(self, template: str, buttons=None, **context) -> Reply:
        context.setdefault("clinic", self.coach.clinic)
        return Reply(render(template, **context), buttons or [])

    def clinic_row(self) -> list[Button]:
        return [self.button("clinic", "g|clinic")]

    def button(self, name: str, data: str) -> Button:
        return Button(label(name), data=data)

    # --- dispatch -----------------------------------------------------------------------------

    def dispatch(self, event: Event) -> list[Reply]:
        if self.mode == "safety_check" and not self.answers_safety_check(event):
            return [self.page("safety/answer_first.j2"), self.safety_question()]
        if event.kind == "command":
            handler = COMMANDS.get(event.value)
            if handler is None:
                return [self.page("common/unknown_command.j2", command=event.value)]
            return handler(self, event.argument)
        if event.kind == "button":
            return self.tap(event.value)
        if event.kind == "location":
            return self.located(event.value)
        return self.typed(event.value)

    def answers_safety_check(self, event: Event) -> bool:
        """While the safety question waits, only its own buttons, more typed words, the clinic's
        contact and the privacy commands go through; everything else shows the question again."""
        if event.kind in ("text", "button"):
            return not event.value.startswith("g|") or event.value == "g|clinic"
        return event.kind == "command" and event.value in SAFE_DURING_SAFETY_CHECK

    def located(self, where: str) -> list[Reply]:
        """A shared location answers the time-zone question, offline."""
        if self.state != "reminder_zone" or self.record.get("paused"):
            return [self.page("common/not_text.j2")]
        latitude, longitude = (float(part) for part in where.split(","))
        zone = timezone_finder().timezone_at(lat=latitude, lng=longitude)
        if zone is None:
            return [self.page("questions/reask/not_a_zone.j2"), self.ask()]
        return self.answer(BY_ID["reminder_zone"], zone)

    def typed(self, text: str) -> list[Reply]:
        signs = signs_in(text)
        if not self.consented:
            # Nothing may be stored before consent, but a worrying message still gets the way to care.
            warning = [self.page("safety/before_consent.j2")] if signs else []
            return [*warning, *self.welcome()]
        if signs:
            return self.ask_about_signs(signs)
        if self.mode == "safety_check":
            return [self.page("questions/reask/use_buttons.j2"), self.safety_question()]
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
            name, _, argument = token.partition(":")
            admin_buttons = ("admit", "announce", "unannounce")
            if not self.consented and name not in ("agree", "decline", "clinic", *admin_buttons):
                return self.stale()
            return GLOBAL_BUTTONS.get(name, Turn.stale_with)(self, argument)
        if not step.isdigit() or int(step) != self.record.get("step"):
            return self.stale()
        if token in ("erase", "keep") and self.record.pop("pending", None) == "delete":
            return self.erase() if token == "erase" else [self.page("privacy/kept.j2")]
        if self.mode == "safety_check":
            return self.safety_tap(token)
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

    def stale_with(self, argument: str) -> list[Reply]:
        return self.stale()

    # --- the free-text safety net -----------------------------------------------------------

    def ask_about_signs(self, signs: list[str]) -> list[Reply]:
        """A message mentioned a red-flag sign: the safety question now, those signs ticked."""
        with Bound(self.record) as runner:
            runner.interruption.mention_red_flag()
        selection = self.record.setdefault("safety_selection", [])
        selection += [sign for sign in signs if sign not in selection]
        return [self.safety_question(mentioned=signs)]

    def safety_question(self, *, edit: bool = False, mentioned: list[str] | None = None) -> Reply:
        if not edit:
            self.record["step"] = self.record.get("step", 0) + 1
        step = self.record["step"]
        chosen = self.record.get("safety_selection", [])
        labels = labels_for("red_flags")
        rows = [
            [Button(f"{CHECK if flag in chosen else BOX} {labels[flag]}", data=f"{step}|s{index}")]
            for index, flag in enumerate(URGENT_FLAGS)
        ]
        if chosen:
            rows.append([self.button("confirm_flags", f"{step}|sdone")])
        rows.append([self.button("no_flags", f"{step}|snone")])
        rows.append(self.clinic_row())
        reply = self.page("safety/check.j2", rows, mentioned=[labels[f] for f in mentioned or []])
        reply.edit = edit
        return reply

    def safety_tap(self, token: str) -> list[Reply]:
        chosen = self.record.setdefault("safety_selection", [])
        if token == "snone":
            self.record.pop("safety_selection", None)
            with Bound(self.record) as runner:
                runner.interruption.clear_red_flag()
            return [self.page("safety/cleared.j2"), *self.carry_on()]
        if token == "sdone" and chosen:
            return self.red_flag_confirmed()
        index = token[1:]
        if not token.startswith("s") or not index.isdigit() or int(index) >= len(URGENT_FLAGS):
            return self.stale()
        flag = URGENT_FLAGS[int(index)]
        chosen.remove(flag) if flag in chosen else chosen.append(flag)
        return [self.safety_question(edit=True)]

    def red_flag_confirmed(self) -> list[Reply]:
        """Whatever the runner was doing, a confirmed red flag is the urgent path (R1-R4)."""
        confirmed = self.record.pop("safety_selection")
        answers = self.record.setdefault("answers", {})
        answers["red_flags"] = [f for f in URGENT_FLAGS if f in {*answers.get("red_flags", []), *confirmed}]
        for interrupted in ("draft", "selection", "paused"):
            self.record.pop(interrupted, None)
        with Bound(self.record) as runner:
            runner.interruption.confirm_red_flag()
            runner.flagged()
            runner.assessed()
        return self.outcome()

    def carry_on(self) -> list[Reply]:
        """Back to wherever the runner is in the conversation, after an interruption."""
        if self.state in QUESTION_STATES and not self.record.get("paused"):
            return [self.ask()]
        return [self.urgent_screen()] if self.state == "urgent" else []

    # --- onboarding -------------------------------------------------------------------------

    def welcome(self, code: str = "", challenge=None) -> list[Reply]:
        """The disclaimer and consent; an invite's code rides on the agree button."""
        buttons = [
            [Button(label("agree"), data=f"g|agree:{code}" if challenge else "g|agree")],
            [Button(label("decline"), data="g|decline")],
        ]
        returning = self.state == "declined"
        return [self.page("onboarding/welcome.j2", buttons, returning=returning, challenge=challenge)]

    def agree(self, code: str = "") -> list[Reply]:
        if self.consented:
            return self.stale()
        self.record["consent"] = {"given": True, "at": self.coach.now().isoformat()}
        self.record["answers"] = {}
        self.record["asked"] = []
        with Bound(self.record) as runner:
            runner.agree()
        challenge = self.challenge(code) if code else None
        if challenge is not None:
            return [self.page("onboarding/thanks.j2"), self.join_screen(challenge)]
        return [self.page("onboarding/thanks.j2"), self.ask()]

    def decline(self, argument: str = "") -> list[Reply]:
        if self.consented:
            return self.stale()
        # The refusal is all we keep: no answers, no name.
        refusal = {"given": False, "at": self.coach.now().isoformat()}
        runner_id = self.record["runner_id"]
        self.record.clear()
        self.record.update(runner_id=runner_id, state="declined", consent=refusal)
        return [self.page("onboarding/declined.j2")]

    # --- questions --------------------------------------------------------------------------

    def where_we_are(self) -> list[Reply]:
        """The current question again, with the buttons already sent (nothing is saved)."""
        if self.state in QUESTION_STATES and not self.record.get("paused"):
            return [self.ask(again=True)]
        return []

    def ask(self, *, edit: bool = False, again: bool = False) -> Reply:
        """The current question, with fresh buttons (or the same ones when editing or repeating)."""
        question = BY_ID[self.state]
        if not (edit or again):
            self.record["step"] = self.record.get("step", 0) + 1
        step = self.record["step"]
        rows: list[list[Button]] = []
        options = buttons_for(question)
        if question.id == "strength_days" and "selection" not in self.record:
            current = self.record.get("reminder", {}).get("strength_days", DEFAULT_STRENGTH_DAYS)
            self.record["selection"] = list(current)
        if question.kind == "multi":
            chosen = self.record.get("selection", [])
            for index, (value, text) in enumerate(options):
                mark = CHECK if value in chosen else BOX
                rows.append([Button(f"{mark} {text}", data=f"{step}|t{index}")])
            done = label("done") if chosen or question.id == "strength_days" else label("none_of_these")
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
        if question.section == "checkin":
            rows.append([self.button("worry", "g|reassess")])
        if self.record.get("asked"):
            rows.append([Button(label("back"), data=f"{step}|back")])
        number = QUESTIONS.index(question) + 1 if question in QUESTIONS else None
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
        intake = question.id in INTAKE_STATES
        self.record.setdefault("answers" if intake else "draft", {})[question.id] = value
        self.record.setdefault("asked", []).append(question.id)
        self.record.pop("selection", None)
        with Bound(self.record) as runner:
            runner.answered()
            if runner.state == "assessment":
                runner.assessed()
        self.forget_skipped(question)
        if question.id == "seen_clinician":
            return self.after_clearance(value)
        if self.state in QUESTION_STATES:
            return [self.ask()]
        self.record.pop("asked", None)
        finish = {
            "reminders_set": self.save_reminders,
            "checked_in": self.apply_checkin,
            "retested": self.apply_retest,
        }.get(self.state, self.outcome)
        return finish()

    def forget_skipped(self, answered: Question) -> None:
        """A question the chain skipped this time (after /back, say) keeps no old answer."""
        if answered not in QUESTIONS:
            return
        start = QUESTIONS.index(answered) + 1
        end = INTAKE_STATES.index(self.state) if self.state in INTAKE_STATES else len(QUESTIONS)
        for skipped in QUESTIONS[start:end]:
            self.record.get("answers", {}).pop(skipped.id, None)

    def after_clearance(self, seen: bool) -> list[Reply]:
        """Answering again after an urgent result: only once a clinician has seen them."""
        today = self.local_today().isoformat()
        self.record.setdefault("clinician_checks", []).append({"date": today, "seen": seen})
        self.record.pop("draft", None)
        self.record["asked"] = []
        if self.state == "urgent":
            self.record.pop("asked")
            return [self.page("triage/see_clinician_first.j2"), self.urgent_screen()]
        self.record["answers"] = {}
        return [self.ask()]

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
            self.alert_admins()
            return [self.urgent_screen()]
        if self.state == "referred":
            return [self.page("triage/referred.j2", [self.clinic_row()], assessment=assessment)]
        with Bound(self.record) as runner:
            runner.settle()
        replies = [
            self.page("triage/result.j2", assessment=assessment, phase=self.coach.protocol.phase(
                assessment.phase)),
            self.plan_page(),
        ]
        if self.state == "reminder_time":
            self.record["draft"] = {}
            replies.append(self.ask())
        return replies

    def remember_assessment(self, assessment: Assessment) -> None:
        today = self.local_today().isoformat()
        if assessment.phase != self.record.get("phase"):
            self.record["phase_started"] = today
            self.record["load_week"] = 1
            if assessment.phase is not None:
                self.record.setdefault("phases", []).append({"date": today, "phase": assessment.phase})
        self.record["phase"] = assessment.phase
        self.record["running"] = assessment.running
        self.record["lighter"] = False
        self.record.setdefault("assessments", []).append(
            {"date": today, "triage": assessment.triage, "phase": assessment.phase}
        )

    def urgent_screen(self) -> Reply:
        """Care today. The emergency screen leads with the emergency number, the antibiotic
        screen (R3 alone) with the prescriber; the clinic's booking link only where it helps."""
        assessment = Assessment.model_validate(self.record["assessment"])
        rules = {reason.rule for reason in assessment.reasons}
        prescriber_only = rules == {"R3"}
        if assessment.triage == "emergency" or prescriber_only:
            contact = self.clinic_row()
        else:
            contact = [Button(label("book"), url=self.coach.clinic.booking_url)]
        buttons = [contact, [Button(label("answer_again"), data="g|reassess")]]
        return self.page("triage/urgent.j2", buttons, assessment=assessment, prescriber_only=prescriber_only)

    def has_plan(self) -> bool:
        after_onboarding = self.state not in (*INTAKE_STATES, "welcome", "consent", "declined", "urgent")
        return after_onboarding and self.record.get("phase") is not None

    def todays_plan(self) -> DayPlan:
        """Today's plan: the phase, the load block the check-ins have reached, R9's running."""
        assessment = self.record["assessment"]
        return build_plan(
            phase=self.record["phase"],
            running=self.record.get("running", assessment["running"]),
            modifications=list(assessment["modifications"]),
            on=self.local_today(),
            week=self.record.get("load_week", 1),
            currently_running=self.record.get("answers", {}).get("warmup_pattern") != "not_running",
            strength_days=tuple(self.record.get("reminder", {}).get("strength_days", ())) or None,
            lighter=bool(self.record.get("lighter")),
            protocol=self.coach.protocol,
        )

    def plan_page(self) -> Reply:
        return self.page("plan/today.j2", [self.clinic_row()], plan=self.todays_plan())

    # --- commands ---------------------------------------------------------------------------

    def start(self, argument: str = "") -> list[Reply]:
        if argument.strip():
            return self.invite(argument.strip())
        if not self.consented:
            return self.welcome()
        if self.record.pop("inactive", None):  # they had blocked the bot and are back
            self.coach.publish_schedule(self.record)
        if self.record.pop("paused", None) or self.state in QUESTION_STATES:
            return [self.page("onboarding/resume.j2"), self.ask()]
        if self.state == "urgent":
            return [self.urgent_screen()]
        return [self.page("common/idle.j2", has_plan=self.has_plan(), welcome_back=True)]

    def today_command(self, argument: str = "") -> list[Reply]:
        if not self.has_plan():
            return self.not_ready()
        return [self.plan_page()]

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
            week=self.record.get("load_week", 1),
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
        if self.state in (*INTAKE_STATES, *CLEARANCE_STATES):
            return [self.page("questions/already_answering.j2"), self.ask()]
        if self.state not in (*AFTER_ONBOARDING, *QUESTION_STATES):
            return self.stale()
        if self.state != "urgent":  # after an urgent result the answers wait for the clearance
            self.record["answers"] = {}
        self.record["asked"] = []
        self.record.pop("paused", None)
        self.record.pop("draft", None)
        self.record.pop("selection", None)
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
        if argument.strip():  # /export CODE is the clinic's challenge export
            return self.export_challenge(argument)
        runner_id = self.record["runner_id"]
        if self.store_has_nothing():
            return [self.page("privacy/nothing_stored.j2")]
        data = self.coach.store.export(runner_id)
        data["challenges"] = self.memberships()
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
        self.forget_in_challenges()
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


@cache
def timezone_finder() -> TimezoneFinder:
    return TimezoneFinder()


SAFE_DURING_SAFETY_CHECK = ("clinic", "help", "disclaimer", "privacy", "export", "delete")

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
    "checkin": Turn.checkin_command,
    "reminders": Turn.reminders_command,
    "pause": Turn.pause,
    "stop": Turn.stop_reminders,
    "resume": Turn.resume,
    "progress": Turn.progress,
    "leave": Turn.leave_command,
    "newchallenge": Turn.new_challenge,
    "challenges": Turn.list_challenges,
    "roster": Turn.roster,
    "alerts": Turn.alerts,
    "waitlist": Turn.show_waitlist,
    "announce": Turn.announce,
}

GLOBAL_BUTTONS: dict[str, Callable[[Turn, str], list[Reply]]] = {
    "agree": Turn.agree,
    "decline": Turn.decline,
    "clinic": Turn.clinic,
    "reassess": Turn.reassess,
    "checkin": Turn.checkin_button,
    "done": Turn.done_today,
    "skip": Turn.skip_today,
    "snooze": Turn.snooze,
    "join": Turn.join,
    "waitlist": Turn.waitlist,
    "notnow": Turn.not_now,
    "admit": Turn.admit_button,
    "announce": Turn.send_announcement,
    "unannounce": Turn.cancel_announcement,
}

__all__ = ["AFTER_ONBOARDING", "Button", "Coach", "Event", "Reply"]
