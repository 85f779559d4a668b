"""Clinic challenge groups: a cohort of runners with limited places, an invite code, a roster.

Pure functions over plain data: a challenge is a dict as stored (see `Challenge`), a
participant's progress comes from their record and check-ins. Who may see any of this is the
caller's business (only the clinic's admins, checked in `conversations.clinic_desk`).
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from conversations.progression import CheckIn
from conversations.reminders import at_local

CODE_BYTES = 12  # 96 bits of randomness; Telegram deep links allow up to 64 characters
DEFAULT_PLACES = 20
SILENT_DAYS_ALERT = 3
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SESSION_REMINDERS = {"day_before": timedelta(days=1), "hour_before": timedelta(hours=1)}


class Session(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: str
    time: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    title: str = Field(min_length=1, max_length=120)
    link: str | None = Field(default=None, pattern=r"^https?://\S+$")

    @field_validator("weekday")
    @classmethod
    def _weekday(cls, value: str) -> str:
        day = value.strip().lower()[:3]
        if day not in WEEKDAYS:
            raise ValueError("a weekday such as Wed")
        return day


class Challenge(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str
    name: str = Field(min_length=1, max_length=80)
    start: date
    weeks: int = Field(ge=1, le=52)
    places: int = Field(default=DEFAULT_PLACES, ge=1, le=1000)
    deadline: date | None = None
    sessions: list[Session] = []
    created_by: int
    participants: list[dict] = []  # {"id", "name", "joined"}
    waitlist: list[dict] = []  # {"id", "name", "asked"}
    sent: list[str] = []  # session reminders already sent, so none goes twice
    announcements: list[dict] = []  # {"id", "by", "text", "sent"}: previewed, then sent once

    @property
    def end(self) -> date:
        return self.start + timedelta(weeks=self.weeks)

    def participant_ids(self) -> list[int]:
        return [p["id"] for p in self.participants]


class ChallengeFormError(ValueError):
    """The admin's form has problems: each a field, what is wrong with it (a kind the template
    clinic/form_problems.j2 words in the admin's language) and the limit it broke, if any."""

    def __init__(self, problems: list[dict]) -> None:
        super().__init__("; ".join(f"{p['field']}: {p['kind']}" for p in problems))
        self.problems = problems


def problem(field: str, kind: str, limit: object = None) -> dict:
    return {"field": field, "kind": kind, "limit": limit}


# pydantic's error types, as the kinds of problem the form template words.
ERROR_KINDS = {
    "missing": "missing", "int_parsing": "not_a_number", "int_from_float": "not_a_number",
    "date_parsing": "not_a_date", "date_from_datetime_parsing": "not_a_date",
    "greater_than_equal": "too_small", "less_than_equal": "too_large",
    "string_too_short": "missing", "string_too_long": "too_long", "string_pattern_mismatch": "not_valid",
    "value_error": "not_valid",
}


def form_problem(error: dict) -> dict:
    """One of pydantic's errors as a problem of the form: sessions by their part (weekday...)."""
    field = str(error["loc"][-1]) if error["loc"][:1] == ("sessions",) else str(error["loc"][0])
    context = error.get("ctx") or {}
    limit = context.get("ge", context.get("le", context.get("max_length")))
    return problem(field, ERROR_KINDS.get(error["type"], "not_valid"), limit)


def new_code() -> str:
    """96 random bits, URL-safe; never starting with "-", which a command line reads as an option."""
    while (code := secrets.token_urlsafe(CODE_BYTES))[0] in "-_":
        pass
    return code


FORM_LINE = re.compile(r"^\s*(\w+)\s*:\s*(.*?)\s*$")


