"""What goes in and out of the conversation engine, whatever the adapter (Telegram, terminal)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Event:
    kind: str  # "command", "text", "button" or "location"
    value: str  # the command name without "/", the text, the button data, or "lat,lon"
    argument: str = ""  # what followed a command, e.g. a /start deep-link payload
    update_id: int | None = None  # Telegram's, to ignore a redelivered update after a crash
    name: str = ""  # the sender's first name, kept only if they join a clinic's challenge


@dataclass(frozen=True)
class Button:
    label: str
    data: str | None = None
    url: str | None = None


@dataclass
class Reply:
    html: str
    buttons: list[list[Button]] = field(default_factory=list)
    edit: bool = False  # replace the message whose button was tapped
    document: tuple[str, bytes] | None = None  # (file name, content)
    photo: bytes | None = None  # a PNG, sent as a picture
    notice: str | None = None  # a short note on the tapped button (Telegram's callback answer)
