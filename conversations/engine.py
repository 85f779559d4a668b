"""The conversation engine: one event from a runner in, an `Outcome` out.

Telegram and the terminal chat both drive it. An event is a command, typed text, a tapped
button or a shared location; the engine loads the runner's record, lets the part of the
conversation that owns the event move the machine (`conversations.flow`), saves the record
before anything is shown (so nothing a runner confirmed is lost) and returns what it decided:
replies for the runner and messages for other chats. A reminder set, moved or paused is planned
in storage's wakeup index in the same turn, for the scheduler to find when it falls due.

Button data is `"<step>|<token>"`: `step` counts the screens drawn, so a tap on a button from an
older message is recognised and changes nothing. Global buttons (`"g|<name>:<argument>"`) work
anywhere.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from pydantic_core import to_jsonable_python

from conversations import (
    clinic_desk,
    daily,
    handoff,
    language,
    onboarding,
    privacy,
    questionnaire,
    safety_check,
)
from conversations.challenges import Challenge, session_reminders_due
from conversations.clinic import Clinic
from conversations.flow import QUESTION_STATES
from conversations.intake import BY_ID
from conversations.messages import language_for
from conversations.protocol import Protocol
from conversations.reminders import CATCH_UP, next_wakeup, reminder_due, snooze_due, summary_due
from conversations.replies import Event, Message, Outcome, Reply
from conversations.safety_net import signs_in
from conversations.turn import Services, Turn
from storage import RunnerStore

log = logging.getLogger(__name__)
RECORD_VERSION = 2
APPLIED_KEPT = 100  # update ids remembered per runner, to know a redelivery when it comes
APPLIED_FOR = timedelta(days=2)  # and for how long

Handler = Callable[[Turn, str], None]

COMMANDS: dict[str, Handler] = {
    "start": onboarding.start,
    "help": onboarding.help_,
    "today": onboarding.today,
    "plan": onboarding.plan,
    "reassess": onboarding.reassess,
    "clinic": onboarding.clinic,
    "disclaimer": onboarding.disclaimer,
    "privacy": privacy.privacy,
    "export": privacy.export,
    "delete": privacy.delete,
    "cancel": onboarding.cancel,
    "back": questionnaire.back,
    "checkin": daily.checkin_command,
    "reminders": daily.reminders_command,
    "pause": daily.pause_reminders,
    "stop": daily.stop_reminders,
    "resume": daily.resume_reminders,
    "progress": daily.progress,
    "visa": daily.visa,
    "language": language.language_command,
    "leave": clinic_desk.leave_command,
    "newchallenge": clinic_desk.new_challenge,
    "challenges": clinic_desk.list_challenges,
    "roster": clinic_desk.roster,
    "alerts": clinic_desk.alerts,
    "waitlist": clinic_desk.show_waitlist,
    "announce": clinic_desk.announce,
}

GLOBAL_BUTTONS: dict[str, Handler] = {
    "agree": onboarding.agree,
    "decline": onboarding.decline,
    "clinic": onboarding.clinic,
    "reassess": onboarding.reassess,
    "checkin": daily.checkin_command,
    "done": daily.done_today,
    "skip": daily.skip_today,
    "snooze": daily.snooze,
    "join": clinic_desk.join,
    "waitlist": clinic_desk.waitlist,
    "notnow": clinic_desk.not_now,
    "admit": clinic_desk.admit_button,
    "announce": clinic_desk.send_announcement,
    "unannounce": clinic_desk.cancel_announcement,
    "summary": handoff.get_summary,
    "sendsummary": handoff.send_summary,
    "language": language.choose,
}
BEFORE_CONSENT_BUTTONS = ("agree", "decline", "clinic", "admit", "announce", "unannounce", "language")
INVITE_BUTTONS = ("g|join:", "g|waitlist:", "g|notnow")
# While the safety question waits, these still go through; anything else shows it again.
DURING_SAFETY_CHECK = ("clinic", "help", "disclaimer", "privacy", "export", "language")


class Engine:
    """One instance serves every runner; it keeps nothing about them between events."""

    def __init__(self, store: RunnerStore, clinic: Clinic, protocol: Protocol,
                 now: Callable[[], datetime]) -> None:
        self.services = Services(store, clinic, protocol, now)
        self.store = store
        self.clinic = clinic

    def handle(self, runner_id: int, event: Event) -> Outcome:
        """What one event decided. Never raises: if anything fails, nothing of the event is
        saved and the runner gets an apology with the clinic's contact and their question again."""
        try:
            return self.apply(runner_id, event)
        except Exception:
            log.exception("update %s could not be handled", event.update_id)
            return self.apology(runner_id, event)

    def apology(self, runner_id: int, event: Event) -> Outcome:
        sorry = Reply("common/sorry.j2", {"clinic": self.clinic})
        lang = language_for(event.language)
        try:
            record = self.store.load(runner_id)
            turn = Turn(record, self.services, telegram_language=event.language) if record else None
            if turn is not None:
                where_we_are(turn)
                lang = turn.lang
            return Outcome([sorry, *(turn.replies if turn else [])], lang=lang)
        except Exception:
            log.exception("the apology could not show where runner's conversation is")
            return Outcome([sorry], lang=lang)

    def apply(self, runner_id: int, event: Event) -> Outcome:
        record = self.store.load(runner_id) or {"runner_id": runner_id, "v": RECORD_VERSION}
        turn = Turn(record, self.services, event.name, event.update_id, event.language)
        if turn.consented:
            record.setdefault("language", turn.lang)  # from their Telegram, until they choose
        if event.update_id is not None and event.update_id in self.applied(record):
            # Telegram sent it again after a crash: it was applied, but its reply may never have
            # gone out. Show where the runner is now; never apply it twice.
            where_we_are(turn)
            return Outcome(turn.replies, lang=turn.lang)
        if turn.reach == "blocked":
            turn.fire("returned")  # they had blocked the bot and are back
        dispatch(turn, event)
        if turn.erased:
            return Outcome(turn.replies, lang=turn.lang)
        if record.get("consent") is None:  # before consent nothing is stored; after a refusal, only that
            self.queue(turn)  # an admin's messages, say: staff need not consent
            return Outcome(turn.replies, turn.messages, lang=turn.lang)
        if event.update_id is not None and turn.consented:
            record["applied"] = [*self.applied(record)[-(APPLIED_KEPT - 1):], event.update_id]
            record["applied_at"] = self.services.now().isoformat(timespec="seconds")
        return self.save(turn)

    def applied(self, record: dict) -> list[int]:
        """The update ids lately applied to this runner. After a quiet spell they are forgotten:
        Telegram redelivers within a day, and after a quiet week its ids may start again anywhere."""
        last = record.get("applied_at")
        if last is None or self.services.now() - datetime.fromisoformat(last) > APPLIED_FOR:
            return []
        return record.get("applied", [])

    def save(self, turn: Turn) -> Outcome:
        """The turn's messages for other chats first (kept by their keys, so putting them again
        changes nothing), then the runner's record: a crash between loses nothing."""
        self.queue(turn)
        self.store.save(turn.runner_id, turn.record)
        if turn.schedule_changed:
            self.plan(turn.runner_id, schedule_of(turn.record))
        return Outcome(turn.replies, turn.messages, lang=turn.lang)

    def queue(self, turn: Turn) -> None:
        self.store.outbox.put([message_json(message) for message in turn.messages])

    # --- what the reminder scheduler asks ----------------------------------------------------

    def plan(self, runner_id: int, schedule: dict | None, after: datetime | None = None) -> None:
        """Write the runner's next wake-up into the index. An older entry may stay behind: it only
        makes the engine look and find nothing due."""
        if schedule is not None and schedule.get("active", True):
            self.store.wakeups.add(runner_id, next_wakeup(schedule, after or self.services.now()))

    def rebuild_wakeups(self) -> None:
        """An index never built (or lost) is made again from the runners' records, looking back
        far enough to catch a reminder missed while the bot was down."""
        since = self.services.now() - CATCH_UP
        for runner_id in self.store.runner_ids():
            if (record := self.store.load(runner_id)) is not None:
                self.plan(runner_id, schedule_of(record), after=since)
        self.store.wakeups.mark_built()

    def language_of(self, chat_id: int) -> str:
        """Who reads a scheduled message or the outbox's: a runner's language, else (an admin
        without a record) the clinic's."""
        record = self.store.load(chat_id)
        return (record or {}).get("language") or self.clinic.language

    def claim_due(self, runner_id: int) -> list[tuple[str, list[Reply]]]:
        """The scheduled messages due now for this runner, as (kind, replies), already marked
        sent (so none can ever go twice); the runner's next wake-up is planned first."""
        record = self.store.load(runner_id)
        if record is None:
            return []
        self.plan(runner_id, schedule_of(record))
        turn = Turn(record, self.services)
        reminder = record.get("reminder")
        if not reminder or turn.reach == "blocked" or turn.state == "urgent" or not turn.has_plan():
            return []
        now = self.services.now()
        today = turn.today().isoformat()
        due = []
        if reminder_due(reminder, now, record.get("last_reminder_on")) or snooze_due(reminder, now):
            due.append(("reminder", [daily.reminder_screen(turn)]))
            if (lapse := daily.nudge_due(turn)) is not None:
                record["nudged_for"] = lapse  # one gentle nudge per lapse, not one a day
            record["last_reminder_on"] = today
            reminder["snooze_until"] = None
        if summary_due(reminder, now, record.get("last_summary_on")):
            due.append(("summary", [daily.summary_screen(turn), daily.weekly_card(turn)]))
            record["last_summary_on"] = today
        if due:
            self.store.save(runner_id, record)
        return due

    def mark_blocked(self, runner_id: int) -> None:
        """The runner blocked the bot: nothing more is sent until they come back."""
        record = self.store.load(runner_id)
        turn = Turn(record, self.services) if record else None
        if turn is not None and turn.reach != "blocked":
            turn.fire("blocked")
            self.save(turn)

    def queue_session_reminders(self) -> int:
        """Group-session reminders due now (the day before and an hour before) into the outbox,
        each runner's copy showing the time in their own zone; returns how many."""
        now = self.services.now()
        out = []
        for stored in self.store.challenges():
            challenge = Challenge.model_validate(stored)
            due = session_reminders_due(challenge, self.clinic.zone, now)
            for marker, session, start in due:
                challenge.sent.append(marker)
                kind = marker.rsplit("/", 1)[1]
                for participant in challenge.participants:
                    record = self.store.load(participant["id"])
                    if record is None or record.get("reach") == "blocked":
                        continue
                    zone = ZoneInfo(record.get("reminder", {}).get("timezone") or self.clinic.timezone)
                    facts = {"challenge": challenge, "session": session, "start": start.astimezone(zone),
                             "kind": kind}
                    reply = Reply("clinic/session_reminder.j2", facts)
                    out.append(Message(participant["id"], (reply,), f"session:{marker}:{participant['id']}"))
            if due:  # into the outbox before the challenge says sent: a crash between sends none twice
                self.store.outbox.put([message_json(message) for message in out])
                self.store.save_challenge(challenge.model_dump(mode="json"))
        return len(out)


