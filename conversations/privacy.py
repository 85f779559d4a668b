"""What is stored about a runner, a copy of all of it, and erasing it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from conversations import clinic_desk
from conversations.replies import Button

if TYPE_CHECKING:
    from conversations.turn import Turn


def privacy(turn: Turn, argument: str = "") -> None:
    turn.show("privacy/privacy.j2")


def stored_nothing(turn: Turn) -> bool:
    return turn.store.load(turn.runner_id) is None


def export(turn: Turn, argument: str = "") -> None:
    if argument.strip():  # /export CODE is the clinic's challenge export
        clinic_desk.export_challenge(turn, argument)
        return
    if stored_nothing(turn):
        turn.show("privacy/nothing_stored.j2")
        return
    data = turn.store.export(turn.runner_id)
    data["challenges"] = clinic_desk.memberships(turn)
    reply = turn.show("privacy/export.j2")
    reply.document = (f"achilles-coach-{turn.runner_id}.json",
                      json.dumps(data, indent=2, ensure_ascii=False, default=str).encode())


def delete(turn: Turn, argument: str = "") -> None:
    if stored_nothing(turn):
        turn.show("privacy/nothing_stored.j2")
        return
    if turn.mode != "confirming_delete":
        turn.fire("ask_to_delete")
    step = turn.next_step()
    buttons = [[Button("erase", f"{step}|erase")], [Button("keep", f"{step}|keep")]]
    turn.show("privacy/confirm_delete.j2", buttons)


def confirmed(turn: Turn, token: str) -> None:
    """The answer to "Erase all your data?"."""
    if token == "erase":
        clinic_desk.forget_in_challenges(turn)
        turn.store.delete(turn.runner_id)
        turn.erased = True
        turn.show("privacy/erased.j2")
    else:
        turn.fire("keep_data")
        turn.show("privacy/kept.j2")
