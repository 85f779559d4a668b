"""Settings from the environment (and a `.env` file in the working directory).

TELEGRAM_BOT_TOKEN      the bot's token from @BotFather; without it the terminal chat runs
TELEGRAM_API_BASE_URL   a Bot API server root ending in /bot (the token is appended)
ACHILLES_DATA_DIR       where runners' data lives (default ./data)
ACHILLES_CLINIC_FILE    the clinic's TOML file (default: the shipped clinic.example.toml)
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

from conversations.clinic import EXAMPLE_CLINIC_FILE

TELEGRAM_BASE_URL = "https://api.telegram.org/bot"


@dataclass(frozen=True)
class Settings:
    token: str | None
    api_base_url: str
    data_dir: Path
    clinic_file: Path

    def __repr__(self) -> str:  # never print the token
        token = "set" if self.token else "not set"
        return f"Settings(token={token}, api_base_url={self.api_base_url!r}, data_dir={self.data_dir})"


def load_settings() -> Settings:
    load_dotenv(override=False)
    return Settings(
        token=os.environ.get("TELEGRAM_BOT_TOKEN") or None,
        api_base_url=os.environ.get("TELEGRAM_API_BASE_URL") or TELEGRAM_BASE_URL,
        data_dir=Path(os.environ.get("ACHILLES_DATA_DIR") or "data"),
        clinic_file=Path(os.environ.get("ACHILLES_CLINIC_FILE") or EXAMPLE_CLINIC_FILE),
    )
