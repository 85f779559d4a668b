"""Life after onboarding: the reminder and its buttons, the daily check-in (R9), the two-weekly
retest (R10), the progress chart and the Sunday summary.

The clinical decisions come from `conversations.progression` (R9) and `conversations.triage`
(the R10 gates, R1 from the heel-raise test); the timing from `conversations.reminders`.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from statistics import mean
from typing import TYPE_CHECKING

from conversations import handoff, onboarding, questionnaire
from conversations.answers import parse_answers
from conversations.cards import card_reply
from conversations.flow import CHECKIN_STATES
from conversations.intake import VISA_QUESTION, Unreadable, answers_from, read_number
from conversations.progression import CheckIn, decide
from conversations.reminders import DEFAULT_STRENGTH_DAYS, SNOOZE
from conversations.replies import Button, Drawing, Reply
from conversations.return_to_running import build, climb, ready_for_the_ladder, run_too_long
from conversations.triage import assess, assess_safety

if TYPE_CHECKING:
    from conversations.turn import Turn

RETEST_EVERY = timedelta(days=14)
NUDGE_AFTER = timedelta(days=2)


def button_day(turn: Turn, argument: str) -> bool:
    """Buttons of a reminder carry its date: yesterday's Done must not tick today."""
    return argument == turn.today().isoformat()


# --- reminder set-up ---------------------------------------------------------------------------


def reminders_command(turn: Turn, argument: str = "") -> None:
    if turn.has_plan() and turn.state == "idle":
        turn.fire("set_reminders")
    else:
        onboarding.not_ready(turn)


def save_reminders(turn: Turn) -> None:
    """Entering reminders_set: keep the set-up, plan the reminders, back to idle."""
    draft = turn.record.pop("draft", {})
    turn.record["reminder"] = {
        "time": draft["reminder_time"],
        "timezone": draft["reminder_zone"],
        "strength_days": list(draft.get("strength_days") or DEFAULT_STRENGTH_DAYS),
        "active": True,
        "snooze_until": None,
    }
    turn.publish_schedule()
    turn.fire("saved")
    turn.show("reminders/saved.j2", reminder=turn.record["reminder"])


def stop_reminders(turn: Turn, argument: str = "") -> None:
    if turn.record.pop("reminder", None) is None:
        turn.show("reminders/none_yet.j2")
        return
    turn.publish_schedule()
    turn.show("reminders/stopped.j2")


def pause_reminders(turn: Turn, argument: str = "") -> None:
    set_active(turn, False, "reminders/paused.j2")


def resume_reminders(turn: Turn, argument: str = "") -> None:
    set_active(turn, True, "reminders/resumed.j2")


def set_active(turn: Turn, active: bool, template: str) -> None:
    reminder = turn.record.get("reminder")
    if reminder is None:
        turn.show("reminders/none_yet.j2")
        return
    reminder["active"] = active
    reminder["snooze_until"] = None
    turn.publish_schedule()
    turn.show(template, reminder=reminder)


# --- the reminder's buttons -----------------------------------------------------------------


def mark_the_day(key: str, template: str):
    """A reminder button that notes today (Done, Skip today)."""

    def tapped(turn: Turn, argument: str) -> None:
        if not button_day(turn, argument):
            turn.stale()
            return
        turn.record[key] = argument
        turn.show(template)

    return tapped


done_today = mark_the_day("done_on", "reminders/done.j2")
skip_today = mark_the_day("skipped_on", "reminders/skipped.j2")


def snooze(turn: Turn, argument: str) -> None:
    reminder = turn.record.get("reminder")
    if not button_day(turn, argument) or reminder is None or turn.record.get("snoozed_on") == argument:
        turn.stale()
        return
    turn.record["snoozed_on"] = argument
    reminder["snooze_until"] = (turn.now() + SNOOZE).isoformat()
    turn.publish_schedule()
    turn.show("reminders/snoozed.j2")


# --- the check-in (R9) ----------------------------------------------------------------------