def message_json(message: Message) -> dict:
    """A message as the outbox keeps it; the clinic is added back when it is drawn."""
    replies = [reply_json(reply) for reply in message.replies]
    return {"key": message.key, "chat_id": message.chat_id, "replies": replies}


def reply_json(reply: Reply) -> dict:
    data = {"template": reply.template,
            "facts": to_jsonable_python({k: v for k, v in reply.facts.items() if k != "clinic"})}
    if reply.document is not None:
        name, content = reply.document
        data["document"] = [name, base64.b64encode(content).decode()]
    return data


def reply_from_json(data: dict, clinic: Clinic) -> Reply:
    """A reply kept in the outbox, ready to draw again."""
    reply = Reply(data["template"], {**data["facts"], "clinic": clinic})
    if "document" in data:
        name, content = data["document"]
        reply.document = (name, base64.b64decode(content))
    return reply


def schedule_of(record: dict) -> dict | None:
    """The runner's entry in the shared schedule index (None: nothing to send them)."""
    reminder = record.get("reminder")
    if not reminder or record.get("reach") == "blocked":
        return None
    return {key: reminder.get(key) for key in ("time", "timezone", "active", "snooze_until")}


# --- dispatch: which part of the conversation answers an event ------------------------------


def dispatch(turn: Turn, event: Event) -> None:
    if turn.mode == "safety_check" and not goes_through_safety_check(event):
        turn.show("safety/answer_first.j2")
        safety_check.ask(turn)
        return
    if turn.mode == "considering_invite" and not event.value.startswith(INVITE_BUTTONS):
        turn.fire("decide_invite")  # they went on without answering the invitation
    if turn.mode == "confirming_delete" and event.kind != "button":
        turn.fire("keep_data")
    if event.kind == "command":
        handler = COMMANDS.get(event.value)
        if handler is None:
            turn.show("common/unknown_command.j2", command=event.value)
        else:
            handler(turn, event.argument)
    elif event.kind == "button":
        tapped(turn, event.value)
    elif event.kind == "location":
        located(turn, event.value)
    else:
        typed(turn, event.value)