def challenge_from_form(text: str, admin_id: int, today: date) -> Challenge:
    """A new challenge from the lines an admin typed ('name: ...', 'start: 2027-04-05', ...)."""
    fields: dict[str, object] = {}
    sessions = []
    problems = []
    for line in text.splitlines():
        match = FORM_LINE.match(line)
        if not match:
            continue
        key, value = match.group(1).lower(), match.group(2)
        if key == "session":
            parts = value.split()
            link = parts.pop() if parts and parts[-1].startswith("http") else None
            if len(parts) < 3:
                problems.append(problem("session", "session_format"))
                continue
            sessions.append({"weekday": parts[0], "time": parts[1].zfill(5), "title": " ".join(parts[2:]),
                             "link": link})
        elif key in ("name", "start", "weeks", "places", "deadline") and value:
            fields[key] = value
    fields.setdefault("places", DEFAULT_PLACES)
    try:
        challenge = Challenge.model_validate(
            {**fields, "sessions": sessions, "code": new_code(), "created_by": admin_id}
        )
    except ValidationError as error:
        problems += [form_problem(e) for e in error.errors()]
        raise ChallengeFormError(problems) from None
    if challenge.start < today:
        problems.append(problem("start", "in_the_past"))
    if challenge.deadline and challenge.deadline > challenge.end:
        problems.append(problem("deadline", "after_the_end"))
    if problems:
        raise ChallengeFormError(problems)
    return challenge


# --- enrolment -----------------------------------------------------------------------------


def enrolment_open(challenge: Challenge, today: date) -> bool:
    if challenge.deadline is not None and today > challenge.deadline:
        return False
    return today < challenge.end and len(challenge.participants) < challenge.places


def enrol(challenge: Challenge, runner_id: int, name: str, today: date) -> str:
    """'enrolled', 'already', or 'closed' (full or past the deadline)."""
    if runner_id in challenge.participant_ids():
        return "already"
    if not enrolment_open(challenge, today):
        return "closed"
    challenge.waitlist = [w for w in challenge.waitlist if w["id"] != runner_id]
    challenge.participants.append({"id": runner_id, "name": name, "joined": today.isoformat()})
    return "enrolled"


def join_waitlist(challenge: Challenge, runner_id: int, name: str, today: date) -> bool:
    if runner_id in challenge.participant_ids() or any(w["id"] == runner_id for w in challenge.waitlist):
        return False
    challenge.waitlist.append({"id": runner_id, "name": name, "asked": today.isoformat()})
    return True


def admit(challenge: Challenge, runner_id: int, today: date) -> bool:
    """An admin admits someone from the waitlist, even past the deadline or the places."""
    waiting = next((w for w in challenge.waitlist if w["id"] == runner_id), None)
    if waiting is None:
        return False
    challenge.waitlist.remove(waiting)
    challenge.participants.append({"id": runner_id, "name": waiting["name"], "joined": today.isoformat()})
    return True


def leave(challenge: Challenge, runner_id: int) -> None:
    challenge.participants = [p for p in challenge.participants if p["id"] != runner_id]
    challenge.waitlist = [w for w in challenge.waitlist if w["id"] != runner_id]


# --- the roster and alerts -------------------------------------------------------------------


@dataclass(frozen=True)
class RosterRow:
    id: int
    name: str
    phase: int | None
    done: int
    due: int
    last_pain: int | None
    trend: str  # "better", "same", "worse" or "" when too early to say
    streak: int
    flags: tuple[str, ...]
    visa: int | None = None  # the latest VISA-A score

    @property
    def adherence(self) -> int | None:
        return round(100 * self.done / self.due) if self.due else None


def roster_row(challenge: Challenge, participant: dict, record: dict | None, checkins: list[dict],
               today: date) -> RosterRow:
    joined = date.fromisoformat(participant["joined"])
    first = max(challenge.start, joined)
    last = min(today, challenge.end - timedelta(days=1))
    in_range = [c for c in checkins if first <= date.fromisoformat(c["date"]) <= last]
    # The day they joined counts only if they checked in on it: joining is no missed day.
    counted_from = first if any(c["date"] == first.isoformat() for c in in_range) or first > joined \
        else first + timedelta(days=1)
    due = max(0, (last - counted_from).days + 1)
    pains = [c["pain"] for c in in_range if c.get("pain") is not None]
    return RosterRow(
        id=participant["id"],
        name=participant["name"],
        phase=(record or {}).get("phase"),
        done=len(in_range),
        due=due,
        last_pain=pains[-1] if pains else None,
        trend=trend(pains),
        streak=streak(checkins, today),
        flags=alert_flags(record, checkins, today, since=first),
        visa=((record or {}).get("visa") or [{}])[-1].get("score"),
    )


