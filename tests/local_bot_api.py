"""A local Telegram Bot API server for end-to-end tests and benchmarks.

``LocalBotApi`` is a real HTTP server (aiohttp, 127.0.0.1, free port) that speaks the Bot API
protocol closely enough for the unmodified python-telegram-bot stack: the bot long-polls it with
``getUpdates`` and calls ``sendMessage``, ``editMessageText``, ``answerCallbackQuery``... over
HTTP, exactly as it would talk to ``api.telegram.org``. Tests play the Telegram users from the
same process and event loop::

    async with LocalBotApi() as api:
        app = api.application_builder().build()      # or: ApplicationBuilder()
        ...                                          #   .token(api.token).base_url(api.base_url)
        async with polling(app):
            ana = api.user(1001, first_name="Ana")
            replies = await ana.say("/start")
            assert "Welcome" in replies.text
            await ana.tap("Yes")

A bot running in another OS process is pointed at ``api.base_url`` (with ``api.token``).

What it checks like Telegram does: empty and over-long texts and captions, HTML / MarkdownV2 /
Markdown entity parsing (a port of TDLib's parsers, with Telegram's error messages), unknown
chats, "message is not modified", callback_data longer than 64 bytes, blocked users, and
(optionally, ``enforce_limits=True``) flood limits. Failures can be injected per method
(``fail_next``, ``drop_next``). Everything the bot does is recorded (``calls``,
``messages_to``, ``callback_answers``, ``stats``).

Everything here is single-threaded: call it from the event loop that runs the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import math
import re
import struct
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

__all__ = [
    "DEFAULT_TOKEN",
    "ApiCall",
    "ApiStats",
    "BotApiError",
    "BotMessage",
    "CallbackAnswer",
    "EntityParseError",
    "FakeUser",
    "LocalBotApi",
    "Replies",
    "StoredFile",
    "Upload",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "polling",
]

DEFAULT_TOKEN = "123456789:AAH-local-bot-api-test-token-0000000000"

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

_TOKEN_RE = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_/<>])")
_BOT_COMMAND_NAME_RE = re.compile(r"^[a-z0-9_]{1,32}$")

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)

# Parameter types, for decoding form fields (which PTB sends as strings) into JSON values.
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
        "media",
        "results",
        "message_ids",
        "menu_button",
        "reaction",
    }
)
_INT_FIELDS = frozenset(
    {
        "chat_id",
        "from_chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "reply_to_message_id",
        "message_thread_id",
        "user_id",
        "cache_time",
        "max_connections",
        "live_period",
        "heading",
        "proximity_alert_radius",
        "duration",
        "width",
        "height",
    }
)
_FLOAT_FIELDS = frozenset({"latitude", "longitude", "horizontal_accuracy"})
_BOOL_FIELDS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "show_alert",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "disable_content_type_detection",
        "has_spoiler",
        "show_caption_above_media",
        "allow_paid_broadcast",
        "revoke_messages",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_INLINE_BUTTON_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "web_app",
    "copy_text",
)
_DEFAULT_ALLOWED_UPDATES_EXCLUDED = frozenset(
    {"chat_member", "message_reaction", "message_reaction_count"}
)


# --------------------------------------------------------------------------------------------
# Errors and records
# --------------------------------------------------------------------------------------------


class BotApiError(Exception):
    """An error answer of the Bot API: ``{"ok": false, "error_code": ..., "description": ...}``."""

    def __init__(
        self, status: int, description: str, parameters: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = dict(parameters) if parameters else None

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {description}")


class EntityParseError(ValueError):
    """Raised by the markup parsers; the message is TDLib's (without the Bot API prefix)."""


@dataclass(slots=True, eq=False)
class StoredFile:
    """A file the server knows: uploaded by the bot (sendDocument/sendPhoto) or by a user."""

    file_id: str
    file_unique_id: str
    kind: str  # "document" | "photo"
    filename: str | None
    mime_type: str | None
    data: bytes | None  # None when sent by URL
    file_path: str
    url: str | None = None
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else 0

    def text(self, encoding: str = "utf-8") -> str:
        """The content decoded as text (e.g. a CSV report)."""
        if self.data is None:
            raise ValueError(f"file {self.file_id} was sent by URL ({self.url}); no bytes")
        return self.data.decode(encoding)

    def to_document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.filename:
            doc["file_name"] = self.filename
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        return doc

    def to_photo_sizes(self) -> list[dict[str, Any]]:
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "width": self.width or 1,
                "height": self.height or 1,
                "file_size": self.size,
            }
        ]

    def to_file(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
            "file_path": self.file_path,
        }


@dataclass(slots=True, eq=False)
class ApiCall:
    """One HTTP request the bot made. ``status`` is 0 for dropped connections."""

    method: str
    params: dict[str, Any]
    files: dict[str, Upload]  # multipart file parts, by field name
    timestamp: float
    http_method: str = "POST"
    status: int = 200
    result: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass(slots=True, eq=False)
class CallbackAnswer:
    """An ``answerCallbackQuery`` the bot made."""

    query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None
    timestamp: float
    data: str | None = None  # callback_data of the answered query
    user_id: int | None = None


@dataclass(slots=True, eq=False)
class BotMessage:
    """A message the bot sent (``edited=False``) or a new version of one it edited.

    ``text``/``caption`` are what the user sees (markup parsed, entities separate, trimmed);
    ``raw_text``/``raw_caption`` are exactly what the bot sent.
    """

    chat_id: int
    message_id: int
    method: str
    text: str | None
    raw_text: str | None
    parse_mode: str | None
    entities: list[dict[str, Any]]
    reply_markup: dict[str, Any] | None
    files: list[StoredFile]
    date: int
    timestamp: float
    params: dict[str, Any]
    edited: bool = False
    caption: str | None = None
    raw_caption: str | None = None
    location: dict[str, float] | None = None
    deleted: bool = False

    @property
    def content(self) -> str:
        """The text, or the caption of a media message, or ``""``."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        markup = self.reply_markup or {}
        return markup.get("inline_keyboard") or []

    @property
    def buttons(self) -> list[str]:
        """The visible texts of the inline keyboard buttons, row by row."""
        return [button.get("text", "") for row in self.inline_keyboard for button in row]

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """Rows of a ReplyKeyboardMarkup sent with this message, as button texts."""
        markup = self.reply_markup or {}
        if "keyboard" not in markup:
            return None
        return [
            [b if isinstance(b, str) else b.get("text", "") for b in row]
            for row in markup["keyboard"]
        ]

    def button(self, text: str) -> dict[str, Any]:
        """The inline button with this visible text (exact, then case/space-insensitive)."""
        flat = [button for row in self.inline_keyboard for button in row]
        for button in flat:
            if button.get("text") == text:
                return button
        wanted = " ".join(text.split()).casefold()
        for button in flat:
            if " ".join(str(button.get("text", "")).split()).casefold() == wanted:
                return button
        raise AssertionError(
            f"no button {text!r} in message {self.message_id} ({_short(self.content)!r}); "
            f"available buttons: {self.buttons}"
        )

    @property
    def document(self) -> StoredFile | None:
        return next((f for f in self.files if f.kind == "document"), None)

    @property
    def photo(self) -> StoredFile | None:
        return next((f for f in self.files if f.kind == "photo"), None)

    def __repr__(self) -> str:
        flags = " edited" if self.edited else ""
        flags += " deleted" if self.deleted else ""
        extra = f" buttons={self.buttons}" if self.inline_keyboard else ""
        extra += f" files={[f.filename for f in self.files]}" if self.files else ""
        return (
            f"<BotMessage chat={self.chat_id} id={self.message_id} {self.method}{flags} "
            f"{_short(self.content)!r}{extra}>"
        )


class Replies(list[BotMessage]):
    """The bot messages that answered a user action (a list, with story-friendly helpers)."""

    @property
    def text(self) -> str:
        """All reply texts/captions joined with newlines."""
        return "\n".join(message.content for message in self)

    @property
    def last(self) -> BotMessage:
        if not self:
            raise AssertionError("the bot did not reply")
        return self[-1]

    @property
    def buttons(self) -> list[str]:
        """Buttons of the last reply that has an inline keyboard."""
        for message in reversed(self):
            if message.inline_keyboard:
                return message.buttons
        return []


@dataclass
class ApiStats:
    """Counters; cheap enough to keep during benchmarks."""

    requests: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0  # 429s given by the flood limits (enforce_limits=True)
    injected_failures: int = 0  # answers produced by fail_next
    dropped: int = 0  # connections closed by drop_next
    messages_sent: int = 0
    messages_edited: int = 0
    updates_pushed: int = 0
    updates_delivered: int = 0


@dataclass(slots=True)
class Upload:
    """A file part of a multipart request, as received (see ``ApiCall.files``)."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass(slots=True)
class _Fault:
    method: str  # lower-cased, or "*"
    times: int
    chat_id: int | str | None
    status: int = 0
    description: str = ""
    retry_after: int | None = None
    drop: bool = False
    after: bool = False

    def matches(self, method: str, params: Mapping[str, Any]) -> bool:
        if self.method not in ("*", method):
            return False
        return self.chat_id is None or params.get("chat_id") == self.chat_id


