"""A simulated Telegram, as far as this bot uses it: the core both transports share.

`FakeTelegram` keeps users, chats and the messages in them, inline keyboards and callback
queries, and the update queue (getUpdates with its offset and long polling, or a webhook).
Tests play the users (`send_message`, `press_button`, `send_location`...) and look at what the
bot did (`messages_to`, `callback_answers`, `calls`). It answers the Bot API methods the bot
calls (getMe, getUpdates, setWebhook, deleteWebhook, getWebhookInfo, setMyCommands, sendMessage,
editMessageText, answerCallbackQuery, sendDocument, sendPhoto) the way Telegram does, refusals
included: HTML it cannot parse, texts too long or empty, unknown or blocked chats, "message is
not modified", a callback query answered twice, getUpdates while a webhook is set (409
Conflict), and (with `enforce_limits`) the flood limits. Failures can be injected (`fail_next`,
`drop_next`, `hold_next`); every call is recorded. Update ids count up, and can be made to start
again elsewhere (`restart_update_ids`), as Telegram does after a quiet week.

It knows nothing of transports: `call()` takes one Bot API request and returns the recorded
`ApiCall`. `testkit.http.LocalBotApi` serves it over HTTP (and posts the updates to the webhook
the bot set); `testkit.inprocess` hands python-telegram-bot's requests to it directly. With a
bot attached in-process (`driver`), every wait first lets the bot handle what is queued, so
nothing here waits on the clock, and each call the bot makes is tagged with the update it was
handling (`reply_to`, set through `REPLYING_TO`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, NoReturn, Protocol

from testkit.html import HtmlError, parse_html

DEFAULT_TOKEN = "123456789:AAH-local-bot-api-test-token-0000000000"
BOT_USERNAME = "achilles_coach_bot"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_COMMAND = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_/<>])")
_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")
_SECRET_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram allows in a webhook's secret
WEBHOOK_CONFLICT = ("Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to "
                    "delete the webhook first")
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: injected failure",
    403: "Forbidden: bot was blocked by the user",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


class BotApiError(Exception):
    """A refusal, as the Bot API answers it: an HTTP status and a description."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after


def _bad(description: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {description}")


# The update the bot is handling, by its number (its place in `FakeTelegram.updates`): set by an
# in-process driver around each update, so every call made for it records it as `reply_to`.
# Over HTTP nothing sets it: the calls' `reply_to` is None.
REPLYING_TO: ContextVar[int | None] = ContextVar("REPLYING_TO", default=None)


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Upload:
    """A file part of a request, as the bot sent it."""

    filename: str | None
    mime_type: str | None
    data: bytes


@dataclass(slots=True, eq=False)
class SentFile:
    """A document or photo the bot sent."""

    kind: str  # "document" | "photo"
    file_id: str
    filename: str | None
    mime_type: str | None
    data: bytes

    def text(self, encoding: str = "utf-8") -> str:
        """The content as text (a CSV export, a JSON export)."""
        return self.data.decode(encoding)

    def as_telegram(self) -> Any:
        base = {"file_id": self.file_id, "file_unique_id": f"u{self.file_id}", "file_size": len(self.data)}
        if self.kind == "photo":
            return [{**base, "width": 0, "height": 0}]  # the bot never reads the sizes back
        return {**base, "file_name": self.filename or "file", "mime_type": self.mime_type or ""}


@dataclass(slots=True, eq=False)
class ApiCall:
    """One Bot API request the bot made. `status` 0: the connection was dropped."""

    method: str
    params: dict[str, Any]
    files: dict[str, Upload]
    timestamp: float
    status: int = 200
    result: Any = None
    error: str | None = None
    retry_after: int | None = None
    reply_to: int | None = None  # the number of the update the bot was handling (in-process)

    @property
    def ok(self) -> bool:
        return self.status == 200

    def payload(self) -> dict[str, Any]:
        """The JSON body Telegram answers with."""
        if self.ok:
            return {"ok": True, "result": self.result}
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.error}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


@dataclass(slots=True, eq=False)
class CallbackAnswer:
    """An answerCallbackQuery the bot made (the tap's spinner, with an optional notice)."""

    query_id: str
    text: str | None
    show_alert: bool
    data: str | None  # the answered query's callback_data
    user_id: int
    timestamp: float
    reply_to: int | None = None  # the number of the update the bot was handling (in-process)


