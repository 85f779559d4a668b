"""Challenge groups inside the conversation: invites and enrolment for runners, and the desk
(create, roster, alerts, waitlist, announcements, export) for the clinic's admins.

A challenge's participant list is the one record of who is in it. Every admin command checks
who is asking first and answers anyone else with the same line, whether or not a challenge
exists. What the desk sends to other chats (alerts, announcements, admissions) goes out as
`Message`s with a unique key, so a retry never sends one twice.
"""

from __future__ import annotations

import secrets
import unicodedata
from datetime import date
from typing import TYPE_CHECKING

from conversations import challenges as groups
from conversations import questionnaire
from conversations.challenges import Challenge, ChallengeFormError
from conversations.flow import QUESTION_STATES
from conversations.replies import Button, Message

if TYPE_CHECKING:
    from conversations.turn import Turn

NAME_LENGTH = 64


def safe_name(name: str) -> str:
    """A first name as admins will see it: no control, bidi or zero-width characters."""
    kept = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Co", "Cs"))
    return " ".join(kept.split())[:NAME_LENGTH]


# --- lookups ------------------------------------------------------------------------------------


def all_challenges(turn: Turn) -> list[Challenge]:
    return [Challenge.model_validate(c) for c in turn.store.challenges()]


def challenge(turn: Turn, code: str) -> Challenge | None:
    code = code.strip()
    found = next((c for c in turn.store.challenges() if c["code"] == code), None) if code else None
    return Challenge.model_validate(found) if found else None


def membership(turn: Turn, runner_id: int | None = None) -> Challenge | None:
    """The challenge the runner takes part in, if any."""
    runner_id = turn.runner_id if runner_id is None else runner_id
    return next((c for c in all_challenges(turn) if runner_id in c.participant_ids()), None)


def save(turn: Turn, challenge: Challenge) -> None:
    turn.store.save_challenge(challenge.model_dump(mode="json"))


def clinic_today(turn: Turn) -> date:
    return turn.now().astimezone(turn.clinic.zone).date()


def is_admin(turn: Turn) -> bool:
    return turn.clinic.is_admin(turn.runner_id)


def staff_only(turn: Turn) -> None:
    turn.show("clinic/staff_only.j2")


# --- runners: invites and enrolment ---------------------------------------------------------


def invitation(turn: Turn, code: str) -> Challenge | None:
    """The challenge a /start deep link invites to; None (and a word about it) if there's none."""
    found = challenge(turn, code)
    if found is None or clinic_today(turn) >= found.end:
        turn.show("clinic/invite_unknown.j2")
        return None
    return found


def offer(turn: Turn, found: Challenge) -> None:
    """The challenge, with join (or waitlist) and not-now; the questions wait for the answer."""
    today = clinic_today(turn)
    if turn.runner_id in found.participant_ids():
        turn.show("clinic/already_in.j2", challenge=found)
        return
    if turn.mode in ("none", "paused"):
        turn.fire("consider_invite")
    if groups.enrolment_open(found, today):
        buttons = [[Button("join", f"g|join:{found.code}")], [Button("not_now", "g|notnow")]]
        turn.show("clinic/join.j2", buttons, challenge=found)
    else:
        buttons = [[Button("waitlist", f"g|waitlist:{found.code}")], [Button("not_now", "g|notnow")]]
        turn.show("clinic/closed.j2", buttons, challenge=found)


def join(turn: Turn, code: str) -> None:
    found = challenge(turn, code)
    if found is None:
        turn.stale()
        return
    if groups.enrol(found, turn.runner_id, safe_name(turn.given_name), clinic_today(turn)) == "closed":
        offer(turn, found)
        return
    save(turn, found)
    turn.show("clinic/joined.j2", challenge=found)
    decided(turn)


def waitlist(turn: Turn, code: str) -> None:
    found = challenge(turn, code)
    if found is None:
        turn.stale()
        return
    if groups.join_waitlist(found, turn.runner_id, safe_name(turn.given_name), clinic_today(turn)):
        save(turn, found)
    turn.show("clinic/waitlisted.j2", challenge=found)
    decided(turn)


