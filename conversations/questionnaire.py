"""Asking questions and taking answers, for every question list (intake, reminders, check-in,
retest, clearance): the screen of the current question, a typed or tapped answer, /back.

Which question comes next is the machine's business (`conversations.flow`); entering a
question state calls `ask`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from conversations.flow import INTAKE_STATES, QUESTION_STATES
from conversations.intake import BY_ID, QUESTIONS, Question, Unreadable, read_text
from conversations.reminders import DEFAULT_STRENGTH_DAYS
from conversations.replies import Button, Reply

if TYPE_CHECKING:
    from conversations.turn import Turn


def options(question: Question) -> list:
    """The values of a question's buttons, in order."""
    return list(question.options) + [value for value, _ in question.extra]


def ask(turn: Turn, *, edit: bool = False, again: bool = False) -> Reply:
    """The current question with fresh buttons (or the same ones when editing or repeating)."""
    question = BY_ID[turn.state]
    step = turn.record["step"] if edit or again else turn.next_step()
    values = options(question)
    if question.id == "strength_days" and "selection" not in turn.record:
        current = turn.record.get("reminder", {}).get("strength_days", DEFAULT_STRENGTH_DAYS)
        turn.record["selection"] = list(current)
    rows: list[list[Button]] = []
    if question.kind == "multi":
        chosen = turn.record.get("selection", [])
        rows += [[Button.option(question.id, value, f"{step}|t{i}", ticked=value in chosen)]
                 for i, value in enumerate(values)]
        done = "done" if chosen or question.id == "strength_days" else "none_of_these"
        rows.append([Button(done, f"{step}|done")])
    else:
        keys = [Button.option(question.id, value, f"{step}|{i}") for i, value in enumerate(values)]
        if question.kind == "pain":  # 0-5, 6-10, then "Didn't try" and the like on their own
            rows += [row for row in (keys[:6], keys[6:11], keys[11:]) if row]
        else:
            per_row = 1 if question.kind == "choice" and len(values) > 3 else 3
            rows += [keys[i : i + per_row] for i in range(0, len(keys), per_row)]
    if question.section == "checkin":
        rows.append([Button("worry", "g|reassess")])
    if turn.can("back"):
        rows.append([Button("back", f"{step}|back")])
    number = QUESTIONS.index(question) + 1 if question in QUESTIONS else None
    reply = turn.page(f"questions/{question.id}.j2", rows, number=number, total=len(QUESTIONS),
                      answers=turn.answers)
    reply.edit = edit
    turn.replies.append(reply)
    return reply


def ask_unless_interrupted(turn: Turn) -> None:
    """Entering a question: ask it, unless an interruption holds the questions until it is over."""
    if turn.mode == "none":
        ask(turn)


def where_we_are(turn: Turn) -> None:
    """The current question again, with the buttons already sent (nothing changes)."""
    if turn.state in QUESTION_STATES and turn.mode == "none":
        ask(turn, again=True)


def typed(turn: Turn, text: str) -> None:
    """A typed answer to the current question, or a friendly word on why it isn't one."""
    question = BY_ID[turn.state]
    try:
        value = read_text(question, text)
    except Unreadable as problem:
        turn.show(f"questions/reask/{problem.key}.j2", **problem.facts)
        ask(turn)
        return
    answer(turn, question, value)


def tapped(turn: Turn, token: str) -> None:
    """A tap on the current question's keyboard: an option, a tick box, or Back."""
    question = BY_ID[turn.state]
    values = options(question)
    if token == "back":
        back(turn)
    elif question.kind == "multi":
        toggle(turn, question, token, values)
    elif token.isdecimal() and int(token) < len(values):
        answer(turn, question, values[int(token)])
    else:
        turn.stale()


def toggle(turn: Turn, question: Question, token: str, values: list) -> None:
    chosen = turn.record.setdefault("selection", [])
    if token == "done":
        selection = [value for value in values if value in chosen]
        answer(turn, question, selection)
    elif token.startswith("t") and token[1:].isdecimal() and int(token[1:]) < len(values):
        value = values[int(token[1:])]
        chosen.remove(value) if value in chosen else chosen.append(value)
        ask(turn, edit=True)
    else:
        turn.stale()


def answer(turn: Turn, question: Question, value: object) -> None:
    """Keep the answer and move on: the machine decides what comes next."""
    turn.record.setdefault("answers" if question.id in INTAKE_STATES else "draft", {})[question.id] = value
    turn.record.pop("selection", None)
    turn.fire("answered")
    forget_skipped(turn, question)


def forget_skipped(turn: Turn, answered: Question) -> None:
    """A question the chain skipped this time (after /back, say) keeps no old answer."""
    if answered not in QUESTIONS:
        return
    start = QUESTIONS.index(answered) + 1
    end = INTAKE_STATES.index(turn.state) if turn.state in INTAKE_STATES else len(QUESTIONS)
    for skipped in QUESTIONS[start:end]:
        turn.record.get("answers", {}).pop(skipped.id, None)


def back(turn: Turn, argument: str = "") -> None:
    if turn.mode == "paused" and turn.state in QUESTION_STATES:
        turn.fire("resume")  # going back is carrying on: the question must show
    if turn.state not in QUESTION_STATES:
        turn.show("questions/nothing_to_go_back_to.j2")
    elif not turn.can("back"):
        turn.show("questions/first_question.j2")
        ask(turn)
    else:
        turn.record.pop("selection", None)
        turn.fire("back")