@dataclass(slots=True, eq=False)
class BotMessage:
    """A message the bot sent (`edited=False`) or a new version of one it edited.

    `text` and `caption` are what the user sees (tags dropped, entities decoded); `html` is what
    the bot sent."""

    chat_id: int
    message_id: int
    method: str
    text: str | None
    html: str | None
    reply_markup: dict[str, Any] | None
    files: list[SentFile]
    timestamp: float
    edited: bool = False
    caption: str | None = None
    reply_to: int | None = None  # the number of the update the bot was handling (in-process)

    @property
    def content(self) -> str:
        """The text, or the caption of a file."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def inline_keyboard(self) -> list[list[dict[str, Any]]]:
        return (self.reply_markup or {}).get("inline_keyboard") or []

    @property
    def buttons(self) -> list[str]:
        """The buttons' visible labels, row by row."""
        return [button.get("text", "") for row in self.inline_keyboard for button in row]

    def button(self, label: str) -> dict[str, Any]:
        """The inline button with this label (exactly, else ignoring case and spacing)."""
        flat = [button for row in self.inline_keyboard for button in row]
        wanted = " ".join(label.split()).casefold()
        for same in (lambda b: b.get("text") == label,
                     lambda b: " ".join(str(b.get("text", "")).split()).casefold() == wanted):
            found = next((button for button in flat if same(button)), None)
            if found is not None:
                return found
        raise AssertionError(f"no button {label!r} in message {self.message_id} "
                             f"({_short(self.content)!r}); buttons: {self.buttons}")

    @property
    def document(self) -> SentFile | None:
        return next((f for f in self.files if f.kind == "document"), None)

    @property
    def photo(self) -> SentFile | None:
        return next((f for f in self.files if f.kind == "photo"), None)

    def __repr__(self) -> str:
        edited = " edited" if self.edited else ""
        buttons = f" buttons={self.buttons}" if self.inline_keyboard else ""
        content = _short(self.content)
        return f"<BotMessage chat={self.chat_id} id={self.message_id}{edited} {content!r}{buttons}>"


@dataclass(slots=True)
class Webhook:
    """The webhook the bot set: where updates are posted, and the secret sent with each."""

    url: str
    secret_token: str | None
    allowed_updates: list[str] | None  # None: every kind of update


@dataclass
class ApiStats:
    """Counters, cheap enough to keep in long benches (`keep_calls=False`)."""

    requests: int = 0
    rate_limited: int = 0  # 429s from the flood limits (enforce_limits=True)
    injected_failures: int = 0
    dropped: int = 0
    messages_sent: int = 0
    messages_edited: int = 0


@dataclass(slots=True)
class _Fault:
    method: str  # lower case
    times: int
    chat_id: int | None
    status: int = 0
    description: str = ""
    retry_after: int | None = None
    drop: bool = False
    after: bool = False
    hold: float = 0.0  # seconds the answer is held back, the call having taken effect

    def matches(self, method: str, params: Mapping[str, Any]) -> bool:
        return self.method == method and (self.chat_id is None or params.get("chat_id") == self.chat_id)


@dataclass(slots=True, eq=False)
class _Chat:
    id: int
    type: str = "private"
    info: dict[str, Any] = field(default_factory=dict)  # the Chat object
    known: bool = False  # Telegram knows the chat: the bot may send to it
    blocked: bool = False
    next_message_id: int = 1
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # everyone's, as Telegram has them
    bot_message_ids: list[int] = field(default_factory=list)
    records: list[BotMessage] = field(default_factory=list)  # what the bot sent and edited, in order
    latest: dict[int, BotMessage] = field(default_factory=dict)
    cursor: int = 0  # records the test has already waited for
    waiters: list[tuple[int, asyncio.Future[None]]] = field(default_factory=list)
    flood: deque[float] = field(default_factory=deque)
    transcript: deque[str] = field(default_factory=lambda: deque(maxlen=40))

    def take_message_id(self) -> int:
        self.next_message_id += 1
        return self.next_message_id - 1


class Driver(Protocol):
    """A bot run in-process (`testkit.inprocess`): handles queued updates when asked."""

    async def settle(self) -> None: ...


# --------------------------------------------------------------------------------------------
# The simulated Telegram
# --------------------------------------------------------------------------------------------


