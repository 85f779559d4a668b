"""One event for one runner: their record, what the engine lends, and what the event decides.

`Turn` is the machine's model (`conversations.flow.Conversation`) for the length of one event.
Every part of the conversation (`questionnaire`, `onboarding`, `safety_check`, `daily`,
`clinic_desk`, `privacy`) is a module of functions that take the turn; it is their one
declared interface. The machine's callbacks (`CALLBACKS`, at the bottom) are functions of those
modules too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from conversations import daily, onboarding, questionnaire  # the parts the callbacks hand over to
from conversations.clinic import Clinic
from conversations.flow import INTAKE_STATES, Conversation
from conversations.messages import language_for
from conversations.plan import DayPlan, build_plan, heel_lift_today
from conversations.progression import CheckIn
from conversations.protocol import Protocol
from conversations.replies import Button, Message, Reply
from conversations.return_to_running import build
from storage import RunnerStore


@dataclass(frozen=True)
class Services:
    """What every turn may use: the store, the clinic, the loading protocol and the clock."""

    store: RunnerStore
    clinic: Clinic
    protocol: Protocol
    now: Callable[[], datetime]

    def today_for(self, record: dict | None) -> date:
        """Today in the runner's time zone (the clinic's until they have chosen one)."""
        zone = self.clinic.zone
        if record and record.get("reminder"):
            zone = ZoneInfo(record["reminder"]["timezone"])
        return self.now().astimezone(zone).date()


class Turn(Conversation):
    def __init__(self, record: dict, services: Services, name: str = "",
                 update_id: int | None = None, telegram_language: str = "") -> None:
        super().__init__(record)
        self.telegram_language = language_for(telegram_language)
        self.update_id = update_id  # Telegram's: what this turn sends elsewhere is keyed by it
        self.services = services
        self.store: RunnerStore = services.store
        self.clinic: Clinic = services.clinic
        self.protocol: Protocol = services.protocol
        self.given_name = name  # Telegram's first name: kept only if they join a challenge
        self.replies: list[Reply] = []
        self.messages: list[Message] = []  # for other chats
        self.schedule_changed = False
        self.erased = False

    # --- what every part reads -------------------------------------------------------------

    @property
    def lang(self) -> str:
        """The runner's language: the one they chose (or consented in), else their Telegram's."""
        return self.record.get("language") or self.telegram_language

    @property
    def runner_id(self) -> int:
        return self.record["runner_id"]

    def now(self) -> datetime:
        return self.services.now()

    def today(self) -> date:
        return self.services.today_for(self.record)

    @property
    def consented(self) -> bool:
        return self.state not in ("welcome", "declined")

    def has_plan(self) -> bool:
        onboarded = self.state not in (*INTAKE_STATES, "welcome", "declined", "urgent", "seen_clinician")
        return onboarded and self.record.get("phase") is not None

    def todays_plan(self) -> DayPlan:
        """Today's plan: the phase, the load block the check-ins have reached, R9's running."""
        assessment = self.record["assessment"]
        today = self.today()
        checkins = [CheckIn.model_validate(row) for row in self.store.checkins(self.runner_id)]
        return build_plan(
            phase=self.record["phase"],
            running=self.record.get("running", assessment["running"]),
            modifications=list(assessment["modifications"]),
            on=today,
            week=self.record.get("load_week", 1),
            currently_running=self.answers.get("warmup_pattern") != "not_running",
            strength_days=tuple(self.record.get("reminder", {}).get("strength_days", ())) or None,
            lighter=bool(self.record.get("lighter")),
            protocol=self.protocol,
            comeback=self.comeback,
            build=build(checkins, today, self.protocol.running),
            heel_lift=heel_lift_today(self.record.get("heel_lift_since"), today, self.protocol.heel_lift),
            add_load=bool(self.record.get("add_load")),
            overstride=self.record.get("overstride"),
        )

    # --- what every part says ----------------------------------------------------------------

    def page(self, template: str, buttons: list[list[Button]] | None = None, **facts: object) -> Reply:
        """A reply (not yet shown): a template and its facts; the clinic is always among them."""
        return Reply(template, {"clinic": self.clinic, **facts}, buttons or [])

    def show(self, template: str, buttons: list[list[Button]] | None = None, **facts: object) -> Reply:
        reply = self.page(template, buttons, **facts)
        self.replies.append(reply)
        return reply

    def clinic_row(self) -> list[Button]:
        return [Button("clinic", "g|clinic")]

    def stale(self) -> None:
        """A tap on a button that no longer means anything: a short note, nothing changed."""
        self.replies.append(Reply(notice="common/stale_button.j2"))

    def plan_page(self) -> Reply:
        return self.show("plan/today.j2", [self.clinic_row()], plan=self.todays_plan())

    def next_step(self) -> int:
        """Buttons carry the step they were drawn at: a tap from an older message is stale."""
        self.record["step"] = self.record.get("step", 0) + 1
        return self.record["step"]

    def publish_schedule(self) -> None:
        self.schedule_changed = True


# The machine's callbacks (conversations.flow names them), each done by the part that owns it.
CALLBACKS = {
    "ask": questionnaire.ask_unless_interrupted,
    "assess": onboarding.assess,
    "show_urgent": onboarding.show_urgent,
    "show_still_urgent": onboarding.show_still_urgent,
    "clear_to_answer_again": onboarding.clear_to_answer_again,
    "show_referral": onboarding.show_referral,
    "show_plan": onboarding.show_plan,
    "save_reminders": daily.save_reminders,
    "apply_checkin": daily.apply_checkin,
    "apply_retest": daily.apply_retest,
}
for _name, _part in CALLBACKS.items():
    setattr(Turn, _name, _part)
