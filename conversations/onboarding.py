"""Consent, the assessment and what it leads to, answering again, and the runner's everyday
commands (/start, /today, /plan, /cancel, /clinic, /help, /disclaimer).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conversations import clinic_desk, handoff, questionnaire
from conversations.answers import Assessment, parse_answers
from conversations.flow import CLEARANCE_STATES, INTAKE_STATES, QUESTION_STATES
from conversations.intake import answers_from
from conversations.messages import LANGUAGES
from conversations.replies import Button
from conversations.triage import assess as assess_answers
from conversations.triage import assess_safety

if TYPE_CHECKING:
    from conversations.turn import Turn


# --- consent -------------------------------------------------------------------------------


def welcome(turn: Turn, code: str = "", challenge=None) -> None:
    """The disclaimer and consent; an invite's code and the language it was read in ride on the
    agree button (nothing is stored before consent)."""
    buttons = [
        [Button("agree", f"g|agree:{code if challenge else ''}@{turn.lang}")],
        [Button("decline", "g|decline")],
    ]
    turn.show("onboarding/welcome.j2", buttons, returning=turn.state == "declined", challenge=challenge)


def agree(turn: Turn, argument: str = "") -> None:
    if turn.consented:
        turn.stale()
        return
    code, _, lang = argument.partition("@")
    turn.record["language"] = lang if lang in LANGUAGES else turn.lang
    turn.record["consent"] = {"given": True, "at": turn.now().isoformat()}
    turn.record["answers"] = {}
    turn.show("onboarding/thanks.j2")
    challenge = clinic_desk.challenge(turn, code) if code else None
    if challenge is not None:
        clinic_desk.offer(turn, challenge)  # the questions wait until they have decided
    turn.fire("agree")


def decline(turn: Turn, argument: str = "") -> None:
    if turn.consented:
        turn.stale()
        return
    # The refusal is all we keep: no answers, no name.
    refusal = {"given": False, "at": turn.now().isoformat()}
    for key in [key for key in turn.record if key not in ("runner_id", "state")]:
        del turn.record[key]
    turn.record["consent"] = refusal
    turn.fire("decline")
    turn.show("onboarding/declined.j2")


# --- the assessment (the machine's callbacks) ----------------------------------------------


def assess(turn: Turn) -> None:
    """Entering the assessment: the safety rules first (they may decide before the questionnaire
    is over), then the whole assessment; then on to what it leads to."""
    assessment = assess_safety(turn.safety_so_far())
    if assessment is None:
        assessment = assess_answers(parse_answers(answers_from(turn.answers, turn.record.get("phase"))))
    turn.record["assessment"] = assessment.model_dump()
    turn.fire("assessed")


def remember(turn: Turn) -> Assessment:
    """The assessment's consequences for the record: phase, its start, running, history."""
    assessment = Assessment.model_validate(turn.record["assessment"])
    today = turn.today().isoformat()
    if assessment.phase != turn.record.get("phase"):
        turn.record["phase_started"] = today
        turn.record["load_week"] = 1
        turn.record["load_week_started"] = today
        turn.record["add_load"] = False
        if assessment.phase is not None:
            turn.record.setdefault("phases", []).append({"date": today, "phase": assessment.phase})
    turn.record["phase"] = assessment.phase
    turn.record["running"] = assessment.running
    turn.record["lighter"] = False
    stopped = assessment.running == "stop" or turn.answers.get("warmup_pattern") == "not_running"
    turn.record["comeback"] = {"stage": "off"} if stopped else {"stage": "running"}
    if "higher_drop_or_heel_lift" in assessment.modifications:
        turn.record.setdefault("heel_lift_since", today)  # the weaning counts from the first offer
    turn.record.setdefault("assessments", []).append(
        {"date": today, "triage": assessment.triage, "phase": assessment.phase}
    )
    return assessment


def show_urgent(turn: Turn) -> None:
    remember(turn)
    clinic_desk.alert_admins(turn)
    urgent_screen(turn)


def show_referral(turn: Turn) -> None:
    assessment = remember(turn)
    turn.show("triage/referred.j2", [turn.clinic_row(), *handoff.buttons(turn)], assessment=assessment)


def show_plan(turn: Turn) -> None:
    assessment = remember(turn)
    turn.show("triage/result.j2", assessment=assessment, phase=turn.protocol.phase(assessment.phase))
    turn.plan_page()
    turn.fire("settle")


