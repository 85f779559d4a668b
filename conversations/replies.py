"""What goes in and out of the conversation engine, whatever the adapter (Telegram, terminal).

Replies are data: the name of a template and the facts it needs, and buttons named by their
labels. An adapter renders them (`conversations.messages.render_reply`) when it shows them, so
the wording (and the language) is chosen at display time, never stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

OPTION = "option"  # a button label that is a question's option (templates/questions/labels.j2)


@dataclass(frozen=True)
class Event:
    kind: str  # "command", "text", "button" or "location"
    value: str  # the command name without "/", the text, the button data, or "lat,lon"
    argument: str = ""  # what followed a command, e.g. a /start deep-link payload
    update_id: int | None = None  # Telegram's: an update applied once is never applied again
    name: str = ""  # the sender's first name, kept only if they join a clinic's challenge
    language: str = ""  # Telegram's language_code for the sender ("es-MX"), until they choose


@dataclass(frozen=True)
class Button:
    label: str  # a name in templates/buttons.j2, or OPTION
    data: str | None = None
    url: str | None = None
    facts: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def option(cls, question: str, value: object, data: str, ticked: bool | None = None) -> Button:
        """One of a question's options; `ticked` draws a tick box (multi-select questions)."""
        return cls(OPTION, data, facts={"question": question, "value": value, "ticked": ticked})


@dataclass(frozen=True)
class Drawing:
    """A picture or file drawn only when it is sent (a chart or a PDF takes a tenth of a second or
    more): the adapter draws it on a thread of its own, so no other runner waits for it."""

    draw: Callable[[], bytes]


@dataclass
class Reply:
    template: str | None = None  # None: only a notice on the tapped button
    facts: dict[str, Any] = field(default_factory=dict)
    buttons: list[list[Button]] = field(default_factory=list)
    edit: bool = False  # replace the message whose button was tapped
    document: tuple[str, bytes | Drawing] | None = None  # (file name, content)
    photo: bytes | Drawing | None = None  # a PNG, sent as a picture
    notice: str | None = None  # a template for the short note on a tapped button


@dataclass(frozen=True)
class Message:
    """Replies for another chat (an admin's alert, an announcement, an admission).

    `key` names it uniquely, so a sender that marks keys done never sends one twice.
    """

    chat_id: int
    replies: tuple[Reply, ...]
    key: str


@dataclass
class Outcome:
    """Everything one event decided: the sender's replies, and messages for other chats (kept in
    the outbox already; the adapter is told so that it sends them now)."""

    replies: list[Reply] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    lang: str = "en"  # the language the replies are drawn in: the runner's
