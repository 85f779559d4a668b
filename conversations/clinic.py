"""The clinic a runner is referred to: contact, booking, emergency number, admins, time zone."""

from __future__ import annotations

import tomllib
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from conversations.messages import DEFAULT_LANGUAGE, LANGUAGES

EXAMPLE_CLINIC_FILE = Path(__file__).resolve().parent.parent / "clinic.example.toml"


class ClinicError(Exception):
    """The clinic file cannot be used; the message names the file and the problem."""


class Clinic(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    phone: str = Field(min_length=3)
    booking_url: str = Field(pattern=r"^https?://\S+$")
    address: str = ""
    emergency_number: str = Field(min_length=2)
    admin_ids: list[int] = []
    timezone: str = "UTC"
    language: str = DEFAULT_LANGUAGE  # for the desk's messages to admins (alerts, the PDF handed over)

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"'{value}' is not one of the bot's languages: {', '.join(LANGUAGES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"'{value}' is not an IANA time zone such as Europe/London") from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_admin(self, user_id: int) -> bool:
        return user_id in self.admin_ids


def load_clinic(path: str | Path = EXAMPLE_CLINIC_FILE) -> Clinic:
    path = Path(path)
    try:
        return Clinic.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except OSError as error:
        raise ClinicError(f"{path}: cannot read the clinic file ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ClinicError(f"{path}: not valid TOML: {error}") from None
    except ValidationError as error:
        problems = [f"{path}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]
        raise ClinicError("\n".join(problems)) from None