@dataclass(slots=True, eq=False)
class _ChatState:
    id: int
    known: bool = False
    type: str = "private"
    info: dict[str, Any] | None = None
    next_message_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    bot_message_ids: list[int] = field(default_factory=list)
    records: list[BotMessage] = field(default_factory=list)
    latest: dict[int, BotMessage] = field(default_factory=dict)
    cursor: int = 0
    waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)
    blocked: bool = False
    actions: list[str] = field(default_factory=list)
    reply_keyboard: list[list[str]] | None = None
    flood: deque[float] | None = None
    transcript: deque[str] = field(default_factory=lambda: deque(maxlen=50))

    def take_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class LocalBotApi:
    """A fake Telegram Bot API server over real HTTP. See the module docstring."""

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "achilles_coach_bot",
        bot_first_name: str = "Achilles Coach",
        host: str = "127.0.0.1",
        port: int = 0,
        enforce_limits: bool = False,
        global_limit: tuple[int, float] = (30, 1.0),
        chat_limit: tuple[int, float] = (1, 1.0),
        group_limit: tuple[int, float] = (20, 60.0),
        strict_html: bool = True,
        latency: float = 0.0,
        keep_calls: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """
        Args:
            token: the only token accepted (others get 401 Unauthorized like Telegram).
            enforce_limits: answer 429 "Too Many Requests: retry after N" above the flood
                limits: ``global_limit`` messages per window overall, ``chat_limit`` per private
                chat and ``group_limit`` per group, each as ``(max_messages, window_seconds)``.
            strict_html: reject a ``&`` that does not start a known HTML entity. Real Telegram
                shows it literally, but unescaped user input in HTML is a bug waiting to happen.
            latency: seconds to sleep before answering each request (simulated network).
            keep_calls: record every request in ``calls`` (turn off for very long benches).
            clock: monotonic time source for the flood limits (inject a fake one in tests).
        """
        if not _TOKEN_RE.match(token):
            raise ValueError(f"malformed bot token {token!r}")
        self.token = token
        self.host = host
        self.enforce_limits = enforce_limits
        self.global_limit = global_limit
        self.chat_limit = chat_limit
        self.group_limit = group_limit
        self.strict_html = strict_html
        self.latency = latency
        self.keep_calls = keep_calls
        self._clock = clock
        self._requested_port = port
        self.port: int | None = None

        self.bot_user: dict[str, Any] = {
            "id": int(token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        self._me = {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

        self.calls: list[ApiCall] = []
        self.stats = ApiStats()
        self.updates: list[dict[str, Any]] = []  # every update ever pushed, in order
        self.files: dict[str, StoredFile] = {}
        self.server_errors: list[Exception] = []  # unexpected exceptions in method handlers
        self._files_by_path: dict[str, StoredFile] = {}
        self.callback_answers: list[CallbackAnswer] = []
        self.webhook: dict[str, Any] | None = None
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.bot_settings: dict[str, Any] = {}

        self._users: dict[int, dict[str, Any]] = {}
        self._chats: dict[int, _ChatState] = {}
        self._usernames: dict[str, int] = {}
        self._pending: deque[dict[str, Any]] = deque()
        self._update_ids = itertools.count(100_000)
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._queries: dict[str, dict[str, Any]] = {}
        self._answer_waiters: dict[str, asyncio.Future[CallbackAnswer]] = {}
        self._call_waiters: list[tuple[Callable[[ApiCall], bool], asyncio.Future[ApiCall]]] = []
        self._faults: list[_Fault] = []
        self._global_flood: deque[float] = deque(maxlen=global_limit[0])
        self._poll_generation = 0
        self._poll_wakeup: asyncio.Future[None] | None = None
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._methods: dict[str, tuple[str, Callable[..., Any]]] = {}
        for name, handler in self._builtin_methods().items():
            self._methods[name.lower()] = (name, handler)

    # ---------------------------------------------------------------- lifecycle

    async def start(self) -> LocalBotApi:
        if self._runner is not None:
            return self
        self._closing = False
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/{tail:.*}", self._handle_not_found)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        self._runner = runner
        self.port = runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._closing = True
        self._wake_pollers()  # long polls answer [] right away instead of holding shutdown
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> LocalBotApi:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("LocalBotApi is not started; await api.start() first")
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For PTB's ``base_url``: PTB appends the token, then ``/methodName``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For PTB's ``base_file_url`` (file downloads)."""
        return f"{self.url}/file/bot"

    def application_builder(self) -> Any:
        """A ``telegram.ext.ApplicationBuilder`` already pointed at this server."""
        from telegram.ext import ApplicationBuilder

        return (
            ApplicationBuilder()
            .token(self.token)
            .base_url(self.base_url)
            .base_file_url(self.base_file_url)
        )

    def register_method(self, name: str, handler: Callable[..., Any]) -> None:
        """Add or replace a Bot API method: ``handler(params, files)`` returns the result
        (or an awaitable of it) or raises ``BotApiError``."""
        self._methods[name.lower()] = (name, handler)

    # ---------------------------------------------------------------- chats and users

    def register_user(
        self,
        user_id: int,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> dict[str, Any]:
        """Create or update a Telegram user (does not open a chat with the bot)."""
        user = self._users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False, "first_name": first_name or f"User{user_id}"}
            if language_code:
                user["language_code"] = language_code
            self._users[user_id] = user
        elif first_name:
            user["first_name"] = first_name
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        return user

    def register_chat(
        self,
        chat_id: int,
        *,
        chat_type: str = "private",
        first_name: str | None = None,
        last_name: str | None = None,
        title: str | None = None,
        username: str | None = None,
    ) -> dict[str, Any]:
        """Make a chat known, so the bot may send to it without a prior update."""
        state = self._state(chat_id)
        info: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            user = self.register_user(
                chat_id, first_name=first_name, last_name=last_name, username=username
            )
            for key in ("first_name", "last_name", "username"):
                if key in user:
                    info[key] = user[key]
        else:
            if chat_id > 0:
                raise ValueError(f"group chat ids are negative, got {chat_id}")
            info["title"] = title or (state.info or {}).get("title") or f"Group {chat_id}"
            if username:
                info["username"] = username
        if info.get("username"):
            self._usernames[info["username"].lower()] = chat_id
        state.known = True
        state.type = chat_type
        state.info = info
        return info

    def chat(self, chat_id: int) -> dict[str, Any] | None:
        """The Chat object of a known chat."""
        state = self._chats.get(chat_id)
        return state.info if state and state.known else None

    def block(self, user_id: int, *, notify: bool = False) -> None:
        """The user blocks the bot (or, for a group, removes it): sends get 403.
        With ``notify``, push the my_chat_member update Telegram sends."""
        state = self._state(user_id)
        state.blocked = True
        if notify and state.known:
            self._push_my_chat_member(state, "member", "kicked")

    def unblock(self, user_id: int, *, notify: bool = False) -> None:
        state = self._state(user_id)
        state.blocked = False
        if notify and state.known:
            self._push_my_chat_member(state, "kicked", "member")

    def user(
        self,
        user_id: int,
        first_name: str | None = None,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> FakeUser:
        """A story-friendly handle on a user: ``await user.say(...)``, ``await user.tap(...)``."""
        self.register_user(
            user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        return FakeUser(self, user_id)

    # ---------------------------------------------------------------- injecting updates

    def push_update(self, update: Mapping[str, Any]) -> dict[str, Any]:
        """Queue a raw update for getUpdates; ``update_id`` is assigned. Chats and users found
        in it become known. Returns the stored update."""
        stored = dict(update)
        stored["update_id"] = next(self._update_ids)
        for value in stored.values():
            if isinstance(value, dict):
                self._learn(value)
        self._pending.append(stored)
        self.updates.append(stored)
        self.stats.updates_pushed += 1
        self._wake_pollers()
        return stored

    def send_message(
        self,
        user_id: int,
        text: str,
        *,
        chat_type: str = "private",
        chat_id: int | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
        username: str | None = None,
        chat_title: str | None = None,
        reply_to: int | None = None,
        entities: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The user sends ``text`` to the bot (privately, or in group ``chat_id``).

        A text starting with a bot command (``/start payload``) gets a ``bot_command`` entity
        at offset 0, as Telegram does."""
        state, user = self._user_chat(
            user_id, chat_type, chat_id, first_name, last_name, username, chat_title
        )
        message = self._user_message(state, user)
        message["text"] = text
        entities = list(entities) if entities is not None else _command_entities(text)
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            replied = state.messages.get(reply_to)
            if replied is None:
                raise ValueError(f"no message {reply_to} in chat {state.id}")
            message["reply_to_message"] = _without_reply(replied)
        state.transcript.append(f"{_who(user)}: {text}")
        return self.push_update({"message": message})

    def send_location(
        self,
        user_id: int,
        latitude: float,
        longitude: float,
        *,
        chat_type: str = "private",
        chat_id: int | None = None,
        live_period: int | None = None,
    ) -> dict[str, Any]:
        """The user shares a location."""
        state, user = self._user_chat(user_id, chat_type, chat_id, None, None, None, None)
        message = self._user_message(state, user)
        location: dict[str, Any] = {"latitude": float(latitude), "longitude": float(longitude)}
        if live_period:
            location["live_period"] = live_period
        message["location"] = location
        state.transcript.append(f"{_who(user)}: [location {latitude}, {longitude}]")
        return self.push_update({"message": message})

    def send_document(
        self,
        user_id: int,
        data: bytes,
        filename: str,
        *,
        mime_type: str | None = None,
        caption: str | None = None,
        chat_type: str = "private",
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        """The user sends a file; the bot can getFile and download it."""
        state, user = self._user_chat(user_id, chat_type, chat_id, None, None, None, None)
        stored = self._store_file(
            "document", Upload(filename, mime_type or _guess_mime(filename), data)
        )
        message = self._user_message(state, user)
        message["document"] = stored.to_document()
        if caption:
            message["caption"] = caption
        state.transcript.append(f"{_who(user)}: [document {filename}] {caption or ''}".rstrip())
        return self.push_update({"message": message})

    def send_photo(
        self,
        user_id: int,
        data: bytes,
        *,
        caption: str | None = None,
        chat_type: str = "private",
        chat_id: int | None = None,
    ) -> dict[str, Any]:
        """The user sends a photo (PNG/JPEG/GIF/WebP bytes)."""
        state, user = self._user_chat(user_id, chat_type, chat_id, None, None, None, None)
        stored = self._store_file("photo", Upload("photo.jpg", "image/jpeg", data))
        message = self._user_message(state, user)
        message["photo"] = stored.to_photo_sizes()
        if caption:
            message["caption"] = caption
        state.transcript.append(f"{_who(user)}: [photo] {caption or ''}".rstrip())
        return self.push_update({"message": message})

    def edit_message(
        self, user_id: int, message_id: int, text: str, *, chat_id: int | None = None
    ) -> dict[str, Any]:
        """The user edits one of their text messages: an ``edited_message`` update."""
        state = self._chats.get(user_id if chat_id is None else chat_id)
        message = state.messages.get(message_id) if state else None
        if message is None or message.get("from", {}).get("id") != user_id:
            raise ValueError(f"user {user_id} has no message {message_id} in that chat")
        if "text" not in message:
            raise ValueError(f"message {message_id} has no text to edit")
        message["text"] = text
        entities = _command_entities(text)
        if entities:
            message["entities"] = entities
        else:
            message.pop("entities", None)
        message["edit_date"] = int(time.time())
        state.transcript.append(f"{_who(message['from'])} (edited {message_id}): {text}")
        return self.push_update({"edited_message": copy.deepcopy(message)})

    def press_button(
        self,
        user_id: int,
        message_id: int,
        callback_data: str,
        *,
        chat_id: int | None = None,
        strict: bool = True,
    ) -> dict[str, Any]:
        """The user presses an inline button: a ``callback_query`` update carrying the bot's
        message. With ``strict``, the message must currently show a button with that data."""
        state = self._chats.get(user_id if chat_id is None else chat_id)
        message = state.messages.get(message_id) if state else None
        if state is None or message is None:
            raise AssertionError(f"no message {message_id} in chat {chat_id or user_id}")
        if strict:
            buttons = [b for row in _inline_rows(message) for b in row]
            if not any(b.get("callback_data") == callback_data for b in buttons):
                raise AssertionError(
                    f"message {message_id} has no button with callback_data {callback_data!r}; "
                    f"buttons: {[(b.get('text'), b.get('callback_data')) for b in buttons]}"
                )
        user = self._users.get(user_id) or self.register_user(user_id)
        query_id = f"{next(self._query_ids)}{user_id}"
        query = {
            "id": query_id,
            "from": user,
            "message": copy.deepcopy(message),
            "chat_instance": str(abs(hash((state.id, self.bot_user["id"])))),
            "data": callback_data,
        }
        self._queries[query_id] = {"user_id": user_id, "data": callback_data, "answered": False}
        label = next(
            (
                b.get("text")
                for row in _inline_rows(message)
                for b in row
                if b.get("callback_data") == callback_data
            ),
            callback_data,
        )
        state.transcript.append(f"{_who(user)}: [tap {label!r}]")
        return self.push_update({"callback_query": query})

    # ---------------------------------------------------------------- observing

    def messages_to(self, chat_id: int) -> list[BotMessage]:
        """Everything the bot sent or edited in this chat, in order (edits are new records
        with ``edited=True``)."""
        state = self._chats.get(chat_id)
        return list(state.records) if state else []

    def current_messages(self, chat_id: int) -> list[BotMessage]:
        """The latest version of each bot message still in the chat, oldest first."""
        state = self._chats.get(chat_id)
        if state is None:
            return []
        return [state.latest[mid] for mid in state.bot_message_ids if mid in state.messages]

    def all_messages(self) -> Iterable[BotMessage]:
        """Every bot message record in every chat (e.g. for benchmark summaries)."""
        for state in self._chats.values():
            yield from state.records

    def last_message_to(self, chat_id: int) -> BotMessage | None:
        state = self._chats.get(chat_id)
        return state.records[-1] if state and state.records else None

    def chat_actions(self, chat_id: int) -> list[str]:
        """sendChatAction actions ("typing", ...) the bot sent to this chat."""
        state = self._chats.get(chat_id)
        return list(state.actions) if state else []

    def transcript(self, chat_id: int) -> str:
        """The last lines of the conversation in a chat, for failure messages."""
        state = self._chats.get(chat_id)
        return "\n".join(state.transcript) if state else "(no conversation)"

    def mark(self, chat_id: int) -> int:
        """A marker for ``wait_for_message(since=...)``: the number of records so far."""
        state = self._chats.get(chat_id)
        return len(state.records) if state else 0

    def calls_of(self, method: str) -> list[ApiCall]:
        key = method.lower()
        return [call for call in self.calls if call.method.lower() == key]

    def last_call(self, method: str | None = None) -> ApiCall | None:
        key = method.lower() if method else None
        for call in reversed(self.calls):
            if key is None or call.method.lower() == key:
                return call
        return None

    def callback_answer(self, query_id: str) -> CallbackAnswer | None:
        return next((a for a in self.callback_answers if a.query_id == query_id), None)

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by a getUpdates offset."""
        return len(self._pending)

    async def wait_for_message(
        self,
        chat_id: int,
        *,
        count: int = 1,
        timeout: float = 5.0,
        since: int | None = None,
    ) -> list[BotMessage]:
        """Wait for ``count`` new bot messages (sends or edits) in a chat and return them.

        "New" means after the chat's read cursor: it moves past the returned records, and to
        the end whenever a user acts in the chat (``send_message``, ``press_button``...), so
        ``api.send_message(...); await api.wait_for_message(...)`` returns the reply to that
        message. Pass ``since=api.mark(chat_id)`` to count from an explicit point instead."""
        state = self._state(chat_id)
        start = state.cursor if since is None else since
        target = start + count
        if len(state.records) < target:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            entry = (target, future)
            state.waiters.append(entry)
            try:
                await asyncio.wait_for(future, timeout)
            except TimeoutError:
                got = len(state.records) - start
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {count} new bot message(s) in chat "
                    f"{chat_id}; got {got}.\n{self._diagnostics(chat_id)}"
                ) from None
            finally:
                with contextlib.suppress(ValueError):
                    state.waiters.remove(entry)
        state.cursor = max(state.cursor, target)
        return state.records[start:target]

    async def wait_for_callback_answer(
        self, query_id: str, *, timeout: float = 5.0
    ) -> CallbackAnswer:
        answer = self.callback_answer(query_id)
        if answer is not None:
            return answer
        future = self._answer_waiters.get(query_id)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._answer_waiters[query_id] = future
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            raise AssertionError(
                f"timed out after {timeout}s waiting for answerCallbackQuery({query_id!r})\n"
                f"{self._diagnostics(None)}"
            ) from None

    async def wait_for_call(
        self,
        method: str,
        predicate: Callable[[ApiCall], bool] | None = None,
        *,
        timeout: float = 5.0,
        include_past: bool = False,
    ) -> ApiCall:
        """Wait until the bot calls ``method`` (optionally matching ``predicate``)."""
        key = method.lower()

        def check(call: ApiCall) -> bool:
            return call.method.lower() == key and (predicate is None or predicate(call))

        if include_past:
            for call in reversed(self.calls):
                if check(call):
                    return call
        future: asyncio.Future[ApiCall] = asyncio.get_running_loop().create_future()
        entry = (check, future)
        self._call_waiters.append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise AssertionError(
                f"timed out after {timeout}s waiting for the bot to call {method}\n"
                f"{self._diagnostics(None)}"
            ) from None
        finally:
            with contextlib.suppress(ValueError):
                self._call_waiters.remove(entry)

    # ---------------------------------------------------------------- failure injection

    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` ("*" = any; optionally only those to
        ``chat_id``) fail with this status, without side effects. A 429 carries
        ``parameters.retry_after`` (default 1), which PTB raises as ``RetryAfter``."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = {
                400: "Bad Request: injected failure",
                401: "Unauthorized",
                403: "Forbidden: bot was blocked by the user",
                404: "Not Found",
                409: "Conflict: injected failure",
                429: f"Too Many Requests: retry after {retry_after}",
                500: "Internal Server Error",
                502: "Bad Gateway",
            }.get(status, f"Error {status}")
        self._faults.append(
            _Fault(
                method=method.lower(),
                times=times,
                chat_id=chat_id,
                status=status,
                description=description,
                retry_after=retry_after,
            )
        )

    def drop_next(
        self,
        method: str,
        times: int = 1,
        *,
        after: bool = False,
        chat_id: int | str | None = None,
    ) -> None:
        """Close the connection of the next ``times`` calls of ``method`` without an answer
        (PTB raises ``NetworkError``). With ``after=True`` the call takes effect first (the
        message IS sent) and only the answer is lost, as when a response times out."""
        self._faults.append(
            _Fault(method=method.lower(), times=times, chat_id=chat_id, drop=True, after=after)
        )

    def clear_faults(self) -> None:
        self._faults.clear()

    # ---------------------------------------------------------------- HTTP plumbing

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        method_name = request.match_info["method"]
        key = method_name.lower()
        try:
            raw, uploads = await self._read_params(request)
        except BotApiError as exc:
            return self._reply(exc.status, exc.payload())
        params = _decode_params(raw)
        entry = self._methods.get(key)
        call = ApiCall(
            method=entry[0] if entry else method_name,
            params=params,
            files=dict(uploads),
            timestamp=time.time(),
            http_method=request.method,
        )
        if self.keep_calls:
            self.calls.append(call)
        self.stats.requests += 1
        self.stats.by_method[call.method] += 1
        if self.latency:
            await asyncio.sleep(self.latency)

        fault: _Fault | None = None
        try:
            if not _TOKEN_RE.match(token):
                raise BotApiError(404, "Not Found")
            if token != self.token:
                raise BotApiError(401, "Unauthorized")
            fault = self._take_fault(key, params)
            if fault is not None and fault.drop and not fault.after:
                return self._drop(request, call)
            if fault is not None and not fault.drop:
                self.stats.injected_failures += 1
                parameters = {"retry_after": fault.retry_after} if fault.retry_after else None
                raise BotApiError(fault.status, fault.description, parameters)
            if entry is None:
                raise BotApiError(404, "Not Found")
            result = entry[1](params, uploads)
            if isinstance(result, Awaitable):
                result = await result
        except BotApiError as exc:
            call.status = exc.status
            call.error = exc.description
            self._notify_call(call)
            return self._reply(exc.status, exc.payload())
        except Exception as exc:  # a bug in this server or in a register_method handler
            self.server_errors.append(exc)
            error = BotApiError(500, f"Internal Server Error: {exc!r}")
            call.status, call.error = 500, error.description
            self._notify_call(call)
            return self._reply(500, error.payload())

        call.result = result
        self._notify_call(call)
        if fault is not None and fault.drop:
            return self._drop(request, call)
        return self._reply(200, {"ok": True, "result": result})

    def _reply(self, status: int, payload: dict[str, Any]) -> web.Response:
        self.stats.by_status[status] += 1
        return web.Response(
            status=status,
            body=json.dumps(payload, ensure_ascii=False).encode(),
            content_type="application/json",
        )

    def _drop(self, request: web.Request, call: ApiCall) -> web.Response:
        call.status = 0
        call.error = "connection dropped"
        self.stats.dropped += 1
        if request.transport is not None:
            request.transport.close()
        return web.Response(status=500)  # never reaches the client

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return self._reply(401, BotApiError(401, "Unauthorized").payload())
        path = request.match_info["path"]
        stored = self._files_by_path.get(path)
        if stored is None or stored.data is None:
            return self._reply(404, BotApiError(404, "Not Found").payload())
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def _handle_not_found(self, request: web.Request) -> web.StreamResponse:
        return self._reply(404, BotApiError(404, "Not Found").payload())

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, Any]]:
        """Query string plus body: urlencoded, multipart (files included) or JSON."""
        params: dict[str, Any] = dict(request.query)
        uploads: dict[str, Upload] = {}
        if request.method != "POST" or not request.body_exists:
            return params, uploads
        content_type = request.content_type
        try:
            if content_type == "application/json":
                body = await request.read()
                if body.strip():
                    data = json.loads(body)
                    if not isinstance(data, dict):
                        raise _bad("JSON object expected as request body")
                    params.update(data)
            elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for name, value in form.items():
                    if isinstance(value, web.FileField):
                        content = value.file.read()
                        uploads[name] = Upload(value.filename, value.content_type, content)
                    else:
                        params[name] = value
            else:
                await request.read()
        except web.HTTPRequestEntityTooLarge:
            raise BotApiError(413, "Request Entity Too Large") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise _bad(f"can't parse request body: {exc}") from None
        return params, uploads

    def _take_fault(self, method: str, params: Mapping[str, Any]) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(method, params):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _notify_call(self, call: ApiCall) -> None:
        if not self._call_waiters:
            return
        for check, future in list(self._call_waiters):
            if not future.done() and check(call):
                future.set_result(call)

    def _diagnostics(self, chat_id: int | None) -> str:
        lines = [f"SERVER ERROR (a bug in the fake): {exc!r}" for exc in self.server_errors[-3:]]
        if chat_id is not None:
            conversation = self.transcript(chat_id).replace("\n", "\n  ")
            lines.append(f"conversation in chat {chat_id}:\n  {conversation}")
        failed = [c for c in self.calls if c.status != 200][-5:]
        if failed:
            lines.append("recent failed bot calls:")
            lines.extend(
                f"  {c.method}({_short(json.dumps(c.params, default=str), 120)}) -> "
                f"{c.status} {c.error}"
                for c in failed
            )
        recent = [c.method for c in self.calls if c.method != "getUpdates"][-8:]
        lines.append(f"recent bot calls (excluding getUpdates): {recent}")
        if self._runner is None:
            lines.append("note: the server is not running")
        return "\n".join(lines)

    # ---------------------------------------------------------------- state helpers

    def _state(self, chat_id: int) -> _ChatState:
        state = self._chats.get(chat_id)
        if state is None:
            state = self._chats[chat_id] = _ChatState(id=chat_id)
        return state

    def _learn(self, obj: dict[str, Any]) -> None:
        """Register users and chats mentioned in an update payload; move the read cursor."""
        sender = obj.get("from")
        if isinstance(sender, dict) and "id" in sender and not sender.get("is_bot"):
            self._users.setdefault(sender["id"], sender)
        chat = obj.get("chat")
        if chat is None and isinstance(obj.get("message"), dict):
            chat = obj["message"].get("chat")  # callback_query
        if isinstance(chat, dict) and "id" in chat:
            state = self._state(chat["id"])
            if not state.known:
                state.known = True
                state.type = chat.get("type", "private")
                state.info = chat
                if chat.get("username"):
                    self._usernames[chat["username"].lower()] = chat["id"]
            message_id = obj.get("message_id")
            if isinstance(message_id, int) and message_id not in state.messages:
                state.messages[message_id] = obj
                state.next_message_id = max(state.next_message_id, message_id + 1)
            state.cursor = len(state.records)

    def _user_chat(
        self,
        user_id: int,
        chat_type: str,
        chat_id: int | None,
        first_name: str | None,
        last_name: str | None,
        username: str | None,
        chat_title: str | None,
    ) -> tuple[_ChatState, dict[str, Any]]:
        user = self.register_user(
            user_id, first_name=first_name, last_name=last_name, username=username
        )
        if chat_type == "private":
            if chat_id not in (None, user_id):
                raise ValueError("a private chat's id is the user's id")
            target = user_id
        else:
            if chat_id is None:
                raise ValueError(f"chat_id is required for a {chat_type} chat")
            target = chat_id
        state = self._state(target)
        if not state.known or first_name or last_name or username or chat_title:
            self.register_chat(
                target,
                chat_type=chat_type,
                first_name=user["first_name"],
                last_name=user.get("last_name"),
                username=user.get("username") if chat_type == "private" else None,
                title=chat_title,
            )
        return state, user

    def _user_message(self, state: _ChatState, user: dict[str, Any]) -> dict[str, Any]:
        message_id = state.take_message_id()
        message = {
            "message_id": message_id,
            "from": user,
            "chat": state.info,
            "date": int(time.time()),
        }
        state.messages[message_id] = message
        return message

    def _push_my_chat_member(self, state: _ChatState, old: str, new: str) -> None:
        user = self._users.get(state.id) or self.register_user(state.id)
        new_member: dict[str, Any] = {"status": new, "user": self.bot_user}
        if new == "kicked":
            new_member["until_date"] = 0
        old_member: dict[str, Any] = {"status": old, "user": self.bot_user}
        if old == "kicked":
            old_member["until_date"] = 0
        self.push_update(
            {
                "my_chat_member": {
                    "chat": state.info,
                    "from": user,
                    "date": int(time.time()),
                    "old_chat_member": old_member,
                    "new_chat_member": new_member,
                }
            }
        )

    def _target_chat(self, params: Mapping[str, Any]) -> _ChatState:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        if isinstance(chat_id, str):
            name = chat_id.strip()
            if name.startswith("@") and name[1:].lower() in self._usernames:
                chat_id = self._usernames[name[1:].lower()]
            else:
                raise _bad("chat not found")
        if isinstance(chat_id, bool) or not isinstance(chat_id, int):
            raise _bad("chat not found")
        state = self._chats.get(chat_id)
        if state is None or not state.known:
            if chat_id in self._users:
                raise BotApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise _bad("chat not found")
        if state.blocked:
            if state.type == "private":
                raise BotApiError(403, "Forbidden: bot was blocked by the user")
            raise BotApiError(403, f"Forbidden: bot was kicked from the {state.type} chat")
        return state

    def _check_flood(self, state: _ChatState) -> None:
        if not self.enforce_limits:
            return
        now = self._clock()
        limit, window = self.chat_limit if state.type == "private" else self.group_limit
        if state.flood is None or state.flood.maxlen != limit:
            state.flood = deque(state.flood or (), maxlen=limit)
        retry = 0.0
        if len(state.flood) >= limit and now - state.flood[0] < window:
            retry = window - (now - state.flood[0])
        glimit, gwindow = self.global_limit
        if self._global_flood.maxlen != glimit:
            self._global_flood = deque(self._global_flood, maxlen=glimit)
        if len(self._global_flood) >= glimit and now - self._global_flood[0] < gwindow:
            retry = max(retry, gwindow - (now - self._global_flood[0]))
        if retry > 0:
            self.stats.rate_limited += 1
            seconds = max(1, math.ceil(retry))
            raise BotApiError(
                429, f"Too Many Requests: retry after {seconds}", {"retry_after": seconds}
            )
        state.flood.append(now)
        self._global_flood.append(now)

    def _format(
        self,
        text: Any,
        parse_mode: Any,
        entities: Any,
        *,
        caption: bool = False,
    ) -> tuple[str, list[dict[str, Any]]]:
        """Parse markup like Telegram; validate emptiness and length."""
        raw = "" if text is None else text if isinstance(text, str) else str(text)
        mode = (parse_mode or "").strip() if isinstance(parse_mode, str) else ""
        try:
            if not mode:
                plain = raw
                parsed = (
                    [e for e in entities if isinstance(e, dict)]
                    if isinstance(entities, list)
                    else []
                )
            elif mode.lower() == "html":
                plain, parsed = parse_html(raw, strict=self.strict_html)
            elif mode.lower() == "markdownv2":
                plain, parsed = parse_markdown_v2(raw)
            elif mode.lower() == "markdown":
                plain, parsed = parse_markdown(raw)
            else:
                raise _bad(f"unsupported parse_mode {mode!r}")
        except EntityParseError as exc:
            raise _bad(f"can't parse entities: {exc}") from None
        plain, parsed = _trim(plain, parsed)
        if caption:
            if len(plain) > MAX_CAPTION_LENGTH:
                raise _bad("message caption is too long")
        else:
            if not plain:
                raise _bad("message text is empty")
            if len(plain) > MAX_TEXT_LENGTH:
                raise _bad("message is too long")
        return plain, parsed

    def _markup(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None or markup == "":
            return None
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError:
                raise _bad("can't parse reply keyboard markup JSON object") from None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad(
                    'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
                )
            if sum(len(r) for r in rows) > 100:
                raise _bad("reply markup is too long")
            for row in rows:
                for button in row:
                    _check_inline_button(button)
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
            for row in rows:
                for button in row:
                    text = (
                        button
                        if isinstance(button, str)
                        else (button.get("text") if isinstance(button, dict) else None)
                    )
                    if not isinstance(text, str) or not text:
                        raise _bad("can't parse keyboard button: Text is empty")
        elif not ("remove_keyboard" in markup or "force_reply" in markup):
            raise _bad('can\'t find field "inline_keyboard"')
        return markup

    def _replied(self, state: _ChatState, params: Mapping[str, Any]) -> dict[str, Any] | None:
        reply_to = params.get("reply_to_message_id")
        allow_missing = bool(params.get("allow_sending_without_reply"))
        reply_parameters = params.get("reply_parameters")
        if isinstance(reply_parameters, dict):
            reply_to = reply_parameters.get("message_id", reply_to)
            allow_missing = bool(reply_parameters.get("allow_sending_without_reply"))
        if reply_to in (None, "", 0):
            return None
        replied = state.messages.get(reply_to) if isinstance(reply_to, int) else None
        if replied is None:
            if allow_missing:
                return None
            raise _bad("message to be replied not found")
        return _without_reply(replied)

    def _bot_message(
        self,
        state: _ChatState,
        method: str,
        params: dict[str, Any],
        *,
        text: tuple[str, list[dict[str, Any]]] | None = None,
        caption: tuple[str, list[dict[str, Any]]] | None = None,
        markup: dict[str, Any] | None = None,
        files: list[StoredFile] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        replied = self._replied(state, params)
        self._check_flood(state)
        message_id = state.take_message_id()
        now = time.time()
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": state.info,
            "date": int(now),
        }
        if replied is not None:
            message["reply_to_message"] = replied
        if text is not None:
            message["text"] = text[0]
            if text[1]:
                message["entities"] = text[1]
        if extra:
            message.update(extra)
        if caption is not None and caption[0]:
            message["caption"] = caption[0]
            if caption[1]:
                message["caption_entities"] = caption[1]
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        if markup is not None:
            if "keyboard" in markup:
                state.reply_keyboard = [
                    [b if isinstance(b, str) else b.get("text", "") for b in row]
                    for row in markup["keyboard"]
                ]
            elif "remove_keyboard" in markup:
                state.reply_keyboard = None
        state.messages[message_id] = message
        state.bot_message_ids.append(message_id)
        record = BotMessage(
            chat_id=state.id,
            message_id=message_id,
            method=method,
            text=text[0] if text else None,
            raw_text=params.get("text") if text else None,
            parse_mode=params.get("parse_mode"),
            entities=(text or caption or ("", []))[1],
            reply_markup=markup,
            files=files or [],
            date=int(now),
            timestamp=now,
            params=params,
            caption=caption[0] if caption else None,
            raw_caption=params.get("caption") if caption else None,
            location=(extra or {}).get("location"),
        )
        self.stats.messages_sent += 1
        self._record(state, record)
        return message

    def _record(self, state: _ChatState, record: BotMessage) -> None:
        state.records.append(record)
        state.latest[record.message_id] = record
        label = "bot (edit)" if record.edited else "bot"
        line = f"{label}: {_short(record.content, 200)}"
        if record.buttons:
            line += f"  {record.buttons}"
        if record.files:
            line += f"  [files: {', '.join(f.filename or f.kind for f in record.files)}]"
        state.transcript.append(line)
        if state.waiters:
            count = len(state.records)
            for target, future in state.waiters:
                if count >= target and not future.done():
                    future.set_result(None)

    def _store_file(self, kind: str, upload: Upload) -> StoredFile:
        number = next(self._file_ids)
        width = height = None
        if kind == "photo":
            size = _image_size(upload.data)
            if size is None:
                raise _bad("IMAGE_PROCESS_FAILED")
            width, height = size
        ext = (upload.filename or "").rpartition(".")[2] if "." in (upload.filename or "") else ""
        folder = "photos" if kind == "photo" else "documents"
        stored = StoredFile(
            file_id=f"{'AgAC' if kind == 'photo' else 'BQAC'}local{number:08d}",
            file_unique_id=f"AQAD{number:08d}",
            kind=kind,
            filename=upload.filename,
            mime_type=upload.content_type,
            data=upload.data,
            file_path=f"{folder}/file_{number}" + (f".{ext}" if ext else ""),
            width=width,
            height=height,
        )
        self.files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _input_file(
        self, params: Mapping[str, Any], uploads: Mapping[str, Upload], name: str, kind: str
    ) -> StoredFile:
        upload = uploads.get(name)
        if upload is None:
            value = params.get(name)
            if value is None or value == "":
                raise _bad(f"there is no {name} in the request")
            if not isinstance(value, str):
                raise _bad(f"wrong type of the {name} field")
            if value.startswith("attach://"):
                upload = uploads.get(value[len("attach://") :])
                if upload is None:
                    raise _bad(f"wrong remote file identifier specified: {value}")
            elif value in self.files:
                return self.files[value]
            elif value.startswith(("http://", "https://")):
                number = next(self._file_ids)
                stored = StoredFile(
                    file_id=f"URLlocal{number:08d}",
                    file_unique_id=f"AQAD{number:08d}",
                    kind=kind,
                    filename=value.rsplit("/", 1)[-1] or None,
                    mime_type=_guess_mime(value),
                    data=None,
                    file_path=f"urls/file_{number}",
                    url=value,
                    width=1 if kind == "photo" else None,
                    height=1 if kind == "photo" else None,
                )
                self.files[stored.file_id] = stored
                return stored
            else:
                raise _bad("wrong file identifier/HTTP URL specified")
        if not upload.data:
            raise _bad("file must be non-empty")
        if upload.content_type in (None, "", "application/octet-stream") and upload.filename:
            upload = Upload(upload.filename, _guess_mime(upload.filename), upload.data)
        return self._store_file(kind, upload)

    def _editable(self, params: Mapping[str, Any]) -> tuple[_ChatState, dict[str, Any]]:
        if params.get("inline_message_id"):
            raise _bad("MESSAGE_ID_INVALID")
        state = self._target_chat(params)
        message_id = params.get("message_id")
        if message_id is None or message_id == "":
            raise _bad("message identifier is not specified")
        message = state.messages.get(message_id) if isinstance(message_id, int) else None
        if message is None:
            raise _bad("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise _bad("message can't be edited")
        return state, message

    def _edited(
        self,
        state: _ChatState,
        message: dict[str, Any],
        method: str,
        params: dict[str, Any],
        markup: dict[str, Any] | None,
    ) -> dict[str, Any]:
        message["edit_date"] = int(time.time())
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = {"inline_keyboard": markup["inline_keyboard"]}
        else:
            message.pop("reply_markup", None)
        previous = state.latest.get(message["message_id"])
        now = time.time()
        record = BotMessage(
            chat_id=state.id,
            message_id=message["message_id"],
            method=method,
            text=message.get("text"),
            raw_text=params.get("text", previous.raw_text if previous else None),
            parse_mode=params.get("parse_mode", previous.parse_mode if previous else None),
            entities=message.get("entities") or message.get("caption_entities") or [],
            reply_markup=markup,
            files=previous.files if previous else [],
            date=message["date"],
            timestamp=now,
            params=params,
            edited=True,
            caption=message.get("caption"),
            raw_caption=params.get("caption", previous.raw_caption if previous else None),
            location=message.get("location"),
        )
        self.stats.messages_edited += 1
        self._record(state, record)
        return message

    # ---------------------------------------------------------------- long polling

    def _wake_pollers(self) -> None:
        future, self._poll_wakeup = self._poll_wakeup, None
        if future is not None and not future.done():
            future.set_result(None)

    async def _sleep_until_woken(self, timeout: float) -> None:
        if self._poll_wakeup is None:
            self._poll_wakeup = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._poll_wakeup), timeout)

    def _confirm(self, offset: int) -> None:
        pending = self._pending
        if offset > 0:
            while pending and pending[0]["update_id"] < offset:
                pending.popleft()
        elif offset < 0:
            while len(pending) > -offset:
                pending.popleft()

    def _select(self, limit: int, allowed: frozenset[str] | None) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        for update in self._pending:
            if allowed is None:
                wanted = not any(k in _DEFAULT_ALLOWED_UPDATES_EXCLUDED for k in update)
            else:
                wanted = any(k in allowed for k in update)
            if wanted:
                batch.append(update)
                if len(batch) >= limit:
                    break
        return batch

    async def _m_get_updates(self, p: dict[str, Any], _f: Any) -> list[dict[str, Any]]:
        if self.webhook:
            raise BotApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()  # an older long poll is terminated by this one (409, like Telegram)
        offset = _as_int(p.get("offset"), "offset", 0)
        limit = min(max(_as_int(p.get("limit"), "limit", 100), 1), 100)
        timeout = p.get("timeout") or 0
        try:
            timeout = max(float(timeout), 0.0)
        except (TypeError, ValueError):
            raise _bad("invalid timeout specified") from None
        allowed_list = p.get("allowed_updates")
        allowed = (
            frozenset(allowed_list) if isinstance(allowed_list, list) and allowed_list else None
        )
        self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self._select(limit, allowed)
            if batch or self._closing:
                self.stats.updates_delivered += len(batch)
                return batch
            if generation != self._poll_generation:
                raise BotApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            await self._sleep_until_woken(remaining)

    # ---------------------------------------------------------------- Bot API methods

    def _builtin_methods(self) -> dict[str, Callable[..., Any]]:
        return {
            "getMe": lambda p, f: self._me,
            "logOut": lambda p, f: True,
            "close": lambda p, f: True,
            "getUpdates": self._m_get_updates,
            "setWebhook": self._m_set_webhook,
            "deleteWebhook": self._m_delete_webhook,
            "getWebhookInfo": self._m_get_webhook_info,
            "setMyCommands": self._m_set_my_commands,
            "getMyCommands": self._m_get_my_commands,
            "deleteMyCommands": self._m_delete_my_commands,
            "setMyDescription": self._setting("description"),
            "getMyDescription": self._getting("description"),
            "setMyShortDescription": self._setting("short_description"),
            "getMyShortDescription": self._getting("short_description"),
            "setMyName": self._setting("name"),
            "getMyName": self._getting("name"),
            "setChatMenuButton": self._m_set_chat_menu_button,
            "getChatMenuButton": self._m_get_chat_menu_button,
            "sendMessage": self._m_send_message,
            "editMessageText": self._m_edit_message_text,
            "editMessageCaption": self._m_edit_message_caption,
            "editMessageReplyMarkup": self._m_edit_message_reply_markup,
            "deleteMessage": self._m_delete_message,
            "deleteMessages": self._m_delete_messages,
            "answerCallbackQuery": self._m_answer_callback_query,
            "sendChatAction": self._m_send_chat_action,
            "sendDocument": self._m_send_document,
            "sendPhoto": self._m_send_photo,
            "sendLocation": self._m_send_location,
            "getFile": self._m_get_file,
            "getChat": self._m_get_chat,
            "pinChatMessage": self._m_pin,
            "unpinChatMessage": self._m_pin,
        }

    def _m_set_webhook(self, p: dict[str, Any], _f: Any) -> bool:
        url = p.get("url") or ""
        if not url:
            return self._m_delete_webhook(p, _f)
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        self.webhook = {
            "url": url,
            "secret_token": p.get("secret_token"),
            "allowed_updates": p.get("allowed_updates"),
            "max_connections": p.get("max_connections", 40),
        }
        if p.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _m_delete_webhook(self, p: dict[str, Any], _f: Any) -> bool:
        self.webhook = None
        if p.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _m_get_webhook_info(self, p: dict[str, Any], _f: Any) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook["url"] if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook:
            info["max_connections"] = self.webhook["max_connections"]
            if self.webhook.get("allowed_updates"):
                info["allowed_updates"] = self.webhook["allowed_updates"]
        return info

    @staticmethod
    def _commands_key(p: Mapping[str, Any]) -> str:
        scope = p.get("scope") or {"type": "default"}
        language = p.get("language_code") or ""
        return json.dumps([scope, language], sort_keys=True)

    def _m_set_my_commands(self, p: dict[str, Any], _f: Any) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand")
            name = command.get("command")
            if not isinstance(name, str) or not _BOT_COMMAND_NAME_RE.match(name):
                raise _bad("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._commands_key(p)] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    def _m_get_my_commands(self, p: dict[str, Any], _f: Any) -> list[dict[str, Any]]:
        return self.commands.get(self._commands_key(p), [])

    def _m_delete_my_commands(self, p: dict[str, Any], _f: Any) -> bool:
        self.commands.pop(self._commands_key(p), None)
        return True

    def _setting(self, name: str) -> Callable[..., bool]:
        def handler(p: dict[str, Any], _f: Any) -> bool:
            self.bot_settings[(name, p.get("language_code") or "")] = p.get(name) or ""
            return True

        return handler

    def _getting(self, name: str) -> Callable[..., dict[str, str]]:
        def handler(p: dict[str, Any], _f: Any) -> dict[str, str]:
            key = (name, p.get("language_code") or "")
            value = self.bot_settings.get(key)
            if not value and name == "name":
                value = self.bot_user["first_name"]
            return {name: value or ""}

        return handler

    def _m_set_chat_menu_button(self, p: dict[str, Any], _f: Any) -> bool:
        self.bot_settings[("menu_button", p.get("chat_id"))] = p.get("menu_button") or {
            "type": "default"
        }
        return True

    def _m_get_chat_menu_button(self, p: dict[str, Any], _f: Any) -> dict[str, Any]:
        return self.bot_settings.get(("menu_button", p.get("chat_id"))) or {"type": "commands"}

    def _m_send_message(self, p: dict[str, Any], _f: Any) -> dict[str, Any]:
        text = self._format(p.get("text"), p.get("parse_mode"), p.get("entities"))
        markup = self._markup(p)
        state = self._target_chat(p)
        return self._bot_message(state, "sendMessage", p, text=text, markup=markup)

    def _m_edit_message_text(self, p: dict[str, Any], _f: Any) -> dict[str, Any]:
        text, entities = self._format(p.get("text"), p.get("parse_mode"), p.get("entities"))
        markup = self._markup(p)
        state, message = self._editable(p)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        new_inline = _inline_part(markup)
        if (
            message["text"] == text
            and (message.get("entities") or []) == entities
            and message.get("reply_markup") == new_inline
        ):
            raise BotApiError(400, NOT_MODIFIED)
        message["text"] = text
        if entities:
            message["entities"] = entities
        else:
            message.pop("entities", None)
        return self._edited(state, message, "editMessageText", p, markup)

    def _m_edit_message_caption(self, p: dict[str, Any], _f: Any) -> dict[str, Any]:
        caption, entities = self._format(
            p.get("caption"), p.get("parse_mode"), p.get("caption_entities"), caption=True
        )
        markup = self._markup(p)
        state, message = self._editable(p)
        if "text" in message:
            raise _bad("there is no caption in the message to edit")
        if (
            message.get("caption", "") == caption
            and (message.get("caption_entities") or []) == entities
            and message.get("reply_markup") == _inline_part(markup)
        ):
            raise BotApiError(400, NOT_MODIFIED)
        if caption:
            message["caption"] = caption
        else:
            message.pop("caption", None)
        if entities:
            message["caption_entities"] = entities
        else:
            message.pop("caption_entities", None)
        return self._edited(state, message, "editMessageCaption", p, markup)

    def _m_edit_message_reply_markup(self, p: dict[str, Any], _f: Any) -> dict[str, Any]:
        markup = self._markup(p)
        if markup is not None and "inline_keyboard" not in markup:
            raise _bad("inline keyboard expected")
        state, message = self._editable(p)
        if message.get("reply_markup") == _inline_part(markup):
            raise BotApiError(400, NOT_MODIFIED)
        return self._edited(state, message, "editMessageReplyMarkup", p, markup)

    def _delete(self, state: _ChatState, message_id: Any) -> bool:
        if not isinstance(message_id, int) or message_id not in state.messages:
            return False
        del state.messages[message_id]
        latest = state.latest.get(message_id)
        if latest is not None:
            for record in reversed(state.records):
                if record.message_id == message_id:
                    record.deleted = True
                if record is latest:
                    break
            latest.deleted = True
        state.transcript.append(f"bot: [deleted message {message_id}]")
        return True

    def _m_delete_message(self, p: dict[str, Any], _f: Any) -> bool:
        state = self._target_chat(p)
        if not self._delete(state, p.get("message_id")):
            raise _bad("message to delete not found")
        return True

    def _m_delete_messages(self, p: dict[str, Any], _f: Any) -> bool:
        state = self._target_chat(p)
        ids = p.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad("message_ids must be a non-empty list of at most 100 identifiers")
        for message_id in ids:
            self._delete(state, message_id)
        return True

    def _m_answer_callback_query(self, p: dict[str, Any], _f: Any) -> bool:
        query_id = p.get("callback_query_id")
        query = self._queries.get(str(query_id)) if query_id is not None else None
        if query is None or query["answered"]:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = p.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        query["answered"] = True
        answer = CallbackAnswer(
            query_id=str(query_id),
            text=text,
            show_alert=bool(p.get("show_alert")),
            url=p.get("url"),
            cache_time=p.get("cache_time"),
            timestamp=time.time(),
            data=query["data"],
            user_id=query["user_id"],
        )
        self.callback_answers.append(answer)
        future = self._answer_waiters.pop(answer.query_id, None)
        if future is not None and not future.done():
            future.set_result(answer)
        return True

    def _m_send_chat_action(self, p: dict[str, Any], _f: Any) -> bool:
        action = p.get("action")
        if action not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        state = self._target_chat(p)
        state.actions.append(action)
        return True

    def _m_send_document(self, p: dict[str, Any], uploads: Mapping[str, Upload]) -> Any:
        caption = self._format(
            p.get("caption"), p.get("parse_mode"), p.get("caption_entities"), caption=True
        )
        markup = self._markup(p)
        state = self._target_chat(p)
        stored = self._input_file(p, uploads, "document", "document")
        return self._bot_message(
            state,
            "sendDocument",
            p,
            caption=caption,
            markup=markup,
            files=[stored],
            extra={"document": stored.to_document()},
        )

    def _m_send_photo(self, p: dict[str, Any], uploads: Mapping[str, Upload]) -> Any:
        caption = self._format(
            p.get("caption"), p.get("parse_mode"), p.get("caption_entities"), caption=True
        )
        markup = self._markup(p)
        state = self._target_chat(p)
        stored = self._input_file(p, uploads, "photo", "photo")
        return self._bot_message(
            state,
            "sendPhoto",
            p,
            caption=caption,
            markup=markup,
            files=[stored],
            extra={"photo": stored.to_photo_sizes()},
        )

    def _m_send_location(self, p: dict[str, Any], _f: Any) -> Any:
        latitude, longitude = p.get("latitude"), p.get("longitude")
        if not isinstance(latitude, int | float) or not -90 <= latitude <= 90:
            raise _bad("wrong latitude")
        if not isinstance(longitude, int | float) or not -180 <= longitude <= 180:
            raise _bad("wrong longitude")
        markup = self._markup(p)
        state = self._target_chat(p)
        location = {"latitude": float(latitude), "longitude": float(longitude)}
        return self._bot_message(
            state, "sendLocation", p, markup=markup, extra={"location": location}
        )

    def _m_get_file(self, p: dict[str, Any], _f: Any) -> dict[str, Any]:
        stored = self.files.get(str(p.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        return stored.to_file()

    def _m_get_chat(self, p: dict[str, Any], _f: Any) -> dict[str, Any]:
        state = self._target_chat(p)
        return {
            **(state.info or {"id": state.id, "type": state.type}),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _m_pin(self, p: dict[str, Any], _f: Any) -> bool:
        state = self._target_chat(p)
        message_id = p.get("message_id")
        if message_id is not None and message_id not in state.messages:
            raise _bad("message to pin not found")
        return True


# --------------------------------------------------------------------------------------------
# Fake users
# --------------------------------------------------------------------------------------------


class FakeUser:
    """A Telegram user talking to the bot in a private chat (or a group, via ``chat_id``)."""

    def __init__(self, api: LocalBotApi, user_id: int) -> None:
        self.api = api
        self.id = user_id

    @property
    def first_name(self) -> str:
        return self.api._users[self.id]["first_name"]

    @property
    def chat_id(self) -> int:
        return self.id

    @property
    def inbox(self) -> list[BotMessage]:
        """Everything the bot sent or edited in the private chat, in order."""
        return self.api.messages_to(self.id)

    @property
    def last_message(self) -> BotMessage | None:
        return self.api.last_message_to(self.id)

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        """The reply keyboard the bot currently shows in the private chat."""
        state = self.api._chats.get(self.id)
        return state.reply_keyboard if state else None

    def send(self, text: str, *, chat_id: int | None = None) -> dict[str, Any]:
        """Send without waiting for a reply; returns the update."""
        if chat_id is None or chat_id == self.id:
            return self.api.send_message(self.id, text)
        state = self.api._chats.get(chat_id)
        chat_type = state.type if state and state.known else "group"
        return self.api.send_message(self.id, text, chat_type=chat_type, chat_id=chat_id)

    async def say(
        self, text: str, *, count: int = 1, timeout: float = 5.0, chat_id: int | None = None
    ) -> Replies:
        """Send a text and return the bot's next ``count`` messages (sends or edits)."""
        self.send(text, chat_id=chat_id)
        target = self.id if chat_id is None else chat_id
        return Replies(await self.api.wait_for_message(target, count=count, timeout=timeout))

    async def tap(
        self,
        button_text: str,
        *,
        count: int = 1,
        timeout: float = 5.0,
        message: BotMessage | int | None = None,
        chat_id: int | None = None,
    ) -> Replies:
        """Press the inline button with this visible text in the latest bot message that has an
        inline keyboard (or in ``message``). Waits for ``count`` bot messages (an edit counts);
        with ``count=0`` waits only for the answerCallbackQuery."""
        target = self.id if chat_id is None else chat_id
        if message is None:
            with_keyboard = [m for m in self.api.current_messages(target) if m.inline_keyboard]
            if not with_keyboard:
                raise AssertionError(
                    f"no bot message with an inline keyboard in chat {target}\n"
                    f"{self.api._diagnostics(target)}"
                )
            found = with_keyboard[-1]
        elif isinstance(message, int):
            found = next(
                (m for m in self.api.current_messages(target) if m.message_id == message), None
            )
            if found is None:
                raise AssertionError(f"no bot message {message} in chat {target}")
        else:
            found = self.api._chats[target].latest.get(message.message_id, message)
        button = found.button(button_text)
        if "callback_data" not in button:
            raise AssertionError(f"button {button_text!r} is not a callback button: {button}")
        update = self.api.press_button(
            self.id, found.message_id, button["callback_data"], chat_id=chat_id
        )
        if count == 0:
            await self.api.wait_for_callback_answer(update["callback_query"]["id"], timeout=timeout)
            return Replies()
        return Replies(await self.api.wait_for_message(target, count=count, timeout=timeout))

    async def share_location(
        self, latitude: float, longitude: float, *, count: int = 1, timeout: float = 5.0
    ) -> Replies:
        self.api.send_location(self.id, latitude, longitude)
        return Replies(await self.api.wait_for_message(self.id, count=count, timeout=timeout))

    async def wait_for_reply(self, *, count: int = 1, timeout: float = 5.0) -> Replies:
        """Wait for bot messages not triggered by an action (reminders, scheduled jobs)."""
        return Replies(await self.api.wait_for_message(self.id, count=count, timeout=timeout))

    def block(self, *, notify: bool = False) -> None:
        self.api.block(self.id, notify=notify)

    def unblock(self, *, notify: bool = False) -> None:
        self.api.unblock(self.id, notify=notify)

    def __repr__(self) -> str:
        return f"<FakeUser {self.id} {self.api._users.get(self.id, {}).get('first_name')!r}>"


@contextlib.asynccontextmanager
async def polling(app: Any, *, timeout: int = 1) -> AsyncIterator[Any]:
    """Run a PTB ``Application`` with long polling for the duration of the block::

    async with polling(app):
        ...
    """
    async with app:
        await app.start()
        await app.updater.start_polling(poll_interval=0, timeout=timeout)
        try:
            yield app
        finally:
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()


# --------------------------------------------------------------------------------------------
# Helpers: parameters, buttons, files
# --------------------------------------------------------------------------------------------


def _decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Decode form values: PTB sends strings as-is and everything else json.dumps'ed, so only
    fields known to be structured/numeric are decoded; text fields stay exactly as sent."""
    params: dict[str, Any] = {}
    for name, value in raw.items():
        if isinstance(value, str):
            if name in _JSON_FIELDS:
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            elif name in _INT_FIELDS:
                with contextlib.suppress(ValueError):
                    value = int(value.strip())
            elif name in _FLOAT_FIELDS:
                with contextlib.suppress(ValueError):
                    value = float(value)
            elif name in _BOOL_FIELDS:
                lowered = value.strip().lower()
                if lowered in ("true", "1"):
                    value = True
                elif lowered in ("false", "0", ""):
                    value = False
        elif name in _INT_FIELDS and isinstance(value, float) and value.is_integer():
            value = int(value)
        params[name] = value
    return params


def _as_int(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"invalid {name} specified")
    return value


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise _bad("can't parse inline keyboard button: Text must be a String")
    if not any(key in button for key in _INLINE_BUTTON_ACTIONS):
        raise _bad(
            "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
        )
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA_BYTES:
            raise _bad("BUTTON_DATA_INVALID")
    if "url" in button:
        url = button["url"]
        if not isinstance(url, str) or not re.match(r"^(https?|tg)://\S+$", url):
            raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def _inline_part(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    if markup is None or "inline_keyboard" not in markup:
        return None
    return {"inline_keyboard": markup["inline_keyboard"]}


def _inline_rows(message: Mapping[str, Any]) -> list[list[dict[str, Any]]]:
    return (message.get("reply_markup") or {}).get("inline_keyboard") or []


def _without_reply(message: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k != "reply_to_message"}


def _command_entities(text: str) -> list[dict[str, Any]]:
    match = _COMMAND_RE.match(text)
    if match is None:
        return []
    return [{"type": "bot_command", "offset": 0, "length": _utf16_len(match.group())}]


def _who(user: Mapping[str, Any]) -> str:
    return f"{user.get('first_name', 'user')} ({user.get('id')})"


def _short(text: str | None, limit: int = 60) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram strips leading and trailing whitespace; entities are shifted and clipped."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = _utf16_len(text[: len(text) - len(text.lstrip())])
    total = _utf16_len(stripped)
    trimmed = []
    for entity in entities:
        start = max(entity.get("offset", 0) - shift, 0)
        end = min(entity.get("offset", 0) + entity.get("length", 0) - shift, total)
        if end > start:
            trimmed.append({**entity, "offset": start, "length": end - start})
    return stripped, trimmed


def _guess_mime(name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(name, strict=False)[0] or "application/octet-stream"


def _image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG, JPEG, GIF, WebP or BMP image; None if not an image."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return width, height
    if data.startswith(b"BM") and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(width), abs(height)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return 1, 1
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            i += 2 + length
        return None
    return None


# --------------------------------------------------------------------------------------------
# Markup parsers: ports of TDLib's parse_html / parse_markdown_v2 / parse_markdown
# --------------------------------------------------------------------------------------------

_SPACE = frozenset(b" \t\r\n\x00\x0b")
_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_HTML_SIMPLE = {
    "i": "italic",
    "em": "italic",
    "b": "bold",
    "strong": "bold",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "u": "underline",
    "ins": "underline",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_HTML_ENTITY_NAMES = {b"lt": 0x3C, b"gt": 0x3E, b"amp": 0x26, b"quot": 0x22}


def _at(data: bytes, index: int) -> int:
    return data[index] if index < len(data) else 0


def _decode_html_entity(data: bytes, pos: int) -> tuple[int, int]:
    """(code point, position after the entity), or (0, pos) if none starts at ``pos``."""
    end = pos + 1
    code = 0
    if _at(data, pos + 1) == 0x23:  # '#'
        end += 1
        if _at(data, pos + 2) == 0x78:  # 'x'
            end += 1
            while chr(_at(data, end)) in "0123456789abcdefABCDEF":
                code = code * 16 + int(chr(data[end]), 16)
                end += 1
        else:
            while 0x30 <= _at(data, end) <= 0x39:
                code = code * 10 + data[end] - 0x30
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while chr(_at(data, end)).isascii() and chr(_at(data, end)).isalpha():
            end += 1
        code = _HTML_ENTITY_NAMES.get(bytes(data[pos + 1 : end]), 0)
        if not code:
            return 0, pos
    if _at(data, end) == 0x3B:  # ';'
        end += 1
    return code, end


def _link_entity(offset: int, length: int, url: str) -> dict[str, Any] | None:
    if not url:
        return None
    mention = re.match(r"^tg://user\?id=(\d+)$", url)
    if mention:
        user = {"id": int(mention.group(1)), "is_bot": False, "first_name": ""}
        return {"type": "text_mention", "offset": offset, "length": length, "user": user}
    return {"type": "text_link", "offset": offset, "length": length, "url": url}


def _sorted_entities(entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entities, key=lambda e: (e["offset"], -e["length"]))


def parse_html(text: str, *, strict: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: returns (plain text, entities) or raises EntityParseError.

    A port of TDLib's ``parse_html``. With ``strict`` (default) a ``&`` that does not start a
    supported entity (&lt; &gt; &amp; &quot; &#NN; &#xHH;) is an error; Telegram itself would
    show it literally, which hides unescaped-input bugs."""
    data = text.encode("utf-8", "surrogatepass")
    size = len(data)
    out = bytearray()
    utf16 = 0
    entities: list[dict[str, Any]] = []
    nested: list[list[Any]] = []  # [tag, argument, utf16 offset, out position]
    i = 0
    while i < size:
        c = data[i]
        if c == 0x26:  # '&'
            code, end = _decode_html_entity(data, i)
            if code:
                utf16 += 2 if code > 0xFFFF else 1
                out += chr(code).encode("utf-8", "surrogatepass")
                i = end
                continue
            if strict:
                raise EntityParseError(
                    f"Unescaped '&' at byte offset {i}: write &amp; (&lt; &gt; &quot; and "
                    f"numeric entities are the only ones supported)"
                )
        if c != 0x3C:  # '<'
            if c & 0xC0 != 0x80:
                utf16 += 2 if c >= 0xF0 else 1
            out.append(c)
            i += 1
            continue

        begin = i
        i += 1
        if _at(data, i) != 0x2F:  # start tag
            while _at(data, i) not in _SPACE and _at(data, i) != 0x3E:
                i += 1
            if _at(data, i) == 0:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
            tag = data[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in _HTML_TAGS:
                raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            while _at(data, i) != 0x3E:
                while _at(data, i) != 0 and _at(data, i) in _SPACE:
                    i += 1
                if _at(data, i) == 0x3E:
                    break
                name_start = i
                while _at(data, i) not in _SPACE and _at(data, i) not in b"=>/\"'":
                    i += 1
                attribute = data[name_start:i].decode("utf-8", "replace")
                if not attribute:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
                    )
                while _at(data, i) != 0 and _at(data, i) in _SPACE:
                    i += 1
                if _at(data, i) != 0x3D:  # '='
                    if _at(data, i) == 0:
                        raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                    if tag == "blockquote" and attribute == "expandable":
                        argument = "1"
                    continue
                i += 1
                while _at(data, i) != 0 and _at(data, i) in _SPACE:
                    i += 1
                if _at(data, i) == 0:
                    raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                value = bytearray()
                if _at(data, i) not in (0x22, 0x27):
                    token_start = i
                    while chr(_at(data, i)).isascii() and (
                        chr(_at(data, i)).isalnum() or _at(data, i) in (0x2E, 0x2D)
                    ):
                        i += 1
                    value += data[token_start:i].lower()
                    if _at(data, i) not in _SPACE and _at(data, i) != 0x3E:
                        raise EntityParseError(
                            f"Unexpected end of name token at byte offset {token_start}"
                        )
                else:
                    quote = data[i]
                    i += 1
                    while _at(data, i) != quote and _at(data, i) != 0:
                        if data[i] == 0x26:
                            code, end = _decode_html_entity(data, i)
                            if code:
                                value += chr(code).encode("utf-8", "surrogatepass")
                                i = end
                                continue
                        value.append(data[i])
                        i += 1
                    if _at(data, i) == quote:
                        i += 1
                if _at(data, i) == 0:
                    raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
                decoded = value.decode("utf-8", "replace")
                if tag == "a" and attribute == "href":
                    argument = decoded
                elif tag == "code" and attribute == "class" and decoded.startswith("language-"):
                    argument = decoded[len("language-") :]
                elif tag == "span" and attribute == "class" and decoded.startswith("tg-"):
                    argument = decoded[len("tg-") :]
                elif tag == "tg-emoji" and attribute == "emoji-id":
                    argument = decoded
                elif tag == "blockquote" and attribute == "expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {begin}'
                )
            nested.append([tag, argument, utf16, len(out)])
            i += 1
            continue

        # end tag
        if not nested:
            raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
        while _at(data, i) not in _SPACE and _at(data, i) != 0x3E:
            i += 1
        end_tag = data[begin + 2 : i].decode("utf-8", "replace").lower()
        while _at(data, i) in _SPACE and _at(data, i) != 0:
            i += 1
        if _at(data, i) != 0x3E:
            raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
        tag, argument, offset, out_pos = nested[-1]
        if end_tag and end_tag != tag:
            raise EntityParseError(
                f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", '
                f'found "</{end_tag}>"'
            )
        if utf16 > offset:
            length = utf16 - offset
            last = entities[-1] if entities else None
            same_span = last is not None and last["offset"] == offset and last["length"] == length
            if tag in _HTML_SIMPLE:
                entities.append({"type": _HTML_SIMPLE[tag], "offset": offset, "length": length})
            elif tag == "tg-emoji":
                if not argument.isdigit() or int(argument) == 0:
                    raise EntityParseError("Invalid custom emoji identifier specified")
                entities.append(
                    {
                        "type": "custom_emoji",
                        "offset": offset,
                        "length": length,
                        "custom_emoji_id": argument,
                    }
                )
            elif tag == "a":
                url = argument or out[out_pos:].decode("utf-8", "replace")
                link = _link_entity(offset, length, url)
                if link:
                    entities.append(link)
            elif tag == "pre":
                if same_span and last["type"] == "code" and last.get("language"):
                    last["type"] = "pre"
                else:
                    entities.append({"type": "pre", "offset": offset, "length": length})
            elif tag == "code":
                if same_span and last["type"] == "pre" and argument:
                    last["language"] = argument
                else:
                    entity = {"type": "code", "offset": offset, "length": length}
                    if argument:
                        entity["language"] = argument
                    entities.append(entity)
            elif tag == "blockquote":
                kind = "expandable_blockquote" if argument else "blockquote"
                entities.append({"type": kind, "offset": offset, "length": length})
        nested.pop()
        i += 1
    if nested:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{nested[-1][0]}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    try:
        plain = out.decode("utf-8")
    except UnicodeDecodeError:
        raise EntityParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, check for "
            "unmatched surrogate code units"
        ) from None
    return plain, _sorted_entities(entities)


_MDV2_RESERVED = b"_*[]()~`>#+-=|{}.!\n"
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "pre_code": "PreCode",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
    "blockquote": "BlockQuote",
}


def _reserved(char: int) -> EntityParseError:
    return EntityParseError(
        f"Character '{chr(char)}' is reserved and must be escaped with the preceding '\\'"
    )


def parse_markdown_v2(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's MarkdownV2 parse mode (a port of TDLib's ``parse_markdown_v2``)."""
    data = text.encode("utf-8", "surrogatepass")
    size = len(data)
    out = bytearray()
    utf16 = 0
    entities: list[dict[str, Any]] = []
    nested: list[list[Any]] = []  # [type, argument, utf16 offset, byte offset, out position]
    have_blockquote = False
    can_start_blockquote = True
    i = 0
    while i < size:
        c = data[i]
        if c == 0x5C and 0 < _at(data, i + 1) <= 126:  # backslash escape
            i += 1
            utf16 += 1
            out.append(data[i])
            if data[i] != 0x0D:
                can_start_blockquote = data[i] == 0x0A
            i += 1
            continue
        reserved = _MDV2_RESERVED
        if nested and nested[-1][0] in ("code", "pre", "pre_code"):
            reserved = b"`"
        if c not in reserved:
            if c & 0xC0 != 0x80:
                utf16 += 2 if c >= 0xF0 else 1
                if c != 0x0D:
                    can_start_blockquote = False
            out.append(c)
            i += 1
            continue

        is_end = False
        if nested:
            top = nested[-1][0]
            if have_blockquote and c == 0x0A and (i + 1 == size or data[i + 1] != 0x3E):
                is_end = True
            elif top == "bold":
                is_end = c == 0x2A
            elif top == "italic":
                is_end = c == 0x5F and _at(data, i + 1) != 0x5F
            elif top == "code":
                is_end = c == 0x60
            elif top in ("pre", "pre_code"):
                is_end = c == 0x60 and _at(data, i + 1) == 0x60 and _at(data, i + 2) == 0x60
            elif top in ("text_link", "custom_emoji"):
                is_end = c == 0x5D
            elif top == "underline":
                is_end = c == 0x5F and _at(data, i + 1) == 0x5F
            elif top == "strikethrough":
                is_end = c == 0x7E
            elif top == "spoiler":
                is_end = c == 0x7C and _at(data, i + 1) == 0x7C

        if not is_end:
            kind: str | None
            argument = ""
            byte_offset = i
            if c == 0x5F:
                if _at(data, i + 1) == 0x5F:
                    kind = "underline"
                    i += 1
                else:
                    kind = "italic"
            elif c == 0x2A:
                kind = "bold"
            elif c == 0x7E:
                kind = "strikethrough"
            elif c == 0x7C:
                if _at(data, i + 1) != 0x7C:
                    raise _reserved(c)
                i += 1
                kind = "spoiler"
            elif c == 0x5B:
                kind = "text_link"
            elif c == 0x60:
                if _at(data, i + 1) == 0x60 and _at(data, i + 2) == 0x60:
                    i += 3
                    kind = "pre"
                    language_end = i
                    while _at(data, language_end) not in _SPACE and _at(data, language_end) != 0x60:
                        language_end += 1
                    if i != language_end and language_end < size and data[language_end] != 0x60:
                        kind = "pre_code"
                        argument = data[i:language_end].decode("utf-8", "replace")
                        i = language_end
                    if _at(data, i) in (0x0A, 0x0D):
                        if _at(data, i + 1) in (0x0A, 0x0D) and data[i] != _at(data, i + 1):
                            i += 2
                        else:
                            i += 1
                    i -= 1
                else:
                    kind = "code"
            elif c == 0x21:
                if _at(data, i + 1) != 0x5B:
                    raise _reserved(c)
                i += 1
                kind = "custom_emoji"
            elif c == 0x0A:
                utf16 += 1
                out.append(0x0A)
                can_start_blockquote = True
                kind = None
            elif c == 0x3E:
                if not can_start_blockquote:
                    raise _reserved(c)
                if have_blockquote:
                    kind = None
                else:
                    kind = "blockquote"
                    have_blockquote = True
            else:
                raise _reserved(c)
            if kind is not None:
                nested.append([kind, argument, utf16, byte_offset, len(out)])
            i += 1
            continue

        # end of an entity
        kind = nested[-1][0]
        if c == 0x0A and kind != "blockquote":
            start = nested[-1][3]
            if kind != "spoiler" or not (
                start == i - 2 or (start == i - 3 and out and out[-1] == 0x0D)
            ):
                raise EntityParseError(
                    f"Can't find end of {_MDV2_NAMES[kind]} entity at byte offset {start}"
                )
            nested.pop()
            kind = nested[-1][0]
            if kind != "blockquote":
                raise EntityParseError(
                    f"Can't find end of {_MDV2_NAMES[kind]} entity at byte offset {nested[-1][3]}"
                )
            kind = "expandable_blockquote"
        _, argument, offset, _, out_pos = nested[-1]
        skip = utf16 == offset
        entity: dict[str, Any] | None = None
        if kind in ("underline", "spoiler"):
            i += 1
        elif kind in ("pre", "pre_code"):
            i += 2
        elif kind == "text_link":
            if _at(data, i + 1) != 0x28:
                url = out[out_pos:].decode("utf-8", "replace")
            else:
                i += 2
                url_start = i
                url_bytes = bytearray()
                while i < size and data[i] != 0x29:
                    if data[i] == 0x5C and 0 < _at(data, i + 1) <= 126:
                        url_bytes.append(data[i + 1])
                        i += 2
                        continue
                    url_bytes.append(data[i])
                    i += 1
                if _at(data, i) != 0x29:
                    raise EntityParseError(f"Can't find end of a URL at byte offset {url_start}")
                url = url_bytes.decode("utf-8", "replace")
            entity = _link_entity(offset, utf16 - offset, url)
            skip = skip or entity is None
        elif kind == "custom_emoji":
            if _at(data, i + 1) != 0x28:
                raise EntityParseError("Custom emoji entity must contain a tg://emoji URL")
            i += 2
            url_start = i
            url_bytes = bytearray()
            while i < size and data[i] != 0x29:
                if data[i] == 0x5C and 0 < _at(data, i + 1) <= 126:
                    url_bytes.append(data[i + 1])
                    i += 2
                    continue
                url_bytes.append(data[i])
                i += 1
            if _at(data, i) != 0x29:
                raise EntityParseError(
                    f"Can't find end of a custom emoji URL at byte offset {url_start}"
                )
            match = re.match(r"^tg://emoji\?id=(\d+)$", url_bytes.decode("utf-8", "replace"))
            if not match:
                raise EntityParseError("Invalid custom emoji URL specified")
            entity = {
                "type": "custom_emoji",
                "offset": offset,
                "length": utf16 - offset,
                "custom_emoji_id": match.group(1),
            }
        elif kind in ("blockquote", "expandable_blockquote"):
            have_blockquote = False
            out.append(data[i])
            can_start_blockquote = True
            utf16 += 1
            skip = False
        if not skip:
            if entity is None:
                entity = {
                    "type": "pre" if kind == "pre_code" else kind,
                    "offset": offset,
                    "length": utf16 - offset,
                }
                if kind == "pre_code":
                    entity["language"] = argument
            entities.append(entity)
        nested.pop()
        i += 1

    if have_blockquote:
        kind = "blockquote"
        if nested and nested[-1][0] == "spoiler" and nested[-1][3] == size - 2:
            nested.pop()
            kind = "expandable_blockquote"
        if nested and nested[-1][0] == "blockquote":
            offset = nested[-1][2]
            if utf16 != offset:
                entities.append({"type": kind, "offset": offset, "length": utf16 - offset})
            nested.pop()
    if nested:
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[nested[-1][0]]} entity at byte offset {nested[-1][3]}"
        )
    return out.decode("utf-8", "replace"), _sorted_entities(entities)


def parse_markdown(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's legacy Markdown parse mode (TDLib's ``parse_markdown``, simplified)."""
    data = text.encode("utf-8", "surrogatepass")
    size = len(data)
    out = bytearray()
    utf16 = 0
    entities: list[dict[str, Any]] = []
    i = 0
    while i < size:
        c = data[i]
        if c == 0x5C and _at(data, i + 1) in b"_*`[":
            i += 1
            out.append(data[i])
            utf16 += 1
            i += 1
            continue
        if c not in b"_*`[":
            if c & 0xC0 != 0x80:
                utf16 += 2 if c >= 0xF0 else 1
            out.append(c)
            i += 1
            continue
        begin = i
        end_char = 0x5D if c == 0x5B else c
        is_pre = False
        i += 1
        language = ""
        if c == 0x60 and _at(data, i) == 0x60 and _at(data, i + 1) == 0x60:
            i += 2
            is_pre = True
            language_end = i
            while _at(data, language_end) not in _SPACE and _at(data, language_end) != 0x60:
                language_end += 1
            if i != language_end and language_end < size and data[language_end] != 0x60:
                language = data[i:language_end].decode("utf-8", "replace")
                i = language_end
            if _at(data, i) in (0x0A, 0x0D):
                i += 1
        offset = utf16
        content_start = len(out)
        while i < size and (
            data[i] != end_char
            or (is_pre and not (_at(data, i + 1) == 0x60 and _at(data, i + 2) == 0x60))
        ):
            if data[i] & 0xC0 != 0x80:
                utf16 += 2 if data[i] >= 0xF0 else 1
            out.append(data[i])
            i += 1
        if i == size:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {begin}")
        length = utf16 - offset
        if length:
            if c == 0x5F:
                entities.append({"type": "italic", "offset": offset, "length": length})
            elif c == 0x2A:
                entities.append({"type": "bold", "offset": offset, "length": length})
            elif c == 0x60 and is_pre:
                entity = {"type": "pre", "offset": offset, "length": length}
                if language:
                    entity["language"] = language
                entities.append(entity)
            elif c == 0x60:
                entities.append({"type": "code", "offset": offset, "length": length})
        if c == 0x5B:
            url = ""
            if _at(data, i + 1) == 0x28:
                i += 2
                url_bytes = bytearray()
                while i < size and data[i] != 0x29:
                    url_bytes.append(data[i])
                    i += 1
                url = url_bytes.decode("utf-8", "replace")
            link = _link_entity(offset, length, url or out[content_start:].decode("utf-8"))
            if link and length:
                entities.append(link)
        if is_pre:
            i += 2
        i += 1
    return out.decode("utf-8", "replace"), _sorted_entities(entities)