def checkin_command(turn: Turn, argument: str = "") -> None:
    if turn.state in CHECKIN_STATES:
        questionnaire.ask(turn)
    elif not turn.has_plan() or turn.state != "idle":
        onboarding.not_ready(turn)
    elif turn.record.get("checked_in_on") == turn.today().isoformat():
        turn.show("checkin/already.j2")
    else:
        turn.record["draft"] = {}
        turn.fire("check_in")


def apply_checkin(turn: Turn) -> None:
    """Entering checked_in: R9 decides from today's answers and the days before, the load
    schedule moves on (or not) at the end of each week, and running takes its next step."""
    draft = turn.record.pop("draft", {})
    today = turn.today()
    checkin = CheckIn(
        date=today,
        pain=draft.get("checkin_pain"),
        settled=draft.get("checkin_settled"),
        morning=draft["checkin_morning"],
        plan_done=draft["checkin_plan_done"],
        km=draft.get("checkin_km") or 0,
        walk_pain=draft.get("checkin_walk"),
        walk_run=draft.get("checkin_walkrun"),
        walk_run_pain=draft.get("checkin_walkrun_pain"),
    )
    earlier = [CheckIn.model_validate(row) for row in turn.store.checkins(turn.runner_id)]
    week_started = date.fromisoformat(turn.record.get("load_week_started") or today.isoformat())
    decision = decide(checkin, earlier, week_started)

    phase_before = turn.record["phase"]
    if decision.week_over:
        turn.record["load_week_started"] = (today + timedelta(days=1)).isoformat()
        turn.record["add_load"] = decision.add_load
    if decision.action == "progress":
        turn.record["load_week"] = turn.record.get("load_week", 1) + 1
    elif decision.action == "drop_phase":
        change_phase(turn, max(1, phase_before - 1))
    turn.record["lighter"] = decision.action == "reduce"
    if decision.action in ("reduce", "drop_phase") or decision.week_over:
        turn.record["running"] = decision.running
    elif turn.record.get("running") in ("stop", "reduce"):
        turn.record["running"] = "hold"  # a good day after a bad one: steady, easy running again
    if "checkin_overstride" in draft:
        turn.record["overstride"] = draft["checkin_overstride"]
    running = next_running_step(turn, checkin, earlier, decision)
    turn.record["checked_in_on"] = today.isoformat()
    turn.record["retest_due"] = retest_is_due(turn, today)
    row = checkin.model_dump(mode="json", exclude_none=True) | {"decision": decision.action,
                                                                "phase": turn.record["phase"]}
    turn.store.add_checkin(turn.runner_id, row)

    referral = [turn.clinic_row(), *handoff.buttons(turn)] if decision.refer else []
    turn.show("checkin/decision.j2", referral, decision=decision,
              phase_before=phase_before, phase=turn.protocol.phase(turn.record["phase"]), running=running,
              week=turn.record.get("load_week", 1))
    if turn.record["retest_due"]:
        turn.show("checkin/retest_intro.j2")
    turn.fire("decided")
    if turn.state == "idle":
        turn.plan_page()


def next_running_step(turn: Turn, checkin: CheckIn, earlier: list[CheckIn], decision) -> dict:
    """Running after today's check-in: stopped, on to the walk-run ladder, a rung up or down, or
    a run too long for the single-run rule. Returns what to tell the runner."""
    comeback = dict(turn.comeback)
    rules = turn.protocol.walk_run
    said: dict = {"stage": comeback["stage"], "step": None, "rung": None, "too_long": False, "cap": None}
    if comeback["stage"] == "running":
        said["too_long"] = run_too_long(checkin, earlier, turn.protocol.running)
        said["cap"] = build(earlier, checkin.date, turn.protocol.running).single_run_cap_km
        if decision.running == "stop":
            comeback, said["step"] = {"stage": "off"}, "stopped"
    elif comeback["stage"] == "off":
        reps, raise_pain = latest_capacity(turn)
        if ready_for_the_ladder(checkin.walk_pain, reps, raise_pain, rules):
            comeback, said["step"] = {"stage": "ladder", "rung": 0, "last_session": None}, "ladder_starts"
    else:
        if checkin.walk_run:
            comeback["last_session"] = (checkin.date - timedelta(days=1)).isoformat()  # it was yesterday
        step = climb(comeback.get("rung", 0), checkin, rules)
        said["step"], said["rung"] = step.why, step.rung
        if step.why == "climbed":
            comeback = {"stage": "running"}
            turn.record["running"] = "hold"  # easy and flat, under the running rules
        else:
            comeback["rung"] = step.rung
    turn.record["comeback"] = comeback
    said["next_stage"] = comeback["stage"]
    return said