class FakeTelegram:
    """Telegram's side of the conversation. See the module docstring."""

    realtime = False  # the bot works on its own time (over HTTP), so waits are real waits

    def __init__(
        self,
        *,
        token: str = DEFAULT_TOKEN,
        bot_username: str = BOT_USERNAME,
        enforce_limits: bool = False,
        global_limit: tuple[int, float] = (30, 1.0),
        chat_limit: tuple[int, float] = (1, 1.0),
        keep_calls: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`enforce_limits`: answer 429 "retry after N" past `global_limit` messages per window
        overall or `chat_limit` per private chat, each (messages, seconds), by `clock`.
        `keep_calls=False` keeps only counters (long benches)."""
        self.token = token
        self.enforce_limits = enforce_limits
        self.global_limit = global_limit
        self.chat_limit = chat_limit
        self.keep_calls = keep_calls
        self._clock = clock
        self.bot_user = {"id": int(token.split(":")[0]), "is_bot": True,
                         "first_name": "Achilles Coach", "username": bot_username}
        self.driver: Driver | None = None

        self.calls: list[ApiCall] = []
        self.stats = ApiStats()
        self.updates: list[dict[str, Any]] = []  # every update ever pushed; its place is its number
        self.callback_answers: list[CallbackAnswer] = []
        self.commands: dict[str, list[dict[str, str]]] = {}  # by scope and language (menu_key)
        self.server_errors: list[Exception] = []  # bugs in this simulation, shown on failures

        self._users: dict[int, dict[str, Any]] = {}
        self._chats: dict[int, _Chat] = {}
        self._pending: deque[dict[str, Any]] = deque()  # not confirmed (getUpdates offset) or handled
        self._next_update_id = 100_000
        self._restarted_at: int | None = None  # where ids last started again (restart_update_ids)
        self._numbers: dict[int, int] = {}  # id() of each pushed update -> its number
        self._query_ids = itertools.count(1)
        self._file_ids = itertools.count(1)
        self._queries: dict[str, dict[str, Any]] = {}
        self._faults: list[_Fault] = []
        self._global_flood: deque[float] = deque()
        self._answer_waiters: dict[str, asyncio.Future[CallbackAnswer]] = {}
        self._call_waiters: list[tuple[Callable[[ApiCall], bool], asyncio.Future[ApiCall]]] = []
        self._poll_generation = 0
        self._poll_wakeup: asyncio.Future[None] | None = None
        self._closing = False
        self.webhook: Webhook | None = None  # set by setWebhook; updates then go there, not to getUpdates
        self._webhook_news = asyncio.Event()  # an update, or a new webhook: the poster looks again
        self._methods: dict[str, tuple[str, Callable[..., Any]]] = {
            name.lower(): (name, handler) for name, handler in {
                "getMe": lambda p, f: dict(self.bot_user, can_join_groups=True,
                                           can_read_all_group_messages=False, supports_inline_queries=False),
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "answerCallbackQuery": self._answer_callback_query,
                "sendDocument": lambda p, f: self._send_file("document", p, f),
                "sendPhoto": lambda p, f: self._send_file("photo", p, f),
            }.items()
        }

    # ---------------------------------------------------------------- users and chats

    def register_user(self, user_id: int, first_name: str | None = None,
                      language_code: str | None = None) -> dict[str, Any]:
        """A Telegram user (who has not necessarily talked to the bot); `language_code` is their
        app's language ("es-MX"), English unless given."""
        user = self._users.setdefault(
            user_id, {"id": user_id, "is_bot": False, "first_name": f"User{user_id}", "language_code": "en"})
        if first_name:
            user["first_name"] = first_name
        if language_code:
            user["language_code"] = language_code
        return user

    def register_chat(self, chat_id: int, *, chat_type: str = "private", title: str | None = None) -> None:
        """Make a chat known, so the bot may send to it without a message from it first."""
        chat = self._chat(chat_id)
        chat.known, chat.type = True, chat_type
        if chat_type == "private":
            name = self.register_user(chat_id)["first_name"]
            chat.info = {"id": chat_id, "type": "private", "first_name": name}
        else:
            chat.info = {"id": chat_id, "type": chat_type, "title": title or f"Group {chat_id}"}

    def block(self, user_id: int) -> None:
        """The user blocks the bot: its sends to them get 403 Forbidden."""
        self._chat(user_id).blocked = True

    def unblock(self, user_id: int) -> None:
        self._chat(user_id).blocked = False

    def user(self, user_id: int, first_name: str | None = None, language_code: str | None = None) -> FakeUser:
        """A handle to play a user: `send`, `say`, `tap`, and their `inbox`."""
        self.register_user(user_id, first_name, language_code)
        return FakeUser(self, user_id)

    # ---------------------------------------------------------------- update ids

    @property
    def next_update_id(self) -> int:
        """The id the next update will get."""
        return self._next_update_id

    def restart_update_ids(self, start: int) -> None:
        """Ids start again at `start`, lower or higher, even at ids already used: "If there are no
        new updates for at least a week, then identifier of the next update will be chosen
        randomly instead of sequentially" (Bot API, Update). Telegram does it only after such a
        quiet week, so a realistic test lets the bot finish everything first. A getUpdates offset
        from before the restart confirms none of the new updates (Telegram still hands them out)."""
        self._next_update_id = self._restarted_at = start

    def number_of(self, update: Mapping[str, Any]) -> int | None:
        """The update's number: its place in `updates` (unique, whatever its update_id)."""
        return self._numbers.get(id(update))

    # ---------------------------------------------------------------- what users do

    def send_message(self, user_id: int, text: str, *, chat_type: str = "private",
                     chat_id: int | None = None) -> dict[str, Any]:
        """The user sends `text` (privately, or in group `chat_id`). A leading command gets its
        bot_command entity, as Telegram adds it. Returns the update."""
        chat, message = self._user_message(user_id, chat_type, chat_id)
        message["text"] = text
        command = _COMMAND.match(text)
        if command:
            length = _utf16_len(command.group())
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        chat.transcript.append(f"{user_id}: {_short(text, 200)}")
        return self._push({"message": message}, chat)

    def send_location(self, user_id: int, latitude: float, longitude: float) -> dict[str, Any]:
        chat, message = self._user_message(user_id, "private", None)
        message["location"] = {"latitude": float(latitude), "longitude": float(longitude)}
        chat.transcript.append(f"{user_id}: [location {latitude:.3f}, {longitude:.3f}]")
        return self._push({"message": message}, chat)

    def edit_message(self, user_id: int, message_id: int, text: str) -> dict[str, Any]:
        """The user edits one of their own messages: an edited_message update."""
        chat = self._chats.get(user_id)
        message = chat.messages.get(message_id) if chat else None
        if message is None or message["from"]["id"] != user_id or "text" not in message:
            raise ValueError(f"user {user_id} has no text message {message_id}")
        message.update(text=text, edit_date=int(time.time()))
        message.pop("entities", None)
        chat.transcript.append(f"{user_id} (edits {message_id}): {_short(text)}")
        return self._push({"edited_message": message}, chat)

    def press_button(self, user_id: int, message_id: int, callback_data: str, *,
                     strict: bool = True) -> dict[str, Any]:
        """The user taps an inline button of a bot message: a callback_query update. With
        `strict`, the message must show a button with that data now."""
        chat = self._chats.get(user_id)
        message = chat.messages.get(message_id) if chat else None
        if chat is None or message is None:
            raise AssertionError(f"no message {message_id} in chat {user_id}")
        buttons = [b for row in (message.get("reply_markup") or {}).get("inline_keyboard", []) for b in row]
        if strict and not any(b.get("callback_data") == callback_data for b in buttons):
            raise AssertionError(f"message {message_id} has no button with data {callback_data!r}; "
                                 f"buttons: {[(b.get('text'), b.get('callback_data')) for b in buttons]}")
        query_id = f"{next(self._query_ids)}{user_id}"
        self._queries[query_id] = {"user_id": user_id, "data": callback_data, "answered": False}
        labels = (b.get("text") for b in buttons if b.get("callback_data") == callback_data)
        label = next(labels, callback_data)
        chat.transcript.append(f"{user_id}: [tap {label!r}]")
        query = {"id": query_id, "from": self.register_user(user_id), "message": message,
                 "chat_instance": str(chat.id), "data": callback_data}
        return self._push({"callback_query": query}, chat)

    # ---------------------------------------------------------------- what the bot did

    def messages_to(self, chat_id: int) -> list[BotMessage]:
        """Everything the bot sent or edited in the chat, in order (an edit is a new record)."""
        chat = self._chats.get(chat_id)
        return list(chat.records) if chat else []

    def current_messages(self, chat_id: int) -> list[BotMessage]:
        """The latest version of each bot message in the chat, oldest first."""
        chat = self._chats.get(chat_id)
        return [chat.latest[mid] for mid in chat.bot_message_ids] if chat else []

    def all_messages(self) -> Iterable[BotMessage]:
        for chat in self._chats.values():
            yield from chat.records

    def last_message_to(self, chat_id: int) -> BotMessage | None:
        chat = self._chats.get(chat_id)
        return chat.records[-1] if chat and chat.records else None

    def mark(self, chat_id: int) -> int:
        """A place in the chat's records, for `wait_for_message(since=...)`."""
        chat = self._chats.get(chat_id)
        return len(chat.records) if chat else 0

    def calls_of(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    @property
    def pending_updates(self) -> int:
        """Updates the bot has not confirmed yet (getUpdates offset, or a webhook's 2xx), or not
        handled in-process."""
        return len(self._pending)

    def transcript(self, chat_id: int) -> str:
        chat = self._chats.get(chat_id)
        return "\n".join(chat.transcript) if chat else "(no conversation)"

    # ---------------------------------------------------------------- waiting for the bot

    async def settle(self, chat_id: int | None = None, *, timeout: float = 10.0) -> None:
        """Return once the bot has handled everything pushed so far (`chat_id` matters only
        over HTTP, where "done" can only be guessed from silence)."""
        await self._let_bot_work()

    async def _let_bot_work(self) -> None:
        """In-process, the bot handles what is queued now; over HTTP it needs no invitation."""
        if self.driver is not None:
            await self.driver.settle()

    async def wait_for_message(self, chat_id: int, *, count: int = 1, timeout: float = 5.0,
                               since: int | None = None) -> list[BotMessage]:
        """The next `count` bot messages (sends or edits) in the chat.

        "Next" is after what the test last waited for, reset whenever a user acts in the chat,
        so `send_message(...)` then `wait_for_message(...)` returns the reply; or after `since`
        (a `mark`)."""
        await self._let_bot_work()
        chat = self._chat(chat_id)
        start = chat.cursor if since is None else since
        target = start + count
        if len(chat.records) < target:
            if not self.realtime:
                got = len(chat.records) - start
                self._timed_out(f"{count} new bot message(s) in chat {chat_id}, got {got}", chat_id)
            waiter = (target, asyncio.get_running_loop().create_future())
            chat.waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter[1], timeout)
            except TimeoutError:
                self._timed_out(f"{count} new bot message(s) in chat {chat_id} for {timeout} s, "
                                f"got {len(chat.records) - start}", chat_id)
            finally:
                chat.waiters.remove(waiter)
        chat.cursor = max(chat.cursor, target)
        return chat.records[start:target]

    async def wait_for_callback_answer(self, query_id: str, *, timeout: float = 5.0) -> CallbackAnswer:
        await self._let_bot_work()
        answer = next((a for a in self.callback_answers if a.query_id == query_id), None)
        if answer is not None:
            return answer
        if not self.realtime:
            self._timed_out(f"answerCallbackQuery({query_id!r})", None)
        future = self._answer_waiters.setdefault(query_id, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            self._timed_out(f"answerCallbackQuery({query_id!r}) for {timeout} s", None)

    async def wait_for_call(self, method: str, predicate: Callable[[ApiCall], bool] | None = None, *,
                            timeout: float = 5.0) -> ApiCall:
        """The bot's next call of `method` (matching `predicate`)."""

        def check(call: ApiCall) -> bool:
            return call.method.lower() == method.lower() and (predicate is None or predicate(call))

        if not self.realtime:
            since = len(self.calls)
            await self._let_bot_work()
            found = next((call for call in self.calls[since:] if check(call)), None)
            return found if found is not None else self._timed_out(f"a call of {method}", None)
        waiter = (check, asyncio.get_running_loop().create_future())
        self._call_waiters.append(waiter)
        try:
            return await asyncio.wait_for(waiter[1], timeout)
        except TimeoutError:
            self._timed_out(f"a call of {method} for {timeout} s", None)
        finally:
            self._call_waiters.remove(waiter)

    def _timed_out(self, what: str, chat_id: int | None) -> NoReturn:
        lines = [f"waited for {what}"]
        lines += [f"BUG IN THE SIMULATION: {error!r}" for error in self.server_errors[-3:]]
        if chat_id is not None:
            conversation = self.transcript(chat_id).replace("\n", "\n  ")
            lines.append(f"conversation in chat {chat_id}:\n  {conversation}")
        failed = [c for c in self.calls if not c.ok][-5:]
        lines += [f"failed call: {c.method} -> {c.status} {c.error}" for c in failed]
        raise AssertionError("\n".join(lines))

    # ---------------------------------------------------------------- failures on command

    def fail_next(self, method: str, *, status: int = 500, description: str | None = None,
                  retry_after: int | None = None, times: int = 1, chat_id: int | None = None) -> None:
        """The next `times` calls of `method` (to `chat_id`, if given) fail with `status`, with
        no effect. A 429 carries retry_after (default 1 s)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = _DEFAULT_DESCRIPTIONS.get(status, f"Error {status}").format(retry_after=retry_after)
        self._faults.append(_Fault(method.lower(), times, chat_id, status, description, retry_after))

    def drop_next(self, method: str, times: int = 1, *, after: bool = False,
                  chat_id: int | None = None) -> None:
        """The connection of the next `times` calls of `method` drops without an answer. With
        `after`, the call takes effect first (the message is sent) and only the answer is lost."""
        self._faults.append(_Fault(method.lower(), times, chat_id, drop=True, after=after))

    def hold_next(self, method: str, seconds: float, *, chat_id: int | None = None) -> None:
        """The next call of `method` takes effect, but its answer comes `seconds` late (a client
        with a shorter read timeout gives up on a message that did arrive)."""
        self._faults.append(_Fault(method.lower(), 1, chat_id, hold=seconds))

    # ---------------------------------------------------------------- the Bot API

    async def call(self, token: str, method: str, params: dict[str, Any],
                   files: Mapping[str, Upload] | None = None) -> ApiCall:
        """Answer one Bot API request; the transport turns the recorded call into its reply."""
        name, handler = self._methods.get(method.lower(), (method, None))
        call = ApiCall(name, params, dict(files or {}), time.time(), reply_to=REPLYING_TO.get())
        if self.keep_calls:
            self.calls.append(call)
        self.stats.requests += 1
        fault = self._take_fault(method.lower(), params)
        try:
            if token != self.token:
                raise BotApiError(401, "Unauthorized")
            if fault is not None and fault.drop and not fault.after:
                return self._dropped(call)
            if fault is not None and not fault.drop and not fault.hold:
                self.stats.injected_failures += 1
                raise BotApiError(fault.status, fault.description, fault.retry_after)
            if handler is None:
                raise BotApiError(404, "Not Found")
            result = handler(params, call.files)
            call.result = await result if inspect.isawaitable(result) else result
        except BotApiError as error:
            call.status, call.error, call.retry_after = error.status, error.description, error.retry_after
        except Exception as error:  # a bug here, not in the bot: say so in failures
            self.server_errors.append(error)
            call.status, call.error = 500, f"Internal Server Error: {error!r}"
        if fault is not None and fault.drop:
            return self._dropped(call)
        self._notify(call)
        if fault is not None and fault.hold:
            await asyncio.sleep(fault.hold)
        return call

    def take_updates(self) -> list[dict[str, Any]]:
        """For an in-process bot: every queued update, in order, taken off the queue."""
        updates = list(self._pending)
        self._pending.clear()
        return updates

    def close(self) -> None:
        """Answer long polls at once from now on (the server is shutting down)."""
        self._closing = True
        self._wake_pollers()
        self._webhook_news.set()

    # ---------------------------------------------------------------- the webhook's queue

    def next_for_webhook(self) -> dict[str, Any] | None:
        """The update to post to the webhook now: the oldest not confirmed (one at a time, in
        order). Kinds the webhook did not ask for are dropped: Telegram never sends them."""
        while self.webhook is not None and self._pending and not self._closing:
            update = self._pending[0]
            if _wanted(update, self.webhook.allowed_updates):
                return update
            self._pending.popleft()
        return None

    def confirm_webhook_update(self, update_id: int) -> None:
        """The webhook answered 2xx: the update is delivered and never posted again."""
        for update in self._pending:
            if update["update_id"] == update_id:
                self._pending.remove(update)
                return

    # ---------------------------------------------------------------- internals: updates

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat(chat_id)
        return chat

    def _user_message(self, user_id: int, chat_type: str,
                      chat_id: int | None) -> tuple[_Chat, dict[str, Any]]:
        user = self.register_user(user_id)
        if chat_type == "private" and chat_id not in (None, user_id):
            raise ValueError("a private chat's id is the user's id")
        target = user_id if chat_type == "private" else chat_id
        if target is None:
            raise ValueError(f"a {chat_type} chat needs its chat_id")
        chat = self._chat(target)
        if not chat.known:
            self.register_chat(target, chat_type=chat_type)
        message = {"message_id": chat.take_message_id(), "from": user, "chat": chat.info,
                   "date": int(time.time())}
        chat.messages[message["message_id"]] = message
        return chat, message

    def _push(self, update: dict[str, Any], chat: _Chat) -> dict[str, Any]:
        # As it goes out on the wire: JSON, and never changed by what happens to the message later.
        update = json.loads(json.dumps(update))
        update["update_id"] = self._next_update_id
        self._next_update_id += 1
        self._numbers[id(update)] = len(self.updates)  # kept alive by `updates`: the id stays its own
        self._pending.append(update)
        self.updates.append(update)
        chat.cursor = len(chat.records)  # the reply to this comes next
        self._wake_pollers()
        self._webhook_news.set()
        return update

    def _wake_pollers(self) -> None:
        future, self._poll_wakeup = self._poll_wakeup, None
        if future is not None and not future.done():
            future.set_result(None)

    async def _get_updates(self, p: dict[str, Any], _files: Any) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise BotApiError(409, WEBHOOK_CONFLICT)
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()  # a newer poll ends an older one with 409, as on Telegram
        offset = int(p.get("offset") or 0)
        # An offset confirms everything before it; after a restart, only an offset among the new ids.
        restarted = self._restarted_at
        if offset > 0 and (restarted is None or restarted <= offset <= self._next_update_id):
            while self._pending and self._pending[0]["update_id"] < offset:
                self._pending.popleft()
        limit = min(max(int(p.get("limit") or 100), 1), 100)
        allowed = p.get("allowed_updates") or None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(p.get("timeout") or 0)
        while True:
            if self.webhook is not None:  # set while this poll waited
                raise BotApiError(409, WEBHOOK_CONFLICT)
            batch = [u for u in self._pending if _wanted(u, allowed)][:limit]
            if batch or self._closing:
                return batch
            if generation != self._poll_generation:
                raise BotApiError(409, "Conflict: terminated by other getUpdates request; make sure that "
                                       "only one bot instance is running")
            if loop.time() >= deadline:
                return []
            if self._poll_wakeup is None:
                self._poll_wakeup = loop.create_future()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._poll_wakeup), deadline - loop.time())

    def _set_webhook(self, p: dict[str, Any], _files: Any) -> bool:
        url = str(p.get("url") or "")
        if not url:  # an empty url removes the webhook, as deleteWebhook does
            return self._delete_webhook(p, _files)
        # Telegram wants HTTPS on port 443, 80, 88 or 8443; the simulation posts to any http(s) URL
        # (the bot under test listens on 127.0.0.1).
        if not re.match(r"^https?://[^/\s]+(/\S*)?$", url):
            raise _bad("bad webhook: Failed to resolve host: Name or service not known")
        secret = p.get("secret_token")
        if secret is not None and not _SECRET_TOKEN.match(str(secret)):
            raise _bad("secret token contains unallowed characters")
        previous = self.webhook.allowed_updates if self.webhook else None
        allowed = p.get("allowed_updates", previous)  # absent: as set before, as on Telegram
        if p.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = Webhook(url, None if secret is None else str(secret), allowed or None)
        self._wake_pollers()  # a long poll waiting now ends with 409
        self._webhook_news.set()
        return True

    def _delete_webhook(self, p: dict[str, Any], _files: Any) -> bool:
        self.webhook = None
        if p.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _get_webhook_info(self, p: dict[str, Any], _files: Any) -> dict[str, Any]:
        info: dict[str, Any] = {"url": "", "has_custom_certificate": False,
                                "pending_update_count": len(self._pending)}
        if self.webhook is not None:
            info.update(url=self.webhook.url, max_connections=1)  # one update at a time, in order
            if self.webhook.allowed_updates is not None:
                info["allowed_updates"] = self.webhook.allowed_updates
        return info

    def _set_my_commands(self, p: dict[str, Any], _files: Any) -> bool:
        commands = p.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("can't parse commands JSON object")
        for command in commands:
            if not _COMMAND_NAME.match(str(command.get("command"))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description") or "")) <= 256:
                raise _bad("BOT_COMMAND_DESCRIPTION_INVALID")
        scope = p.get("scope") or {"type": "default"}
        if scope.get("type") == "chat" and not self._chat(scope.get("chat_id")).known:
            raise _bad("chat not found")  # as Telegram: a chat's menu needs a chat with the bot
        self.commands[self.menu_key(scope, p.get("language_code"))] = commands
        return True

    @staticmethod
    def menu_key(scope: dict[str, Any] | None = None, language_code: str | None = None) -> str:
        """Where `commands` keeps the menu set for a scope (default: everyone) and language."""
        return json.dumps([scope or {"type": "default"}, language_code or ""], sort_keys=True)

    # ---------------------------------------------------------------- internals: the bot's messages

    def _target(self, p: Mapping[str, Any]) -> _Chat:
        chat_id = p.get("chat_id")
        chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None or not chat.known:
            if chat_id in self._users:
                raise BotApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise _bad("chat not found")
        if chat.blocked:
            raise BotApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    def _visible(self, raw: Any, parse_mode: Any, *, caption: bool = False) -> str:
        """The text the user will see, or Telegram's refusal."""
        raw = "" if raw is None else str(raw)
        if parse_mode is None or parse_mode == "":
            text = raw
        elif str(parse_mode).lower() == "html":
            text, error = _parsed_html(raw)
            if error is not None:
                raise _bad(f"can't parse entities: {error}")
        else:
            raise _bad(f"unsupported parse_mode {parse_mode!r} (the simulation knows HTML only)")
        text = text.strip()  # as Telegram does
        if caption and len(text) > MAX_CAPTION_LENGTH:
            raise _bad("message caption is too long")
        if not caption and not text:
            raise _bad("message text is empty")
        if not caption and len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        return text

    def _markup(self, p: Mapping[str, Any]) -> dict[str, Any] | None:
        markup = p.get("reply_markup")
        if not markup:
            return None
        rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad("the simulation knows inline keyboards only")
        if sum(len(row) for row in rows) > 100:
            raise _bad("reply markup is too long")
        for button in (b for row in rows for b in row):
            if not isinstance(button.get("text"), str) or not button["text"]:
                raise _bad("can't parse inline keyboard button: Text must be a non-empty String")
            if "callback_data" in button:
                if not 1 <= len(str(button["callback_data"]).encode()) <= MAX_CALLBACK_DATA_BYTES:
                    raise _bad("BUTTON_DATA_INVALID")
            elif "url" in button:
                if not re.match(r"^(https?|tg)://\S+$", str(button["url"])):
                    raise _bad(f"inline keyboard button URL '{button['url']}' is invalid: Wrong HTTP URL")
            else:
                raise _bad("can't parse inline keyboard button: a button needs callback_data or a url")
        return {"inline_keyboard": rows}

    def _check_flood(self, chat: _Chat) -> None:
        if not self.enforce_limits:
            return
        now = self._clock()
        retry = 0.0
        limits = [(self._global_flood, self.global_limit)]
        if chat.type == "private":
            limits.append((chat.flood, self.chat_limit))
        for sent, (most, window) in limits:
            while sent and now - sent[0] >= window:
                sent.popleft()
            if len(sent) >= most:
                retry = max(retry, window - (now - sent[0]))
        if retry > 0:
            self.stats.rate_limited += 1
            seconds = max(1, math.ceil(retry))
            raise BotApiError(429, f"Too Many Requests: retry after {seconds}", seconds)
        for sent, _ in limits:
            sent.append(now)

    def _new_message(self, chat: _Chat, method: str, p: Mapping[str, Any], *, text: str | None = None,
                     caption: str | None = None, markup: dict[str, Any] | None = None,
                     file: SentFile | None = None) -> dict[str, Any]:
        self._check_flood(chat)
        now = time.time()
        message: dict[str, Any] = {"message_id": chat.take_message_id(), "from": self.bot_user,
                                   "chat": chat.info, "date": int(now)}
        if text is not None:
            message["text"] = text
        if caption:
            message["caption"] = caption
        if file is not None:
            message[file.kind] = file.as_telegram()
        if markup is not None:
            message["reply_markup"] = markup
        chat.messages[message["message_id"]] = message
        chat.bot_message_ids.append(message["message_id"])
        html = p.get("text") if text is not None else p.get("caption")
        self.stats.messages_sent += 1
        self._record(chat, BotMessage(chat.id, message["message_id"], method, text, html, markup,
                                      [file] if file else [], now, caption=caption,
                                      reply_to=REPLYING_TO.get()))
        return message

    def _record(self, chat: _Chat, record: BotMessage) -> None:
        chat.records.append(record)
        chat.latest[record.message_id] = record
        chat.transcript.append(f"bot{' (edit)' if record.edited else ''}: {_short(record.content, 200)}"
                               + (f"  {record.buttons}" if record.buttons else ""))
        for target, future in chat.waiters:
            if len(chat.records) >= target and not future.done():
                future.set_result(None)

    def _send_message(self, p: dict[str, Any], _files: Any) -> dict[str, Any]:
        text = self._visible(p.get("text"), p.get("parse_mode"))
        markup = self._markup(p)
        return self._new_message(self._target(p), "sendMessage", p, text=text, markup=markup)

    def _send_file(self, kind: str, p: dict[str, Any], files: Mapping[str, Upload]) -> dict[str, Any]:
        caption = self._visible(p.get("caption"), p.get("parse_mode"), caption=True)
        markup = self._markup(p)
        chat = self._target(p)
        upload = files.get(kind) or files.get(str(p.get(kind, "")).removeprefix("attach://"))
        if upload is None or not upload.data:
            raise _bad(f"there is no {kind} in the request")
        sent = SentFile(kind, f"{kind}{next(self._file_ids)}", upload.filename, upload.mime_type, upload.data)
        method = "sendPhoto" if kind == "photo" else "sendDocument"
        return self._new_message(chat, method, p, caption=caption, markup=markup, file=sent)

    def _edit_message_text(self, p: dict[str, Any], _files: Any) -> dict[str, Any]:
        text = self._visible(p.get("text"), p.get("parse_mode"))
        markup = self._markup(p)
        chat = self._target(p)
        message = chat.messages.get(p.get("message_id"))
        if message is None:
            raise _bad("message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise _bad("message can't be edited")
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        previous = chat.latest[message["message_id"]]
        if (previous.html, message.get("reply_markup")) == (p.get("text"), markup):
            raise BotApiError(400, NOT_MODIFIED)
        message.update(text=text, edit_date=int(time.time()))
        if markup is None:  # an edit without a keyboard removes it, as on Telegram
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup
        self.stats.messages_edited += 1
        self._record(chat, BotMessage(chat.id, message["message_id"], "editMessageText", text, p.get("text"),
                                      markup, previous.files, time.time(), edited=True,
                                      reply_to=REPLYING_TO.get()))
        return message

    def _answer_callback_query(self, p: dict[str, Any], _files: Any) -> bool:
        query_id = str(p.get("callback_query_id"))
        query = self._queries.get(query_id)
        if query is None or query["answered"]:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        if len(p.get("text") or "") > 200:
            raise _bad("MESSAGE_TOO_LONG")
        query["answered"] = True
        answer = CallbackAnswer(query_id, p.get("text"), bool(p.get("show_alert")), query["data"],
                                query["user_id"], time.time(), REPLYING_TO.get())
        self.callback_answers.append(answer)
        future = self._answer_waiters.pop(query_id, None)
        if future is not None and not future.done():
            future.set_result(answer)
        return True

    # ---------------------------------------------------------------- internals: faults

    def _take_fault(self, method: str, params: Mapping[str, Any]) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(method, params):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _dropped(self, call: ApiCall) -> ApiCall:
        call.status, call.error = 0, "connection dropped"
        self.stats.dropped += 1
        self._notify(call)
        return call

    def _notify(self, call: ApiCall) -> None:
        for check, future in self._call_waiters:
            if not future.done() and check(call):
                future.set_result(call)


# --------------------------------------------------------------------------------------------
# A user
# --------------------------------------------------------------------------------------------


class FakeUser:
    """One user in their private chat with the bot."""

    def __init__(self, api: FakeTelegram, user_id: int) -> None:
        self.api = api
        self.id = user_id

    @property
    def inbox(self) -> list[BotMessage]:
        """Everything the bot sent or edited in this chat, in order."""
        return self.api.messages_to(self.id)

    @property
    def last_message(self) -> BotMessage | None:
        return self.api.last_message_to(self.id)

    def send(self, text: str, *, chat_id: int | None = None) -> dict[str, Any]:
        """Send without waiting; returns the update. `chat_id`: in that group instead."""
        if chat_id is None or chat_id == self.id:
            return self.api.send_message(self.id, text)
        group = self.api._chat(chat_id)
        return self.api.send_message(self.id, text, chat_type=group.type if group.known else "group",
                                     chat_id=chat_id)

    async def say(self, text: str, *, count: int = 1, timeout: float = 5.0) -> list[BotMessage]:
        """Send, and return the bot's next `count` messages."""
        self.send(text)
        return await self.api.wait_for_message(self.id, count=count, timeout=timeout)

    async def tap(self, label: str, *, count: int = 1, timeout: float = 5.0,
                  message: BotMessage | None = None) -> list[BotMessage]:
        """Tap the button with this label in the latest message with buttons (or in `message`);
        return the bot's next `count` messages (an edit counts). `count=0`: wait only for the
        tap to be answered."""
        if message is None:
            with_buttons = [m for m in self.api.current_messages(self.id) if m.inline_keyboard]
            if not with_buttons:
                transcript = self.api.transcript(self.id)
                raise AssertionError(f"no message with buttons in chat {self.id}\n{transcript}")
            message = with_buttons[-1]
        else:
            message = self.api._chat(self.id).latest.get(message.message_id, message)
        button = message.button(label)
        if "callback_data" not in button:
            raise AssertionError(f"button {label!r} opens a link; it cannot be tapped here")
        update = self.api.press_button(self.id, message.message_id, button["callback_data"])
        if count == 0:
            await self.api.wait_for_callback_answer(update["callback_query"]["id"], timeout=timeout)
            return []
        return await self.api.wait_for_message(self.id, count=count, timeout=timeout)

    async def wait_for_reply(self, *, count: int = 1, timeout: float = 5.0) -> list[BotMessage]:
        """Messages the user did not just ask for (reminders, a retried send)."""
        return await self.api.wait_for_message(self.id, count=count, timeout=timeout)

    def block(self) -> None:
        self.api.block(self.id)

    def unblock(self) -> None:
        self.api.unblock(self.id)

    def __repr__(self) -> str:
        return f"<FakeUser {self.id}>"


def _wanted(update: Mapping[str, Any], allowed: list[str] | None) -> bool:
    return allowed is None or any(kind in allowed for kind in update)


@functools.lru_cache(maxsize=4096)
def _parsed_html(raw: str) -> tuple[str, str | None]:
    """`parse_html`, remembered: bots send the same screens again and again."""
    try:
        return parse_html(raw), None
    except HtmlError as error:
        return "", str(error)


def _short(text: str | None, limit: int = 60) -> str:
    text = text or ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


__all__ = [
    "DEFAULT_TOKEN", "ApiCall", "ApiStats", "BotApiError", "BotMessage", "CallbackAnswer", "Driver",
    "FakeTelegram", "FakeUser", "SentFile", "Upload", "Webhook",
]