def where_we_are(turn: Turn) -> None:
    """Where the runner is, shown again: for an update applied before a crash (its reply may
    never have gone out) and after an apology. Never nothing: a runner is never left unanswered."""
    if turn.mode == "safety_check":
        safety_check.ask(turn)
    elif turn.mode == "paused":
        turn.show("common/paused.j2")
    elif turn.state in QUESTION_STATES:
        questionnaire.where_we_are(turn)
    elif turn.state == "urgent":
        onboarding.urgent_screen(turn)
    elif not turn.consented:
        onboarding.welcome(turn)
    else:
        turn.show("common/idle.j2", has_plan=turn.has_plan())


def goes_through_safety_check(event: Event) -> bool:
    if event.kind in ("text", "button"):
        return not event.value.startswith("g|") or event.value.startswith(("g|clinic", "g|language:"))
    return event.kind == "command" and event.value in DURING_SAFETY_CHECK


def typed(turn: Turn, text: str) -> None:
    signs = signs_in(text)
    if not turn.consented:
        if signs:  # nothing may be stored before consent, but the way to care is given
            turn.show("safety/before_consent.j2")
        onboarding.welcome(turn)
    elif signs:
        safety_check.mentioned(turn, signs)
    elif turn.mode == "safety_check":
        turn.show("questions/reask/use_buttons.j2")
        safety_check.ask(turn)
    elif turn.mode == "paused":
        turn.show("common/paused.j2")
    elif turn.state in QUESTION_STATES:
        questionnaire.typed(turn, text)
    elif turn.state == "urgent":
        onboarding.urgent_screen(turn)
    else:
        turn.show("common/idle.j2", has_plan=turn.has_plan())


