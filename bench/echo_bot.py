"""The floor for bench/latency.py: a bare python-telegram-bot echo bot.

It replies to every text message (commands included) with the same text, answers every
callback query and then sends one message for it, each reply with one inline button so that a
simulated runner can tap. No rate limiter, no storage, no templates: what python-telegram-bot
itself costs to turn an update into a reply. It is configured like the real bot:

    TELEGRAM_BOT_TOKEN=123:abc TELEGRAM_API_BASE_URL=http://127.0.0.1:8081/bot \\
        .venv/bin/python bench/echo_bot.py
"""

from __future__ import annotations

import os

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters

TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
AGAIN = InlineKeyboardMarkup([[InlineKeyboardButton("Again", callback_data="again")]])


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    await context.bot.send_message(message.chat_id, message.text, reply_markup=AGAIN)


async def tapped(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer()
    await context.bot.send_message(update.effective_chat.id, f"You tapped {query.data}", reply_markup=AGAIN)


def main() -> None:
    application = (
        ApplicationBuilder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(os.environ.get("TELEGRAM_API_BASE_URL") or TELEGRAM_BASE_URL)
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    application.add_handler(CallbackQueryHandler(tapped))
    application.run_polling(allowed_updates=["message", "edited_message", "callback_query"])


if __name__ == "__main__":
    main()
