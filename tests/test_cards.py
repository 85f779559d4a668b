"""The weekly education cards: each renders, is short, has a title, a takeaway and the
disclaimer, repeats no clinical threshold as a literal, and every week has a card."""

import re

import pytest

from conversations.cards import CARDS, card_facts, card_for_week, card_reply
from conversations.messages import TEMPLATES_DIR, html_to_text, render, render_reply
from conversations.protocol import default_protocol

FACTS = card_facts(default_protocol())
DISCLAIMER = render("common/disclaimer_short.j2")

# As in test_architecture: a pain level, a percentage, or a comparison with a number.
CLINICAL_NUMBER = re.compile(
    r"(?<!0 to )(?<!0-)\b\d+\s*/\s*10\b"
    r"|\b\d+\s*%"
    r"|\b(?:under|over|more than|fewer than|at least|up to|below|above)\s+\d+\b",
    re.IGNORECASE,
)
TAG = re.compile(r"</?([a-z]+)\b[^>]*>")


def literal_text(template: str) -> str:
    """A template's own words: without jinja's tags, expressions and comments."""
    text = (TEMPLATES_DIR / template).read_text(encoding="utf-8")
    return re.sub(r"\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}", " ", text, flags=re.DOTALL)


def test_there_is_a_card_for_each_week_of_the_programme():
    assert 10 <= len(CARDS) <= 12
    assert len(set(CARDS)) == len(CARDS)


@pytest.mark.parametrize("card", CARDS)
def test_a_card_is_short_titled_and_ends_with_a_takeaway_and_the_disclaimer(card):
    html = render(card, **FACTS)
    words = len(html_to_text(html).split())
    assert 50 <= words <= 200, f"{card}: {words} words"
    lines = html.splitlines()
    assert re.fullmatch(r"<b>[^<]+</b>", lines[0]), f"{card}: no title line"
    assert html.endswith(DISCLAIMER)
    body = html.removesuffix(DISCLAIMER).strip().splitlines()
    assert body[-1].startswith("👉 "), f"{card}: the line before the disclaimer is not the takeaway"
    assert "\n" not in body[-1]


@pytest.mark.parametrize("card", CARDS)
def test_a_card_uses_only_the_tags_telegram_allows(card):
    assert set(TAG.findall(render(card, **FACTS))) <= {"b", "i", "a", "code"}


@pytest.mark.parametrize("card", CARDS)
def test_a_card_repeats_no_clinical_threshold(card):
    assert CLINICAL_NUMBER.findall(literal_text(card)) == [], "use `limits` or the card's facts"


def test_the_threshold_check_would_catch_a_number_written_into_a_card():
    assert CLINICAL_NUMBER.search("keep pain at 5/10 or less")
    assert CLINICAL_NUMBER.search("no run 10% longer")
    assert CLINICAL_NUMBER.search("Under 3 out of ten")
    assert not CLINICAL_NUMBER.search("on a scale from 0 to 10")


def test_the_numbers_in_the_cards_follow_the_thresholds_and_the_protocol():
    assert f"{FACTS['single_run_increase_percent']}% of your longest run" in render(
        "cards/09_no_spikes.j2", **FACTS
    )
    assert f"from {FACTS['cadence_example_from']} to around" in render("cards/11_cadence.j2", **FACTS)
    changed = {**FACTS, "single_run_increase_percent": 7}
    assert "7% of your longest run" in render("cards/09_no_spikes.j2", **changed)


def test_every_week_of_a_year_has_a_card_and_the_first_weeks_all_differ():
    weeks = [card_for_week(week) for week in range(1, 53)]
    assert set(weeks) == set(CARDS)
    assert len(set(weeks[:10])) == 10
    assert weeks[: len(CARDS)] == list(CARDS)
    assert card_for_week(1) == CARDS[0]
    assert card_for_week(len(CARDS) + 1) == CARDS[0]  # after the last card, start again


@pytest.mark.parametrize("week", [0, -1])
def test_weeks_count_from_one(week):
    with pytest.raises(ValueError):
        card_for_week(week)


def test_a_card_goes_out_as_a_reply():
    screen = render_reply(card_reply(3, default_protocol()))
    assert screen.html == render(CARDS[2], **FACTS)
