"""The terminal chat: the same conversation engine, templates and storage as on Telegram.

Buttons are shown as lettered choices (a, b, c...): type the letter to tap one. Commands work
as on Telegram (/help, /back, /today, /language...). Ctrl-D or /quit leaves. `lang` plays the
part of Telegram's language setting: the runner's language until they choose one.
"""

from __future__ import annotations

import string
import sys
from typing import TextIO

from conversations.engine import Engine
from conversations.messages import DEFAULT_LANGUAGE, Screen, html_to_text, render, render_reply
from conversations.replies import Drawing, Event

LETTERS = string.ascii_lowercase
BOT_USERNAME = "achilles_coach_bot"  # for invite links shown in the terminal


def show(screens: list[Screen], out: TextIO) -> dict[str, str]:
    """Print the screens; return the buttons of the last keyboard by letter."""
    choices: dict[str, str] = {}
    for screen in screens:
        if screen.notice:
            print(f"({html_to_text(screen.notice)})", file=out)
        if screen.html:
            print(html_to_text(screen.html), file=out)
        if screen.buttons:
            choices = {}
            for key in (key for row in screen.buttons for key in row):
                if key.url:
                    print(f"   {key.label}: {key.url}", file=out)
                    continue
                letter = LETTERS[len(choices)]
                choices[letter] = key.data
                print(f"  {letter}) {key.label}", file=out)
        if screen.document is not None:
            name, content = screen.document
            content = content.draw() if isinstance(content, Drawing) else content
            print(f"[file {name}, {len(content)} bytes]", file=out)
        print(file=out)
    return choices


def event_for(line: str, choices: dict[str, str], lang: str = DEFAULT_LANGUAGE) -> Event:
    if line.startswith("/"):
        name, _, argument = line[1:].partition(" ")
        return Event("command", name.lower(), argument.strip(), language=lang)
    if line.lower() in choices:
        return Event("button", choices[line.lower()], language=lang)
    return Event("text", line, language=lang)


def converse(engine: Engine, runner_id: int, event: Event, out: TextIO, choices: dict[str, str]) -> dict:
    """One line from the terminal through the engine; returns the buttons to tap next."""
    outcome = engine.handle(runner_id, event)
    screens = [render_reply(reply, outcome.lang, bot_username=BOT_USERNAME) for reply in outcome.replies]
    shown = show(screens, out)
    return shown if any(screen.buttons for screen in screens) else choices


def chat(engine: Engine, runner_id: int, stdin: TextIO = sys.stdin, out: TextIO = sys.stdout,
         lang: str = DEFAULT_LANGUAGE) -> int:
    print(html_to_text(render("terminal/intro.j2", lang=lang)), file=out)
    choices = converse(engine, runner_id, Event("command", "start", language=lang), out, {})
    for raw in stdin:
        line = raw.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        choices = converse(engine, runner_id, event_for(line, choices, lang), out, choices)
    print(html_to_text(render("terminal/bye.j2", lang=lang)), file=out)
    return 0