def trend(pains: list[int]) -> str:
    if len(pains) < 4:
        return ""
    half = len(pains) // 2
    before, after = sum(pains[:half]) / half, sum(pains[half:]) / (len(pains) - half)
    if after <= before - 1:
        return "better"
    return "worse" if after >= before + 1 else "same"


def streak(checkins: list[dict], today: date) -> int:
    """Days in a row with a check-in, up to today (or yesterday, if today's is still to come)."""
    days = {date.fromisoformat(c["date"]) for c in checkins}
    day = today if today in days else today - timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= timedelta(days=1)
    return count


def alert_flags(record: dict | None, checkins: list[dict], today: date, since: date) -> tuple[str, ...]:
    """Why a clinician may want to call: a red flag, two bad mornings in a row, silence."""
    flags = []
    if record and record.get("state") == "urgent":
        flags.append("red_flag")
    recent = [CheckIn.model_validate(c) for c in checkins[-2:]]
    consecutive = len(recent) == 2 and (recent[1].date - recent[0].date).days == 1
    if consecutive and all(c.bad_morning for c in recent):
        flags.append("bad_mornings")
    last = date.fromisoformat(checkins[-1]["date"]) if checkins else since
    if (today - max(last, since)).days >= SILENT_DAYS_ALERT:
        flags.append("silent")
    return tuple(flags)


# --- group sessions ----------------------------------------------------------------------------


def session_moments(challenge: Challenge, zone: ZoneInfo) -> list[tuple[Session, datetime]]:
    """Every group session of the challenge, as (session, start instant in UTC)."""
    moments = []
    for session in challenge.sessions:
        hours, minutes = map(int, session.time.split(":"))
        day = challenge.start
        while day.weekday() != WEEKDAYS.index(session.weekday):
            day += timedelta(days=1)
        while day < challenge.end:
            moments.append((session, at_local(day, time(hours, minutes), zone)))
            day += timedelta(weeks=1)
    return sorted(moments, key=lambda pair: pair[1])


def session_reminders_due(challenge: Challenge, zone: ZoneInfo, now: datetime,
                          window: timedelta = timedelta(minutes=30)) -> list[tuple[str, Session, datetime]]:
    """(marker, session, start) for each session reminder due now and not yet sent."""
    due = []
    for session, start in session_moments(challenge, zone):
        for kind, ahead in SESSION_REMINDERS.items():
            marker = f"{start.isoformat()}/{kind}"
            if marker not in challenge.sent and start - ahead <= now < start - ahead + window:
                due.append((marker, session, start))
    return due


# --- export ------------------------------------------------------------------------------------

CSV_COLUMNS = ("date", "participant_id", "name", "phase", "checked_in", "pain", "settled", "morning",
               "plan_done", "km", "decision", "visa_a")


def csv_export(challenge: Challenge, participants: list[tuple[dict, list[dict], dict]],
               today: date) -> str:
    """One row per participant per day of the challenge so far; ISO dates, numbers as numbers.
    Each participant comes with their check-ins and their VISA-A scores by date."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    last = min(today, challenge.end - timedelta(days=1))
    for participant, checkins, visa in participants:
        by_day = {c["date"]: c for c in checkins}
        day = max(challenge.start, date.fromisoformat(participant["joined"]))
        while day <= last:
            row = by_day.get(day.isoformat())
            values = [day.isoformat(), participant["id"], spreadsheet_safe(participant["name"])]
            if row is None:
                values += ["", 0, "", "", "", "", "", ""]
            else:
                values += [
                    row.get("phase", ""), 1, blank(row.get("pain")), yes_no(row.get("settled")),
                    row.get("morning", ""), row.get("plan_done", ""), blank(row.get("km")),
                    row.get("decision", ""),
                ]
            values.append(blank(visa.get(day.isoformat())))
            writer.writerow(values)
            day += timedelta(days=1)
    return out.getvalue()


def spreadsheet_safe(text: str) -> str:
    """A name a spreadsheet will show as text, never run as a formula (=HYPERLINK(...) and co)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def blank(value: object) -> object:
    return "" if value is None else value


def yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")
