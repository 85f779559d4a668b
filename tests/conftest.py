"""Shared pytest fixtures."""

from collections.abc import AsyncIterator

import pytest

from tests.local_bot_api import LocalBotApi


@pytest.fixture
async def bot_api() -> AsyncIterator[LocalBotApi]:
    """A local Telegram Bot API server (tests/local_bot_api.py), started and stopped per test.

    Point python-telegram-bot at it with ``bot_api.application_builder()`` or
    ``ApplicationBuilder().token(bot_api.token).base_url(bot_api.base_url)``.
    """
    async with LocalBotApi() as api:
        yield api
