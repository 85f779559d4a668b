"""The runner's language: chosen with /language (or a tap), kept with them, used for every word.

Until they choose, it is their Telegram's. Switching mid-questionnaire shows the current
question again in the new language, with nothing else changed.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from babel import Locale

from conversations import onboarding, questionnaire, safety_check
from conversations.messages import LANGUAGES
from conversations.replies import Button

if TYPE_CHECKING:
    from conversations.turn import Turn


def own_name(code: str) -> str:
    """A language in its own words ("English", "Español"): what a reader of it looks for."""
    name = Locale.parse(code).get_display_name(code)
    return name[:1].upper() + name[1:]


def folded(text: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", text.strip().casefold())
                   if not unicodedata.combining(ch))


def named(text: str) -> str | None:
    """The language a runner typed: its code ("es") or its name in any of our languages."""
    wanted = folded(text)
    for code in LANGUAGES:
        names = {code, *(folded(Locale.parse(reader).get_display_name(code) or "") for reader in LANGUAGES)}
        if wanted in names:
            return code
    return None


def language_command(turn: Turn, argument: str = "") -> None:
    code = named(argument) if argument.strip() else None
    if code is None:
        buttons = [[Button("language", f"g|language:{lang}", facts={"name": own_name(lang)})]
                   for lang in LANGUAGES]
        turn.show("common/language.j2", buttons, unknown=argument.strip()[:40])
    else:
        choose(turn, code)


def choose(turn: Turn, code: str = "") -> None:
    if code not in LANGUAGES:
        turn.stale()
        return
    turn.record["language"] = code  # before consent it lasts this turn: the agree button carries it
    turn.show("common/language_set.j2", name=own_name(code))
    if turn.mode == "safety_check":
        safety_check.ask(turn)
    elif not turn.consented:
        onboarding.welcome(turn)
    else:
        questionnaire.where_we_are(turn)