def latest_capacity(turn: Turn) -> tuple[int, int]:
    """The latest single-leg heel raises on the painful side, and how much they hurt."""
    retests = [r for r in turn.record.get("retests", []) if r.get("pain") is not None]
    if retests:
        return retests[-1]["reps"], retests[-1]["pain"]
    return turn.answers.get("heel_raises_reps", 0), turn.answers.get("heel_raises_pain", 10)


def change_phase(turn: Turn, phase: int) -> None:
    today = turn.today().isoformat()
    turn.record["phase"] = phase
    turn.record["phase_started"] = today
    turn.record["load_week"] = 1
    turn.record["load_week_started"] = today
    turn.record["add_load"] = False
    turn.record.setdefault("phases", []).append({"date": today, "phase": phase})


def retest_is_due(turn: Turn, today: date) -> bool:
    retests = turn.record.get("retests", [])
    since = retests[-1]["date"] if retests else turn.record.get("phase_started", today.isoformat())
    return today - date.fromisoformat(since) >= RETEST_EVERY


# --- the retest (R10 gates) --------------------------------------------------------------------


def apply_retest(turn: Turn) -> None:
    """Entering retested. The retest is a reassessment: R1 from the heel-raise test first, then
    the phase, which may move up one (R10) or come down to what today's signs allow."""
    urgent = assess_safety(turn.retest_safety())
    draft = turn.record.pop("draft", {})
    today = turn.today()
    retest = {
        "date": today.isoformat(),
        "reps": draft["retest_reps"],
        "reps_other": draft.get("retest_reps_other"),
        "pain": draft.get("retest_pain"),
        "stiffness": draft.get("retest_stiffness"),
        "hop_pain": draft.get("retest_hop"),
    }
    turn.record.setdefault("retests", []).append(retest)
    turn.record["retest_due"] = False
    if urgent is not None:
        turn.record["assessment"] = urgent.model_dump()
        turn.fire("gated")
        return
    assessment = assess(parse_answers(retest_answers(turn, retest, today)))
    phase_before = turn.record["phase"]
    phase = assessment.phase or phase_before  # no programme-ending rule can fire at a retest
    if phase != phase_before:
        change_phase(turn, phase)
    turn.fire("gated")
    gate = next(reason for reason in assessment.reasons if reason.rule == "R10")
    referral = [reason for reason in assessment.reasons if reason.rule in ("R8", "R13")]
    buttons = [turn.clinic_row(), *handoff.buttons(turn)] if referral else []
    turn.show("checkin/retest_result.j2", buttons, retest=retest,
              moved=(phase > phase_before) - (phase < phase_before), phase=turn.protocol.phase(phase),
              gate=gate, referral=referral)
    turn.plan_page()


def retest_answers(turn: Turn, retest: dict, today: date) -> dict:
    """The intake answers brought up to date by the retest and the last week of check-ins."""
    checkins = turn.store.checkins(turn.runner_id)
    week = [c for c in checkins if date.fromisoformat(c["date"]) > today - timedelta(days=7)]
    latest = checkins[-1] if checkins else {}
    stored = dict(turn.answers)
    started = turn.record.get("assessments", [{}])[0].get("date", today.isoformat())
    weeks_on_plan = (today - date.fromisoformat(started)).days // 7
    # Today's signs: the retest's raises and stiffness; the latest check-in's pain stands for
    # the pain now (the intake's would be weeks old).
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
    return answers_from(stored, current_phase=turn.record["phase"])