def tapped(turn: Turn, data: str) -> None:
    step, _, token = data.partition("|")
    if step == "g":
        name, _, argument = token.partition(":")
        handler = GLOBAL_BUTTONS.get(name)
        if handler is None or (not turn.consented and name not in BEFORE_CONSENT_BUTTONS):
            turn.stale()
        else:
            handler(turn, argument)
    elif not step.isdecimal() or int(step) != turn.record.get("step"):
        turn.stale()
    elif turn.mode == "confirming_delete" and token in ("erase", "keep"):
        privacy.confirmed(turn, token)
    elif turn.mode == "safety_check":
        safety_check.tapped(turn, token)
    elif turn.consented and turn.state in QUESTION_STATES and turn.mode == "none":
        questionnaire.tapped(turn, token)
    else:
        turn.stale()


def located(turn: Turn, where: str) -> None:
    """A shared location answers the time-zone question, offline."""
    if turn.state != "reminder_zone" or turn.mode != "none":
        turn.show("common/not_text.j2")
        return
    latitude, longitude = (float(part) for part in where.split(","))
    zone = timezone_finder().timezone_at(lat=latitude, lng=longitude)
    if zone is None:
        turn.show("questions/reask/not_a_zone.j2")
        questionnaire.ask(turn)
    else:
        questionnaire.answer(turn, BY_ID["reminder_zone"], zone)


@cache
def timezone_finder():
    """Loaded the first time a runner shares a location: numpy and the zone maps cost every
    start-up a tenth of a second otherwise."""
    from timezonefinder import TimezoneFinder

    return TimezoneFinder()
