"""Challenge groups inside the conversation: invites and enrolment for runners, and the desk
(create, roster, alerts, waitlist, announcements, export) for the clinic's admins.

`ClinicDesk` is mixed into `conversations.coach.Turn`. Every admin command checks who is
asking first and answers anyone else with the same line whether or not a challenge exists.
"""

from __future__ import annotations

from datetime import date

from conversations.challenges import (
    Challenge,
    ChallengeFormError,
    admit,
    challenge_from_form,
    csv_export,
    enrol,
    enrolment_open,
    join_waitlist,
    leave,
    roster_row,
)
from conversations.messages import render_text
from conversations.replies import Button


class ClinicDesk:
    """Methods of `Turn` for challenge groups."""

    # --- lookups ------------------------------------------------------------------------------

    def challenge(self, code: str) -> Challenge | None:
        code = code.strip()
        found = next((c for c in self.coach.store.challenges() if c["code"] == code), None) if code else None
        return Challenge.model_validate(found) if found else None

    def save_challenge(self, challenge: Challenge) -> None:
        self.coach.store.save_challenge(challenge.model_dump(mode="json"))

    def clinic_today(self) -> date:
        return self.coach.now().astimezone(self.coach.clinic.zone).date()

    def is_admin(self) -> bool:
        return self.coach.clinic.is_admin(self.record["runner_id"])

    def staff_only(self) -> list:
        return [self.page("clinic/staff_only.j2")]

    def admins_challenge(self, argument: str) -> Challenge | None:
        """The challenge named by its code, or with no code the admins' latest one."""
        code = argument.split()[0] if argument.split() else ""
        if code:
            return self.challenge(code)
        challenges = [Challenge.model_validate(c) for c in self.coach.store.challenges()]
        return max(challenges, key=lambda c: c.start, default=None)

    # --- runners: invites and enrolment -----------------------------------------------------

    def invite(self, code: str) -> list | None:
        """/start with a deep-link payload. None when it is not an invite at all."""
        challenge = self.challenge(code)
        if challenge is None or self.clinic_today() >= challenge.end:
            return [self.page("clinic/invite_unknown.j2")]
        if not self.consented:
            return self.welcome(code, challenge=challenge)
        return [self.join_screen(challenge)]

    def join_screen(self, challenge: Challenge):
        today = self.clinic_today()
        if self.record["runner_id"] in challenge.participant_ids():
            return self.page("clinic/already_in.j2", challenge=challenge)
        if not enrolment_open(challenge, today):
            buttons = [[self.button("waitlist", f"g|waitlist:{challenge.code}")],
                       [self.button("not_now", "g|notnow")]]
            return self.page("clinic/closed.j2", buttons, challenge=challenge)
        buttons = [[self.button("join", f"g|join:{challenge.code}")], [self.button("not_now", "g|notnow")]]
        return self.page("clinic/join.j2", buttons, challenge=challenge)

    def join(self, code: str) -> list:
        challenge = self.challenge(code)
        if challenge is None:
            return self.stale()
        outcome = enrol(challenge, self.record["runner_id"], self.name, self.clinic_today())
        if outcome == "closed":
            return [self.join_screen(challenge)]
        self.save_challenge(challenge)
        self.record["challenge"] = {"code": challenge.code, "sharing": True}
        return [self.page("clinic/joined.j2", challenge=challenge), *self.carry_on()]

    def waitlist(self, code: str) -> list:
        challenge = self.challenge(code)
        if challenge is None:
            return self.stale()
        if join_waitlist(challenge, self.record["runner_id"], self.name, self.clinic_today()):
            self.save_challenge(challenge)
        return [self.page("clinic/waitlisted.j2", challenge=challenge), *self.carry_on()]

    def not_now(self, argument: str = "") -> list:
        return self.carry_on()

    def leave_command(self, argument: str = "") -> list:
        membership = self.record.pop("challenge", None)
        challenge = self.challenge(membership["code"]) if membership else None
        if challenge is None:
            return [self.page("clinic/not_in_one.j2")]
        leave(challenge, self.record["runner_id"])
        self.save_challenge(challenge)
        return [self.page("clinic/left.j2", challenge=challenge)]

    def memberships(self) -> list[dict]:
        """What the clinics' challenges hold about this runner (for /export)."""
        runner_id = self.record["runner_id"]
        found = []
        for stored in self.coach.store.challenges():
            for role in ("participants", "waitlist"):
                for entry in stored[role]:
                    if entry["id"] == runner_id:
                        found.append({"challenge": stored["name"], "as": role, **entry})
        return found

    def forget_in_challenges(self) -> None:
        """On /delete: no challenge keeps the runner's id or name."""
        runner_id = self.record["runner_id"]
        for stored in self.coach.store.challenges():
            challenge = Challenge.model_validate(stored)
            before = (len(challenge.participants), len(challenge.waitlist))
            leave(challenge, runner_id)
            if (len(challenge.participants), len(challenge.waitlist)) != before:
                self.save_challenge(challenge)

    def alert_admins(self) -> None:
        """A participant answered a red flag: every admin hears at once."""
        membership = self.record.get("challenge")
        challenge = self.challenge(membership["code"]) if membership else None
        if challenge is None or not membership.get("sharing"):
            return
        participant = next((p for p in challenge.participants if p["id"] == self.record["runner_id"]), None)
        if participant is None:
            return
        assessment = self.record.get("assessment") or {}
        for admin_id in self.coach.clinic.admin_ids:
            reply = self.page("clinic/red_flag_alert.j2", challenge=challenge, participant=participant,
                              reasons=assessment.get("reasons", []))
            self.coach.outbox.append((admin_id, [reply]))

    # --- the desk (admins only) ---------------------------------------------------------------

    def new_challenge(self, argument: str = "") -> list:
        if not self.is_admin():
            return self.staff_only()
        if not argument.strip():
            return [self.page("clinic/form.j2")]
        try:
            challenge = challenge_from_form(argument, self.record["runner_id"], self.clinic_today())
        except ChallengeFormError as error:
            problems = self.page("clinic/form_problems.j2", problems=error.problems)
            return [problems, self.page("clinic/form.j2")]
        self.save_challenge(challenge)
        return [self.page("clinic/created.j2", challenge=challenge, link=self.invite_link(challenge))]

    def invite_link(self, challenge: Challenge) -> str:
        return f"https://t.me/{self.coach.bot_username}?start={challenge.code}"

    def list_challenges(self, argument: str = "") -> list:
        if not self.is_admin():
            return self.staff_only()
        challenges = sorted((Challenge.model_validate(c) for c in self.coach.store.challenges()),
                            key=lambda c: c.start)
        links = {c.code: self.invite_link(c) for c in challenges}
        return [self.page("clinic/challenges.j2", challenges=challenges, links=links)]

    def rows(self, challenge: Challenge) -> list:
        today = self.clinic_today()
        rows = []
        for participant in challenge.participants:
            record = self.coach.store.load(participant["id"])
            checkins = self.coach.store.checkins(participant["id"])
            rows.append(roster_row(challenge, participant, record, checkins, today))
        return rows

    def roster(self, argument: str = "") -> list:
        if not self.is_admin():
            return self.staff_only()
        challenge = self.admins_challenge(argument)
        if challenge is None:
            return [self.page("clinic/no_such_challenge.j2")]
        return [self.page("clinic/roster.j2", challenge=challenge, rows=self.rows(challenge))]

    def alerts(self, argument: str = "") -> list:
        if not self.is_admin():
            return self.staff_only()
        challenge = self.admins_challenge(argument)
        if challenge is None:
            return [self.page("clinic/no_such_challenge.j2")]
        flagged = [row for row in self.rows(challenge) if row.flags]
        return [self.page("clinic/alerts.j2", challenge=challenge, rows=flagged)]

    def show_waitlist(self, argument: str = "") -> list:
        if not self.is_admin():
            return self.staff_only()
        challenge = self.admins_challenge(argument)
        if challenge is None:
            return [self.page("clinic/no_such_challenge.j2")]
        buttons = [
            [Button(render_text("clinic/admit_button.j2", name=w["name"]),
                    data=f"g|admit:{challenge.code}:{w['id']}")]
            for w in challenge.waitlist
        ]
        return [self.page("clinic/waitlist.j2", buttons, challenge=challenge)]

    def admit_button(self, argument: str) -> list:
        if not self.is_admin():
            return self.stale()
        code, _, runner = argument.partition(":")
        challenge = self.challenge(code)
        if challenge is None or not runner.isdigit():
            return self.stale()
        if not admit(challenge, int(runner), self.clinic_today()):
            return self.stale()
        self.save_challenge(challenge)
        self.coach.outbox.append((int(runner), [self.page("clinic/admitted.j2", challenge=challenge)]))
        self.mark_member(int(runner), challenge)
        return [self.page("clinic/admit_done.j2", challenge=challenge)]

    def mark_member(self, runner_id: int, challenge: Challenge) -> None:
        record = self.coach.store.load(runner_id)
        if record is not None:
            record["challenge"] = {"code": challenge.code, "sharing": True}
            self.coach.store.save(runner_id, record)

    def announce(self, argument: str = "") -> list:
        if not self.is_admin():
            return self.staff_only()
        code, _, text = argument.strip().partition(" ")
        challenge = self.challenge(code)
        if challenge is None:
            return [self.page("clinic/no_such_challenge.j2")]
        if not text.strip():
            return [self.page("clinic/announce_how.j2", challenge=challenge)]
        self.coach.pending_announcements[(self.record["runner_id"], challenge.code)] = text.strip()
        buttons = [[self.button("send_announcement", f"g|announce:{challenge.code}")],
                   [self.button("cancel_announcement", f"g|unannounce:{challenge.code}")]]
        return [self.page("clinic/announce_preview.j2", buttons, challenge=challenge, text=text.strip())]

    def send_announcement(self, code: str) -> list:
        text = self.coach.pending_announcements.pop((self.record["runner_id"], code), None)
        challenge = self.challenge(code)
        if not self.is_admin() or text is None or challenge is None:
            return self.stale()
        for participant in challenge.participants:
            message = self.page("clinic/announcement.j2", challenge=challenge, text=text)
            self.coach.outbox.append((participant["id"], [message]))
        return [self.page("clinic/announce_sent.j2", count=len(challenge.participants))]

    def cancel_announcement(self, code: str) -> list:
        self.coach.pending_announcements.pop((self.record["runner_id"], code), None)
        return [self.page("clinic/announce_cancelled.j2")]

    def export_challenge(self, argument: str) -> list:
        if not self.is_admin():
            return self.staff_only()
        challenge = self.challenge(argument.split()[0])
        if challenge is None:
            return [self.page("clinic/no_such_challenge.j2")]
        store = self.coach.store
        data = [(p, store.checkins(p["id"])) for p in challenge.participants]
        reply = self.page("clinic/export.j2", challenge=challenge)
        reply.document = (f"challenge-{challenge.start}.csv", csv_export(challenge, data, self.clinic_today())
                          .encode())
        return [reply]
