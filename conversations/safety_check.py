"""The safety question a worrying message brings up, at any point of the conversation.

`conversations.safety_net` finds the red-flag signs in what a runner typed; here they get the
safety screen's flags with those signs ticked. Confirming any is the urgent path, the same as
at intake (R1-R4); "None of these" puts the runner back exactly where they were.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conversations import onboarding, questionnaire
from conversations.answers import URGENT_FLAGS
from conversations.flow import QUESTION_STATES
from conversations.replies import Button

if TYPE_CHECKING:
    from conversations.turn import Turn


def mentioned(turn: Turn, signs: list[str]) -> None:
    """A message mentioned red-flag signs: the safety question now, with them ticked."""
    selection = turn.record.setdefault("safety_selection", [])
    selection += [sign for sign in signs if sign not in selection]
    turn.fire("mention_red_flag")
    ask(turn, mentioned=signs)


def ask(turn: Turn, *, edit: bool = False, mentioned: list[str] = ()) -> None:
    step = turn.record["step"] if edit else turn.next_step()
    chosen = turn.record.get("safety_selection", [])
    rows = [[Button.option("red_flags", flag, f"{step}|s{i}", ticked=flag in chosen)]
            for i, flag in enumerate(URGENT_FLAGS)]
    if chosen:
        rows.append([Button("confirm_flags", f"{step}|sdone")])
    rows.append([Button("no_flags", f"{step}|snone")])
    rows.append(turn.clinic_row())
    reply = turn.show("safety/check.j2", rows, mentioned=list(mentioned))
    reply.edit = edit


def tapped(turn: Turn, token: str) -> None:
    chosen = turn.record.setdefault("safety_selection", [])
    index = token[1:]
    if token == "snone":
        turn.record.pop("safety_selection", None)
        turn.fire("clear_red_flag")
        turn.show("safety/cleared.j2")
        carry_on(turn)
    elif token == "sdone" and chosen:
        confirmed(turn)
    elif token.startswith("s") and index.isdecimal() and int(index) < len(URGENT_FLAGS):
        flag = URGENT_FLAGS[int(index)]
        chosen.remove(flag) if flag in chosen else chosen.append(flag)
        ask(turn, edit=True)
    else:
        turn.stale()


def confirmed(turn: Turn) -> None:
    """Whatever the runner was doing, a confirmed red flag is the urgent path (R1-R4)."""
    flags = {*turn.answers.get("red_flags", []), *turn.record.pop("safety_selection")}
    turn.record.setdefault("answers", {})["red_flags"] = [f for f in URGENT_FLAGS if f in flags]
    for interrupted in ("draft", "selection"):
        turn.record.pop(interrupted, None)
    turn.fire("confirm_red_flag")
    turn.fire("flagged")


def carry_on(turn: Turn) -> None:
    """Back to wherever the runner is in the conversation, after an interruption."""
    if turn.state in QUESTION_STATES and turn.mode == "none":
        questionnaire.ask(turn)
    elif turn.state == "urgent":
        onboarding.urgent_screen(turn)