def not_now(turn: Turn, argument: str = "") -> None:
    decided(turn)


def decided(turn: Turn) -> None:
    """The invitation is answered: back to the questions, if the runner was answering them."""
    if turn.mode == "considering_invite":
        turn.fire("decide_invite")
    if turn.state in QUESTION_STATES and turn.mode == "none":
        questionnaire.ask(turn)


def leave_command(turn: Turn, argument: str = "") -> None:
    found = membership(turn)
    if found is None:
        turn.show("clinic/not_in_one.j2")
        return
    groups.leave(found, turn.runner_id)
    save(turn, found)
    turn.show("clinic/left.j2", challenge=found)


def memberships(turn: Turn) -> list[dict]:
    """What the clinics' challenges hold about this runner (for /export)."""
    found = []
    for stored in turn.store.challenges():
        for role in ("participants", "waitlist"):
            found += [{"challenge": stored["name"], "as": role, **entry}
                      for entry in stored[role] if entry["id"] == turn.runner_id]
    return found


def forget_in_challenges(turn: Turn) -> None:
    """On /delete: no challenge keeps the runner's id or name."""
    for found in all_challenges(turn):
        before = (len(found.participants), len(found.waitlist))
        groups.leave(found, turn.runner_id)
        if (len(found.participants), len(found.waitlist)) != before:
            save(turn, found)


def alert_admins(turn: Turn) -> None:
    """A participant answered a red flag: every admin hears at once."""
    found = membership(turn)
    if found is None:
        return
    participant = next(p for p in found.participants if p["id"] == turn.runner_id)
    reasons = turn.record.get("assessment", {}).get("reasons", [])
    alert = turn.page("clinic/red_flag_alert.j2", challenge=found, participant=participant, reasons=reasons)
    raised_by = turn.update_id if turn.update_id is not None else turn.now().isoformat()
    for admin_id in turn.clinic.admin_ids:
        turn.messages.append(Message(admin_id, (alert,), f"alert:{turn.runner_id}:{raised_by}:{admin_id}"))


# --- the desk (admins only) -------------------------------------------------------------------


def new_challenge(turn: Turn, argument: str = "") -> None:
    if not is_admin(turn):
        staff_only(turn)
    elif not argument.strip():
        turn.show("clinic/form.j2")
    else:
        try:
            created = groups.challenge_from_form(argument, turn.runner_id, clinic_today(turn))
        except ChallengeFormError as error:
            turn.show("clinic/form_problems.j2", problems=error.problems)
            turn.show("clinic/form.j2")
            return
        save(turn, created)
        turn.show("clinic/created.j2", challenge=created)


def list_challenges(turn: Turn, argument: str = "") -> None:
    if not is_admin(turn):
        staff_only(turn)
        return
    turn.show("clinic/challenges.j2", challenges=sorted(all_challenges(turn), key=lambda c: c.start))


def admins_challenge(turn: Turn, argument: str) -> Challenge | None:
    """The challenge named by its code, or with no code the admins' latest one."""
    code = argument.split()[0] if argument.split() else ""
    if code:
        return challenge(turn, code)
    return max(all_challenges(turn), key=lambda c: c.start, default=None)


def rows(turn: Turn, found: Challenge) -> list:
    today = clinic_today(turn)
    return [groups.roster_row(found, p, turn.store.load(p["id"]), turn.store.checkins(p["id"]), today)
            for p in found.participants]


def desk_page(template: str, *, flagged_only: bool = False):
    """An admin command that shows one challenge: /roster, /alerts."""

    def command(turn: Turn, argument: str = "") -> None:
        found = admins_challenge(turn, argument) if is_admin(turn) else None
        if not is_admin(turn):
            staff_only(turn)
        elif found is None:
            turn.show("clinic/no_such_challenge.j2")
        else:
            shown = [row for row in rows(turn, found) if row.flags or not flagged_only]
            turn.show(template, challenge=found, rows=shown)

    return command


roster = desk_page("clinic/roster.j2")
alerts = desk_page("clinic/alerts.j2", flagged_only=True)


