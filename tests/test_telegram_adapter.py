"""Pieces of the Telegram adapter that need no Telegram: splitting long messages, pacing."""

import pytest

from bot.telegram_app import REPLY, PacedRateLimiter, split_message
from testkit.html import parse_html


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


async def test_each_private_chat_gets_at_most_one_message_a_second(pauses):
    """Three replies at once to one runner wait for their slots (1 s, then 2 s from now);
    another runner, a group and a tap's acknowledgement do not wait behind them."""
    limiter = PacedRateLimiter()
    await limiter.initialize()
    sent = []

    async def send(chat_id):
        sent.append(chat_id)
        return True

    requests = [("sendMessage", 1), ("sendMessage", 1), ("answerCallbackQuery", 1), ("sendMessage", 1),
                ("sendMessage", 2), ("sendMessage", -500)]
    for endpoint, chat_id in requests:
        await limiter.process_request(send, (chat_id,), {}, endpoint, {"chat_id": chat_id}, REPLY)
    assert sent == [chat_id for _, chat_id in requests]
    assert pauses == pytest.approx([1.0, 2.0], abs=0.1)
