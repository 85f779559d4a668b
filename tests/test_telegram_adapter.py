"""Pieces of the Telegram adapter that need no server."""

from bot.telegram_app import split_message
from tests.local_bot_api import parse_html


def test_long_message_is_split_at_lines_under_the_limit_and_stays_valid_html():
    html = "\n".join(f"<b>Line {n}</b> " + "word &amp; " * 40 for n in range(60))
    parts = split_message(html)
    assert len(parts) > 1
    assert all(len(part) <= 4096 for part in parts)
    assert "\n".join(parts) == html
    for part in parts:
        parse_html(part)  # raises on broken markup


def test_one_enormous_line_is_cut_at_spaces_and_never_inside_an_entity():
    html = ("a&amp;b " * 2000).strip()
    parts = split_message(html)
    assert all(len(part) <= 4096 for part in parts)
    assert all(not part.rstrip().endswith("&") for part in parts)
    for part in parts:
        parse_html(part)


def test_short_message_is_untouched():
    assert split_message("<b>Hi</b>\nthere") == ["<b>Hi</b>\nthere"]