def show_waitlist(turn: Turn, argument: str = "") -> None:
    if not is_admin(turn):
        staff_only(turn)
        return
    found = admins_challenge(turn, argument)
    if found is None:
        turn.show("clinic/no_such_challenge.j2")
        return
    buttons = [[Button("admit", f"g|admit:{found.code}:{w['id']}", facts={"name": w["name"]})]
               for w in found.waitlist]
    turn.show("clinic/waitlist.j2", buttons, challenge=found)


def admit_button(turn: Turn, argument: str) -> None:
    code, _, runner = argument.partition(":")
    found = challenge(turn, code) if is_admin(turn) else None
    if found is None or not runner.isdecimal() or not groups.admit(found, int(runner), clinic_today(turn)):
        turn.stale()
        return
    save(turn, found)
    admitted = turn.page("clinic/admitted.j2", challenge=found)
    turn.messages.append(Message(int(runner), (admitted,), f"admitted:{found.code}:{runner}"))
    turn.show("clinic/admit_done.j2", challenge=found)


def announce(turn: Turn, argument: str = "") -> None:
    if not is_admin(turn):
        staff_only(turn)
        return
    code, _, text = argument.strip().partition(" ")
    found = challenge(turn, code)
    if found is None:
        turn.show("clinic/no_such_challenge.j2")
    elif not text.strip():
        turn.show("clinic/announce_how.j2", challenge=found)
    else:
        # Kept with the challenge under a fresh id: "Send" works once, even after a restart.
        pending = {"id": secrets.token_hex(6), "by": turn.runner_id, "text": text.strip(), "sent": False}
        found.announcements.append(pending)
        save(turn, found)
        ref = f"{found.code}:{pending['id']}"
        buttons = [[Button("send_announcement", f"g|announce:{ref}")],
                   [Button("cancel_announcement", f"g|unannounce:{ref}")]]
        turn.show("clinic/announce_preview.j2", buttons, challenge=found, text=pending["text"])


def pending_announcement(turn: Turn, ref: str) -> tuple[Challenge | None, dict | None]:
    code, _, announcement_id = ref.partition(":")
    found = challenge(turn, code) if is_admin(turn) else None
    pending = next((a for a in found.announcements if a["id"] == announcement_id and not a["sent"]), None) \
        if found else None
    return found, pending


def send_announcement(turn: Turn, ref: str) -> None:
    found, pending = pending_announcement(turn, ref)
    if pending is None:
        turn.stale()
        return
    pending["sent"] = True
    save(turn, found)
    message = turn.page("clinic/announcement.j2", challenge=found, text=pending["text"])
    for participant in found.participants:
        key = f"announcement:{pending['id']}:{participant['id']}"
        turn.messages.append(Message(participant["id"], (message,), key))
    turn.show("clinic/announce_sent.j2", count=len(found.participants))


def cancel_announcement(turn: Turn, ref: str) -> None:
    found, pending = pending_announcement(turn, ref)
    if pending is not None:
        found.announcements.remove(pending)
        save(turn, found)
    turn.show("clinic/announce_cancelled.j2")


def export_challenge(turn: Turn, argument: str) -> None:
    found = challenge(turn, argument.split()[0]) if is_admin(turn) else None
    if not is_admin(turn):
        staff_only(turn)
    elif found is None:
        turn.show("clinic/no_such_challenge.j2")
    else:
        reply = turn.show("clinic/export.j2", challenge=found)
        table = groups.csv_export(found, export_data(turn.store, found), clinic_today(turn))
        reply.document = (f"challenge-{found.start}.csv", table.encode())


def export_data(store, found: Challenge) -> list[tuple[dict, list[dict], dict]]:
    """Each participant with their check-ins and VISA-A scores by date (the CSV's input)."""
    data = []
    for participant in found.participants:
        record = store.load(participant["id"]) or {}
        visa = {entry["date"]: entry["score"] for entry in record.get("visa", [])}
        data.append((participant, store.checkins(participant["id"]), visa))
    return data