# --- scheduled messages -----------------------------------------------------------------------


def nudge_due(turn: Turn) -> str | None:
    """After 2 days without a check-in, the date of the last one (to nudge once about)."""
    last = turn.store.checkins(turn.runner_id)[-1:]
    last_checkin = last[0]["date"] if last else turn.record.get("phase_started")
    if not last_checkin or turn.record.get("nudged_for") == last_checkin:
        return None
    lapsed = turn.today() - date.fromisoformat(last_checkin) >= NUDGE_AFTER
    return last_checkin if lapsed else None


def reminder_screen(turn: Turn) -> Reply:
    day = turn.today().isoformat()
    buttons = [
        [Button("done_today", f"g|done:{day}"), Button("check_in", "g|checkin")],
        [Button("snooze", f"g|snooze:{day}"), Button("skip", f"g|skip:{day}")],
        turn.clinic_row(),
    ]
    return turn.page("reminders/daily.j2", buttons, plan=turn.todays_plan(),
                     nudge=nudge_due(turn) is not None, checked_in=turn.record.get("checked_in_on") == day)


def visa(turn: Turn, argument: str = "") -> None:
    """/visa 64: a VISA-A score the runner (or their clinician) got elsewhere, kept and charted."""
    scores = turn.record.get("visa", [])
    text = argument.strip()
    if not text:
        turn.show("visa/how.j2", last=scores[-1] if scores else None)
        return
    try:
        score = read_number(VISA_QUESTION, text.lower())
    except Unreadable as problem:
        turn.show(f"questions/reask/{problem.key}.j2", **problem.facts)
        turn.show("visa/how.j2", last=scores[-1] if scores else None)
        return
    today = turn.today().isoformat()
    previous = scores[-1] if scores else None
    turn.record["visa"] = [*[s for s in scores if s["date"] != today], {"date": today, "score": score}]
    turn.show("visa/saved.j2", score=score, previous=previous)


def summary_screen(turn: Turn) -> Reply:
    today = turn.today()
    checkins = turn.store.checkins(turn.runner_id)
    this_week = [c for c in checkins if date.fromisoformat(c["date"]) > today - timedelta(days=7)]
    last_week = [
        c for c in checkins
        if today - timedelta(days=14) < date.fromisoformat(c["date"]) <= today - timedelta(days=7)
    ]
    scores = turn.record.get("visa", [])
    return turn.page("reminders/summary.j2", [turn.clinic_row()], done=len(this_week),
                     pain=average_pain(this_week), pain_before=average_pain(last_week),
                     phase=turn.protocol.phase(turn.record["phase"]), plan=turn.todays_plan(),
                     visa=scores[-1] if scores else None, visa_before=scores[-2] if len(scores) > 1 else None)


def programme_week(turn: Turn) -> int:
    """Which week of the programme this is, counting from the first assessment as week 1."""
    started = turn.record.get("assessments", [{}])[0].get("date") or turn.today().isoformat()
    return (turn.today() - date.fromisoformat(started)).days // 7 + 1


def weekly_card(turn: Turn) -> Reply:
    """The week's education card, sent with the Sunday summary."""
    return card_reply(programme_week(turn), turn.protocol)


def progress(turn: Turn, argument: str = "") -> None:
    from conversations.charts import progress_chart  # matplotlib: only when asked

    if not turn.has_plan():
        onboarding.not_ready(turn)
        return
    checkins = turn.store.checkins(turn.runner_id)
    retests = turn.record.get("retests", [])
    reply = turn.show("progress/caption.j2", days=len(checkins), retests=len(retests))
    reply.photo = Drawing(partial(progress_chart, checkins, turn.record.get("phases", []), retests,
                                  today=turn.today(), visa=turn.record.get("visa"), lang=turn.lang))


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
