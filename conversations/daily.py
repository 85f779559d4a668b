"""The daily loop, as part of a conversation turn: reminders, the check-in, the retest.

`DailyLoop` is mixed into `conversations.coach.Turn`; it uses the turn's record, machine and
pages. The clinical decisions it applies come from `conversations.progression` (R9) and
`conversations.triage` (the R10 gates); the timing from `conversations.reminders`.
"""

from __future__ import annotations

from datetime import date, timedelta
from statistics import mean

from conversations.answers import parse_answers
from conversations.flow import CHECKIN_STATES, Bound, Runner
from conversations.intake import answers_from
from conversations.progression import CheckIn, decide
from conversations.reminders import DEFAULT_STRENGTH_DAYS, SNOOZE
from conversations.triage import assess, assess_safety

RETEST_EVERY = timedelta(days=14)
NUDGE_AFTER = timedelta(days=2)


class DailyLoop:
    """Methods of `Turn` for life after onboarding."""

    # --- dates --------------------------------------------------------------------------------

    def local_today(self) -> date:
        return self.coach.today(self.record)

    def button_day(self, argument: str) -> bool:
        """Buttons of a reminder carry its date: yesterday's Done must not tick today."""
        return argument == self.local_today().isoformat()

    # --- reminder set-up ------------------------------------------------------------------------

    def reminders_command(self, argument: str = "") -> list:
        if not self.has_plan() or self.state != "idle":
            return self.not_ready()
        with Bound(self.record) as runner:
            runner.set_reminders()
        return [self.ask()]

    def save_reminders(self) -> list:
        draft = self.record.pop("draft", {})
        days = tuple(draft.get("strength_days") or DEFAULT_STRENGTH_DAYS)
        self.record["reminder"] = {
            "time": draft["reminder_time"],
            "timezone": draft["reminder_zone"],
            "strength_days": list(days),
            "active": True,
            "snooze_until": None,
        }
        self.coach.publish_schedule(self.record)
        with Bound(self.record) as runner:
            runner.saved()
        return [self.page("reminders/saved.j2", reminder=self.record["reminder"])]

    def stop_reminders(self, argument: str = "") -> list:
        if self.record.pop("reminder", None) is None:
            return [self.page("reminders/none_yet.j2")]
        self.coach.publish_schedule(self.record)
        return [self.page("reminders/stopped.j2")]

    def pause(self, argument: str = "") -> list:
        return self.set_active(False, "reminders/paused.j2")

    def resume(self, argument: str = "") -> list:
        return self.set_active(True, "reminders/resumed.j2")

    def set_active(self, active: bool, template: str) -> list:
        reminder = self.record.get("reminder")
        if reminder is None:
            return [self.page("reminders/none_yet.j2")]
        reminder["active"] = active
        reminder["snooze_until"] = None
        self.coach.publish_schedule(self.record)
        return [self.page(template, reminder=reminder)]

    # --- the reminder's buttons -------------------------------------------------------------------

    def done_today(self, argument: str) -> list:
        if not self.button_day(argument):
            return self.stale()
        self.record["done_on"] = argument
        return [self.page("reminders/done.j2")]

    def skip_today(self, argument: str) -> list:
        if not self.button_day(argument):
            return self.stale()
        self.record["skipped_on"] = argument
        return [self.page("reminders/skipped.j2")]

    def snooze(self, argument: str) -> list:
        reminder = self.record.get("reminder")
        if not self.button_day(argument) or reminder is None or self.record.get("snoozed_on") == argument:
            return self.stale()
        self.record["snoozed_on"] = argument
        reminder["snooze_until"] = (self.coach.now() + SNOOZE).isoformat()
        self.coach.publish_schedule(self.record)
        return [self.page("reminders/snoozed.j2")]

    # --- the check-in (R9) ------------------------------------------------------------------------

    def checkin_command(self, argument: str = "") -> list:
        if self.state in CHECKIN_STATES:
            return [self.ask()]
        if not self.has_plan() or self.state != "idle":
            return self.not_ready()
        if self.record.get("checked_in_on") == self.local_today().isoformat():
            return [self.page("checkin/already.j2")]
        self.record["draft"] = {}
        with Bound(self.record) as runner:
            runner.check_in()
        return [self.ask()]

    def checkin_button(self, argument: str = "") -> list:
        return self.checkin_command()

    def apply_checkin(self) -> list:
        draft = self.record.pop("draft", {})
        today = self.local_today()
        checkin = CheckIn(
            date=today,
            pain=draft.get("checkin_pain"),
            settled=draft.get("checkin_settled"),
            morning=draft["checkin_morning"],
            plan_done=draft["checkin_plan_done"],
            km=draft["checkin_km"],
        )
        runner_id = self.record["runner_id"]
        earlier = [CheckIn.model_validate(row) for row in self.coach.store.checkins(runner_id)]
        last_progress = self.record.get("last_progress")
        decision = decide(checkin, earlier, date.fromisoformat(last_progress) if last_progress else None)

        phase_before = self.record["phase"]
        if decision.action == "progress":
            self.record["load_week"] = self.record.get("load_week", 1) + 1
            self.record["last_progress"] = today.isoformat()
        elif decision.action == "drop_phase":
            self.change_phase(max(1, phase_before - 1))
        self.record["lighter"] = decision.action == "reduce"
        self.record["running"] = decision.running
        self.record["checked_in_on"] = today.isoformat()
        self.record["retest_due"] = self.retest_is_due(today)
        row = checkin.model_dump(mode="json") | {"decision": decision.action, "phase": self.record["phase"]}
        self.coach.store.add_checkin(runner_id, row)

        with Bound(self.record) as runner:
            runner.decided()
        buttons = [self.clinic_row()] if decision.refer else []
        replies = [
            self.page(
                "checkin/decision.j2",
                buttons,
                decision=decision,
                phase_before=phase_before,
                phase=self.coach.protocol.phase(self.record["phase"]),
            )
        ]
        if self.state == "retest_reps":
            return [*replies, self.page("checkin/retest_intro.j2"), self.ask()]
        return [*replies, self.plan_page()]

    def change_phase(self, phase: int) -> None:
        today = self.local_today().isoformat()
        self.record["phase"] = phase
        self.record["phase_started"] = today
        self.record["load_week"] = 1
        self.record.setdefault("phases", []).append({"date": today, "phase": phase})

    def retest_is_due(self, today: date) -> bool:
        retests = self.record.get("retests", [])
        since = retests[-1]["date"] if retests else self.record.get("phase_started", today.isoformat())
        return today - date.fromisoformat(since) >= RETEST_EVERY

    # --- the retest (R10 gates) -------------------------------------------------------------------

    def apply_retest(self) -> list:
        """The retest is a reassessment: R1 from the heel-raise test first, then the phase,
        which may move up one (R10) or come down to what today's signs allow."""
        urgent = assess_safety(Runner(self.record).retest_safety())
        draft = self.record.pop("draft", {})
        today = self.local_today()
        retest = {
            "date": today.isoformat(),
            "reps": draft["retest_reps"],
            "reps_other": draft.get("retest_reps_other"),
            "pain": draft.get("retest_pain"),
            "stiffness": draft.get("retest_stiffness"),
            "hop_pain": draft.get("retest_hop"),
        }
        self.record.setdefault("retests", []).append(retest)
        self.record["retest_due"] = False
        if urgent is not None:
            self.record["assessment"] = urgent.model_dump()
            with Bound(self.record) as runner:
                runner.gated()
            return self.outcome()
        assessment = assess(parse_answers(self.retest_answers(retest, today)))
        phase_before = self.record["phase"]
        phase = assessment.phase or phase_before  # no programme-ending rule can fire at a retest
        if phase != phase_before:
            self.change_phase(phase)
        with Bound(self.record) as runner:
            runner.gated()
        gate = next(reason for reason in assessment.reasons if reason.rule == "R10")
        referral = [r.text for r in assessment.reasons if r.rule in ("R8", "R13")]
        buttons = [self.clinic_row()] if referral else []
        return [
            self.page(
                "checkin/retest_result.j2",
                buttons,
                retest=retest,
                moved=(phase > phase_before) - (phase < phase_before),
                phase=self.coach.protocol.phase(self.record["phase"]),
                gate=gate.text,
                referral=referral,
            ),
            self.plan_page(),
        ]

    def retest_answers(self, retest: dict, today: date) -> dict:
        """The intake answers brought up to date by the retest and the last week of check-ins."""
        checkins = self.coach.store.checkins(self.record["runner_id"])
        week = [c for c in checkins if date.fromisoformat(c["date"]) > today - timedelta(days=7)]
        latest = checkins[-1] if checkins else {}
        stored = dict(self.record["answers"])
        # Today's signs: the retest's raises and stiffness; the latest check-in's pain stands for
        # the pain now (the intake's would be weeks old).
        started = self.record.get("assessments", [{}])[0].get("date", today.isoformat())
        weeks_on_plan = (today - date.fromisoformat(started)).days // 7
        stored.update(
            structured_loading_weeks=stored["structured_loading_weeks"] + weeks_on_plan,
            trend=pain_trend(checkins, today),
            red_flags=[],  # the safety screen is asked afresh whenever something is new
            other_flags=[],
            heel_raises_reps=retest["reps"],
            heel_raises_pain=retest["pain"],
            heel_raises_other_side=retest["reps_other"],
            hop_pain=retest["hop_pain"],
            morning_stiffness_minutes=retest["stiffness"],
            pain_now=latest.get("pain") or 0,
            pain_during_last_run=latest.get("pain"),
            settled_next_morning=latest.get("settled"),
            mornings_trend="worse" if any(c["morning"] == "worse" for c in week) else "same",
            weekly_km=float(sum(c.get("km", 0) for c in week)),
            warmup_pattern=stored["warmup_pattern"] if any(c.get("km") for c in week) else "not_running",
        )
        if stored["warmup_pattern"] == "not_running":
            stored["pain_during_last_run"] = None
        return answers_from(stored, current_phase=self.record["phase"])

    # --- scheduled messages -----------------------------------------------------------------------

    def nudge_due(self) -> str | None:
        """After 2 days without a check-in, the date of the last one (to nudge once about)."""
        last = self.coach.store.checkins(self.record["runner_id"])[-1:]
        last_checkin = last[0]["date"] if last else self.record.get("phase_started")
        if not last_checkin or self.record.get("nudged_for") == last_checkin:
            return None
        lapsed = self.local_today() - date.fromisoformat(last_checkin) >= NUDGE_AFTER
        return last_checkin if lapsed else None

    def reminder_screen(self) -> object:
        today = self.local_today()
        nudge = self.nudge_due() is not None
        day = today.isoformat()
        buttons = [
            [self.button("done_today", f"g|done:{day}"), self.button("check_in", "g|checkin")],
            [self.button("snooze", f"g|snooze:{day}"), self.button("skip", f"g|skip:{day}")],
            self.clinic_row(),
        ]
        checked_in = self.record.get("checked_in_on") == day
        return self.page(
            "reminders/daily.j2", buttons, plan=self.todays_plan(), nudge=nudge, checked_in=checked_in
        )

    def progress(self, argument: str = "") -> list:
        from conversations.charts import progress_chart  # matplotlib: only when asked

        if not self.has_plan():
            return self.not_ready()
        checkins = self.coach.store.checkins(self.record["runner_id"])
        retests = self.record.get("retests", [])
        reply = self.page("progress/caption.j2", days=len(checkins), retests=len(retests))
        reply.photo = progress_chart(
            checkins, self.record.get("phases", []), retests, today=self.local_today()
        )
        return [reply]

    def summary_screen(self) -> object:
        today = self.local_today()
        checkins = self.coach.store.checkins(self.record["runner_id"])
        this_week = [c for c in checkins if date.fromisoformat(c["date"]) > today - timedelta(days=7)]
        last_week = [
            c for c in checkins
            if today - timedelta(days=14) < date.fromisoformat(c["date"]) <= today - timedelta(days=7)
        ]
        return self.page(
            "reminders/summary.j2",
            [self.clinic_row()],
            done=len(this_week),
            pain=average_pain(this_week),
            pain_before=average_pain(last_week),
            phase=self.coach.protocol.phase(self.record["phase"]),
            plan=self.todays_plan(),
        )


def pain_trend(checkins: list[dict], today: date) -> str:
    """Better, same or worse: this week's average pain against the week two weeks before."""
    def week(ending: date) -> float | None:
        return average_pain([c for c in checkins if ending - timedelta(days=7) < date.fromisoformat(c["date"])
                             <= ending])

    now, before = week(today), week(today - timedelta(days=14))
    if now is None or before is None or abs(now - before) < 1:
        return "same"
    return "better" if now < before else "worse"


def average_pain(checkins: list[dict]) -> float | None:
    pains = [c["pain"] for c in checkins if c.get("pain") is not None]
    return round(mean(pains), 1) if pains else None