def urgent_screen(turn: Turn) -> None:
    """Care today. The emergency screen leads with the emergency number, the antibiotic screen
    (R3 alone) with the prescriber; the clinic's booking link only where it helps."""
    assessment = Assessment.model_validate(turn.record["assessment"])
    prescriber_only = {reason.rule for reason in assessment.reasons} == {"R3"}
    if assessment.triage == "emergency" or prescriber_only:
        contact = turn.clinic_row()
    else:
        contact = [Button("book", url=turn.clinic.booking_url)]
    buttons = [contact, *handoff.buttons(turn), [Button("answer_again", "g|reassess")]]
    turn.show("triage/urgent.j2", buttons, assessment=assessment, prescriber_only=prescriber_only)


# --- answering again -----------------------------------------------------------------------


def reassess(turn: Turn, argument: str = "") -> None:
    if not turn.consented:
        welcome(turn)
    elif turn.state in (*INTAKE_STATES, *CLEARANCE_STATES):
        turn.show("questions/already_answering.j2")
        questionnaire.ask(turn)
    elif not turn.can("reassess"):
        turn.stale()
    else:
        if turn.state != "urgent":  # after an urgent result the answers wait for the clearance
            turn.record["answers"] = {}
        for unfinished in ("draft", "selection"):
            turn.record.pop(unfinished, None)
        if turn.mode == "paused":
            turn.fire("resume")
        turn.show("onboarding/reassess.j2")
        turn.fire("reassess")


def note_clearance(turn: Turn, seen: bool) -> None:
    turn.record.setdefault("clinician_checks", []).append({"date": turn.today().isoformat(), "seen": seen})
    turn.record.pop("draft", None)


def clear_to_answer_again(turn: Turn) -> None:
    """A clinician has seen them since the urgent result: the questions again, from the start."""
    note_clearance(turn, True)
    turn.record["answers"] = {}


def show_still_urgent(turn: Turn) -> None:
    note_clearance(turn, False)
    turn.show("triage/see_clinician_first.j2")
    urgent_screen(turn)


# --- everyday commands ---------------------------------------------------------------------


def start(turn: Turn, argument: str = "") -> None:
    code = argument.strip()
    if code:
        found = clinic_desk.invitation(turn, code)
        if found is not None and not turn.consented:
            welcome(turn, code, challenge=found)
        elif found is not None:
            clinic_desk.offer(turn, found)
    elif not turn.consented:
        welcome(turn)
    elif turn.mode == "paused" or turn.state in QUESTION_STATES:
        if turn.mode == "paused":
            turn.fire("resume")
        turn.show("onboarding/resume.j2")
        questionnaire.ask(turn)
    elif turn.state == "urgent":
        urgent_screen(turn)
    else:
        turn.show("common/idle.j2", has_plan=turn.has_plan(), welcome_back=True)


def today(turn: Turn, argument: str = "") -> None:
    if turn.has_plan():
        turn.plan_page()
    else:
        not_ready(turn)


def plan(turn: Turn, argument: str = "") -> None:
    if not turn.has_plan():
        not_ready(turn)
        return
    assessment = Assessment.model_validate(turn.record["assessment"])
    turn.show("plan/overview.j2", [turn.clinic_row()], assessment=assessment,
              phase=turn.protocol.phase(turn.record["phase"]), week=turn.record.get("load_week", 1))


def not_ready(turn: Turn) -> None:
    if not turn.consented:
        welcome(turn)
    elif turn.state == "urgent":
        urgent_screen(turn)
    elif turn.state == "referred":
        turn.show("triage/no_programme_yet.j2", [turn.clinic_row()])
    else:
        turn.show("plan/not_ready.j2")
        start(turn)


def cancel(turn: Turn, argument: str = "") -> None:
    if turn.mode == "confirming_delete":
        turn.fire("keep_data")
        turn.show("privacy/kept.j2")
    elif turn.consented and turn.state in QUESTION_STATES and turn.mode == "none":
        turn.fire("pause")
        turn.show("common/cancelled.j2")
    else:
        turn.show("common/nothing_to_cancel.j2")


def clinic(turn: Turn, argument: str = "") -> None:
    summary = handoff.buttons(turn) if turn.record.get("assessment") else []
    turn.show("common/clinic.j2", [[Button("book", url=turn.clinic.booking_url)], *summary])


def help_(turn: Turn, argument: str = "") -> None:
    turn.show("common/help.j2")


def disclaimer(turn: Turn, argument: str = "") -> None:
    turn.show("common/disclaimer.j2")
