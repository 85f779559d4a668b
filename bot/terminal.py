"""The terminal chat: the same conversation engine, templates and storage as on Telegram.

Buttons are shown as lettered choices (a, b, c...): type the letter to tap one. Commands work
as on Telegram (/help, /back, /today...). Ctrl-D or /quit leaves.
"""

from __future__ import annotations

import string
import sys
from typing import TextIO

from conversations.coach import Coach, Event, Reply
from conversations.messages import html_to_text, render

LETTERS = string.ascii_lowercase


def show(replies: list[Reply], out: TextIO) -> dict[str, str]:
    """Print the replies; return the buttons of the last keyboard by letter."""
    choices: dict[str, str] = {}
    for reply in replies:
        if reply.notice:
            print(f"({reply.notice})", file=out)
        if reply.html:
            print(html_to_text(reply.html), file=out)
        if reply.buttons:
            choices = {}
            for button in (b for row in reply.buttons for b in row):
                letter = LETTERS[len(choices)]
                if button.url:
                    print(f"   {button.label}: {button.url}", file=out)
                    continue
                choices[letter] = button.data
                print(f"  {letter}) {button.label}", file=out)
        if reply.document is not None:
            name, content = reply.document
            print(f"[file {name}, {len(content)} bytes]", file=out)
        print(file=out)
    return choices


def event_for(line: str, choices: dict[str, str]) -> Event:
    if line.startswith("/"):
        name, _, argument = line[1:].partition(" ")
        return Event("command", name.lower(), argument.strip())
    if line.lower() in choices:
        return Event("button", choices[line.lower()])
    return Event("text", line)


def chat(coach: Coach, runner_id: int, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    print(html_to_text(render("terminal/intro.j2")), file=out)
    choices = show(coach.handle(runner_id, Event("command", "start")), out)
    for raw in stdin:
        line = raw.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        replies = coach.handle(runner_id, event_for(line, choices))
        new_choices = show(replies, out)
        if any(reply.buttons for reply in replies):
            choices = new_choices
    print(html_to_text(render("terminal/bye.j2")), file=out)
    return 0
