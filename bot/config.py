"""Settings from the environment (and a `.env` file in the working directory), validated.

TELEGRAM_BOT_TOKEN      the bot's token from @BotFather; without it the terminal chat runs
TELEGRAM_API_BASE_URL   a Bot API server root ending in /bot (the token is appended)
ACHILLES_DATA_DIR       where runners' data lives (default ./data)
ACHILLES_CLINIC_FILE    the clinic's TOML file (default: the shipped clinic.example.toml)
TELEGRAM_WEBHOOK_SECRET with `run --webhook`: the secret Telegram sends with each update
                        (default: a new random one each start)
ACHILLES_WEBHOOK_LISTEN, ACHILLES_WEBHOOK_PORT   where the webhook listens (0.0.0.0:8443)
TELEGRAM_CHAT_PACE      seconds between two messages to one chat (default 1, as Telegram asks;
                        0 for a local Bot API server, which sets no limits)

The token is a `SecretStr`: printing the settings, or an error about them, never shows it.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from conversations.clinic import EXAMPLE_CLINIC_FILE

TELEGRAM_BASE_URL = "https://api.telegram.org/bot"


class SettingsError(Exception):
    """A setting has a value the bot cannot use; the message names it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)

    token: SecretStr | None = Field(default=None, validation_alias="TELEGRAM_BOT_TOKEN")
    api_base_url: AnyHttpUrl = Field(default=AnyHttpUrl(TELEGRAM_BASE_URL),
                                     validation_alias="TELEGRAM_API_BASE_URL")
    data_dir: Path = Field(default=Path("data"), validation_alias="ACHILLES_DATA_DIR")
    clinic_file: Path = Field(default=EXAMPLE_CLINIC_FILE, validation_alias="ACHILLES_CLINIC_FILE")
    webhook_secret: SecretStr | None = Field(default=None, validation_alias="TELEGRAM_WEBHOOK_SECRET")
    webhook_listen: str = Field(default="0.0.0.0", validation_alias="ACHILLES_WEBHOOK_LISTEN")
    webhook_port: int = Field(default=8443, ge=1, le=65535, validation_alias="ACHILLES_WEBHOOK_PORT")
    chat_pace: float = Field(default=1.0, ge=0, le=60, validation_alias="TELEGRAM_CHAT_PACE")

    @property
    def webhook_secret_value(self) -> str | None:
        return self.webhook_secret.get_secret_value() if self.webhook_secret else None

    @field_validator("token", "webhook_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return value or None

    @field_validator("api_base_url")
    @classmethod
    def _ends_with_bot(cls, value: AnyHttpUrl) -> AnyHttpUrl:
        if not str(value).rstrip("/").endswith("/bot"):
            raise ValueError("must end in /bot, e.g. https://api.telegram.org/bot (the token is appended)")
        return value

    @property
    def base_url(self) -> str:
        """The Bot API root as python-telegram-bot takes it."""
        return str(self.api_base_url).rstrip("/")


def load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors(include_input=False)]
        raise SettingsError("settings: " + "; ".join(problems)) from None
