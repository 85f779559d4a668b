"""Weekly education cards: one short read for each week of the programme.

The cards are the templates in `templates/cards/` whose names start with a digit, in the order
of their names ("01_...", "02_...", one for each week of a 12-week programme); adding or
reordering a card is a matter of naming its file. A card is Telegram HTML: a bold title, a few
short paragraphs, a one-line takeaway starting with 👉, and the short disclaimer.

Pain thresholds come from `limits` like everywhere else; the few numbers a card takes from the
loading protocol (the single-run rule, the cadence step) come as facts from `card_facts`, so a
clinic that edits its protocol file sees its own numbers in the cards.
"""

from __future__ import annotations

from conversations.messages import TEMPLATES_DIR
from conversations.protocol import Protocol
from conversations.replies import Reply

CARDS_DIR = TEMPLATES_DIR / "cards"
CARDS: tuple[str, ...] = tuple(f"cards/{path.name}" for path in sorted(CARDS_DIR.glob("[0-9]*.j2")))


def card_for_week(week: int) -> str:
    """The card (a template name) for a week of the programme, counting the first week as 1.

    Week 1 gets the first card, week 2 the second, and so on. After the last card the cards
    start again from the first (with 12 cards, week 13 gets the first card again), as a
    refresher for a runner still on the programme.
    """
    if week < 1:
        raise ValueError(f"weeks count from 1, not {week}")
    return CARDS[(week - 1) % len(CARDS)]


def card_facts(protocol: Protocol) -> dict:
    """What the cards quote from the loading protocol (plain data, so a Reply can be stored)."""
    return {
        "single_run_increase_percent": protocol.running.single_run_increase_percent,
        "cadence_increase_percent": protocol.cadence.increase_percent,
        "cadence_example_from": protocol.cadence.example_from,
        "heel_lift_millimetres": protocol.heel_lift.millimetres,
        "walk_run": protocol.walk_run.model_dump(),
    }


def card_reply(week: int, protocol: Protocol) -> Reply:
    """The week's card as a reply, ready for `render_reply`."""
    return Reply(card_for_week(week), card_facts(protocol))
