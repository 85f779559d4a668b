"""The Telegram adapter, the reminder scheduler, the terminal chat and the command line."""

import os

# python-telegram-bot's coming behaviour, asked for now: time spans (a 429's retry_after) as
# timedelta, and no deprecation warning each time its rate limiter reads one.
os.environ.setdefault("PTB_TIMEDELTA", "1")
