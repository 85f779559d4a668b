"""The clinician handoff: a one-page summary of the runner (conversations/summary_pdf.py) that
they get as a PDF to forward, or, in a clinic's challenge, send to the clinic's admins with one
tap. Offered with every referral and on /clinic; nothing leaves without the runner's tap.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from conversations import clinic_desk
from conversations.replies import Button, Drawing, Message

if TYPE_CHECKING:
    from conversations.turn import Turn


def buttons(turn: Turn) -> list[list[Button]]:
    """The summary's buttons: to the runner themself, and to the clinic when they share with it."""
    rows = [[Button("get_summary", "g|summary")]]
    if turn.consented and clinic_desk.membership(turn) is not None:
        rows.append([Button("send_summary", "g|sendsummary")])
    return rows


def pdf(turn: Turn, lang: str) -> tuple[str, Drawing]:
    """The summary in `lang`: the runner's own copy in theirs, the clinic's in the clinic's."""
    from conversations.summary_pdf import summary_pdf  # fpdf2 and the chart: only when asked

    record = {**turn.record, "first_name": turn.given_name or None}
    content = partial(summary_pdf, record, turn.store.checkins(turn.runner_id), turn.clinic, turn.protocol,
                      today=turn.today(), lang=lang)
    return f"achilles-summary-{turn.today().isoformat()}.pdf", Drawing(content)


def get_summary(turn: Turn, argument: str = "") -> None:
    if not turn.record.get("assessment"):
        turn.show("handoff/nothing_yet.j2")
        return
    reply = turn.show("handoff/yours.j2", [[Button("book", url=turn.clinic.booking_url)]])
    reply.document = pdf(turn, turn.lang)


def send_summary(turn: Turn, argument: str = "") -> None:
    """To the admins of the runner's challenge, with the booking link; only on the runner's tap."""
    found = clinic_desk.membership(turn)
    if found is None or not turn.record.get("assessment"):
        turn.stale()
        return
    participant = next(p for p in found.participants if p["id"] == turn.runner_id)
    name, content = pdf(turn, turn.clinic.language)
    note = turn.page("handoff/to_the_clinic.j2", challenge=found, participant=participant)
    note.document = (name, content.draw())  # kept in the outbox as it is, so drawn now
    sent = turn.update_id if turn.update_id is not None else turn.now().isoformat()
    for admin_id in turn.clinic.admin_ids:
        turn.messages.append(Message(admin_id, (note,), f"summary:{turn.runner_id}:{sent}:{admin_id}"))
    turn.show("handoff/sent.j2")
