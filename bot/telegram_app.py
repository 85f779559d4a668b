"""The Telegram adapter: updates in, engine events; the engine's replies out, Telegram messages.

Nothing clinical is decided here. One `main`-style builder (`build_application`) wires the
handlers; each handler is short and named after what it answers. The engine's replies are data;
they are drawn here (`render_reply`) and sent as HTML (the application's `Defaults`).

Updates come in through `bot.intake` (kept in the inbox before Telegram is told they arrived,
then one chat at a time), from our own polling loop (`poll`) or a webhook (`serve_webhook`);
the store's writes are synced on a thread of their own, so no disk ever holds up the event loop.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from dataclasses import replace

import aiohttp
from aiohttp import web
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError, TimedOut
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.bot_api_client import AiohttpRequest
from bot.intake import Durably, Intake
from bot.scheduler import ReminderScheduler
from conversations.engine import COMMANDS, Engine
from conversations.messages import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    Screen,
    language_for,
    render,
    render_reply,
    template_module,
)
from conversations.replies import Drawing, Event, Reply

log = logging.getLogger(__name__)
TICK_SECONDS = 20  # how often the reminder scheduler looks for what has fallen due
RETRY_PAUSES = (1, 2, 4)  # seconds between attempts when the network fails
PRIVATE = filters.ChatType.PRIVATE
# Every message is the HTML our templates render; a link in it is never worth a preview.
DEFAULTS = Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
ALLOWED_UPDATES = ["message", "callback_query"]  # edited messages are ignored by design


REPLY = "reply"  # rate_limit_args for an answer to a runner's own message (see PacedRateLimiter)


async def sleep(seconds: float) -> None:
    """The adapter's own waits (retry backoff, per-chat pacing) all go through here, so that tests
    can record the pauses the bot asks for instead of sleeping through them."""
    await asyncio.sleep(seconds)


class PacedRateLimiter(AIORateLimiter):
    """python-telegram-bot's limiter (retrying after a 429 as Telegram asks), plus what it
    leaves out: at most one message a second to each private chat.

    Broadcasts (reminders, announcements) are paced evenly just under Telegram's 30 messages a
    second (a burst of 30 at once would overrun a one-second window). Answers to a runner's own
    message are not: that limit is for bulk sending, and holding replies behind a queue of
    reminders would make the bot feel slow.
    """

    MESSAGES_PER_SECOND = 29

    def __init__(self, max_retries: int = 3, per_chat_seconds: float = 1.0) -> None:
        super().__init__(
            overall_max_rate=1, overall_time_period=1 / self.MESSAGES_PER_SECOND, max_retries=max_retries
        )
        self.per_chat_seconds = per_chat_seconds
        self._next_slot: dict[int, float] = {}

    async def process_request(self, callback, args, kwargs, endpoint, data, rate_limit_args):
        chat_id = data.get("chat_id")
        if endpoint.startswith("send") and isinstance(chat_id, int) and chat_id > 0:
            await self._wait_for_chat(chat_id)
        if rate_limit_args == REPLY:  # no chat id: the library then skips its overall limiter
            data, rate_limit_args = {k: v for k, v in data.items() if k != "chat_id"}, None
        return await super().process_request(callback, args, kwargs, endpoint, data, rate_limit_args)

    async def _wait_for_chat(self, chat_id: int) -> None:
        now = asyncio.get_running_loop().time()
        slot = max(now, self._next_slot.get(chat_id, now))
        self._next_slot[chat_id] = slot + self.per_chat_seconds  # reserve before sleeping
        if len(self._next_slot) > 50_000:  # forget chats that have long been quiet
            self._next_slot = {c: t for c, t in self._next_slot.items() if t > now}
        if slot > now:
            await sleep(slot - now)


def keyboard(screen: Screen) -> InlineKeyboardMarkup | None:
    if not screen.buttons:
        return None
    rows = [
        [InlineKeyboardButton(key.label, callback_data=key.data, url=key.url) for key in row]
        for row in screen.buttons
    ]
    return InlineKeyboardMarkup(rows)


def split_message(html: str, limit: int = MessageLimit.MAX_TEXT_LENGTH) -> list[str]:
    """Split at line breaks so that no part is over Telegram's limit."""
    parts: list[str] = []
    current = ""
    for line in _short_lines(html, limit):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        parts.append(current)
    return parts


def _short_lines(html: str, limit: int):
    # Templates keep tags within short lines; a line over the limit is a runner's own (escaped)
    # text, cut at a space and never through an entity such as &amp;.
    for line in html.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            entity = line.rfind("&", 0, cut)
            if entity > 0 and ";" not in line[entity:cut]:
                cut = entity
            yield line[:cut]
            line = line[cut:].lstrip(" ")
        yield line


def merged(screens: list[Screen]) -> list[Screen]:
    """Join plain text screens onto the next one: one message instead of a burst (Telegram
    paces each chat to about one message a second)."""
    out: list[Screen] = []
    carry = ""
    for screen in screens:
        if screen.html and not (screen.buttons or screen.edit or screen.document or screen.photo):
            carry = f"{carry}\n\n{screen.html}" if carry else screen.html
            continue
        if carry and screen.html and not screen.edit:
            screen = replace(screen, html=f"{carry}\n\n{screen.html}")
            carry = ""
        out.append(screen)
    if carry:
        out.append(Screen(carry))
    return out


def may_have_arrived(error: TimedOut) -> bool:
    """A timeout waiting for Telegram's answer, not for a connection: the request went out."""
    return not isinstance(error.__cause__, aiohttp.ConnectionTimeoutError)


async def with_retry(call, *args, **kwargs):
    """One Bot API call, retried with backoff when the network fails; a refusal from Telegram
    (bad request, blocked) is final and goes up at once. One call at a time, so a retry never
    sends an earlier message of the same reply again. A message whose request timed out after it
    went out is taken as sent: Telegram has no idempotency key, and sending it again would show
    it twice."""
    for pause in (*RETRY_PAUSES, None):
        try:
            return await call(*args, **kwargs)
        except (BadRequest, Forbidden):
            raise
        except TimedOut as error:
            if call.__name__.startswith("send") and may_have_arrived(error):
                log.warning("%s timed out after it went out; not sending it again", call.__name__)
                return None
            if pause is None:
                raise
            log.info("%s timed out; retrying in %d s", call.__name__, pause)
            await sleep(pause)
        except NetworkError:
            if pause is None:
                raise
            log.info("network error calling %s; retrying in %d s", call.__name__, pause)
            await sleep(pause)
    return None


def reply_limits(bot, broadcast: bool) -> str | None:
    """The rate_limit_args for a send: the library refuses any without a limiter."""
    return REPLY if bot.rate_limiter is not None and not broadcast else None


def drawn(bot, replies: list[Reply], lang: str) -> list[Screen]:
    """The engine's replies as screens in the reader's language; invite links carry this bot's
    username."""
    return merged([render_reply(reply, lang, bot_username=bot.username) for reply in replies])


async def deliver(bot, chat_id: int, replies: list[Reply], lang: str, query=None, *,
                  broadcast: bool = False) -> None:
    """Send the engine's replies to one chat (editing the tapped message where asked).

    `broadcast` marks messages the runner did not just ask for (reminders, announcements).
    """
    limits = reply_limits(bot, broadcast)
    for screen in drawn(bot, replies, lang):
        if screen.document is not None or screen.photo is not None:
            await send_file(bot, chat_id, screen, limits)  # the text goes with it, as its caption
        elif screen.html and screen.edit and editable(query):
            try:
                await with_retry(
                    bot.edit_message_text, screen.html, chat_id=chat_id,
                    message_id=query.message.message_id, reply_markup=keyboard(screen),
                    rate_limit_args=limits,
                )
            except BadRequest as error:
                if "not modified" not in str(error).lower():
                    raise
        elif screen.html:
            parts = split_message(screen.html)
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                markup = keyboard(screen) if last else None
                await with_retry(bot.send_message, chat_id, part, reply_markup=markup, rate_limit_args=limits)


def editable(query) -> bool:
    """A tap's message can be redrawn only if it is a text message the bot can still reach (a
    tap may come from under a chart or a file, or from a message too old to edit)."""
    return query is not None and bool(getattr(query.message, "text", None))


async def send_file(bot, chat_id: int, screen: Screen, limits: str | None) -> None:
    caption = screen.html if len(screen.html) <= MessageLimit.CAPTION_LENGTH else None
    if caption is None and screen.html:
        await with_retry(bot.send_message, chat_id, screen.html, rate_limit_args=limits)
    if screen.photo is not None:
        await with_retry(bot.send_photo, chat_id, photo=await drawn_file(screen.photo), caption=caption,
                         reply_markup=keyboard(screen), rate_limit_args=limits)
    else:
        name, content = screen.document
        await with_retry(bot.send_document, chat_id, document=await drawn_file(content), filename=name,
                         caption=caption, reply_markup=keyboard(screen), rate_limit_args=limits)


async def drawn_file(content: bytes | Drawing) -> bytes:
    """A chart or PDF drawn on a thread of its own: neither the event loop nor the engine waits."""
    return await asyncio.to_thread(content.draw) if isinstance(content, Drawing) else content


async def send_replies(update: Update, context: ContextTypes.DEFAULT_TYPE, replies: list[Reply],
                       lang: str) -> None:
    query = update.callback_query
    if query is not None:
        notice = next((render(reply.notice, lang=lang) for reply in replies if reply.notice), None)
        try:
            await with_retry(context.bot.answer_callback_query, query.id, notice,
                             rate_limit_args=reply_limits(context.bot, False))
        except TelegramError as error:  # only the tap's spinner: the reply itself matters more
            log.info("could not acknowledge a tap: %s", error)
    await deliver(context.bot, update.effective_chat.id, replies, lang, query)


async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE, event: Event) -> None:
    engine: Engine = context.bot_data["engine"]
    user = update.effective_user
    event = replace(event, name=user.first_name, language=user.language_code or "")
    outcome = await context.bot_data["durably"](engine.handle, user.id, event)
    if outcome.messages:  # alerts to admins, announcements: from the outbox, whatever the reply does
        context.application.create_task(context.bot_data["scheduler"].flush_outbox())
    if engine.clinic.is_admin(user.id) and user.id not in context.bot_data["menus"]:
        context.application.create_task(set_admin_menu(context.application, user.id))
    await send_replies(update, context, outcome.replies, outcome.lang)


async def command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = update.effective_message.text
    name = text.split()[0][1:].split("@")[0].lower()
    parts = text.split(maxsplit=1)
    argument = parts[1] if len(parts) > 1 else ""  # raw, so an admin's form keeps its lines
    await handle(update, context, Event("command", name, argument, update.update_id))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    name = update.effective_message.text.split()[0][1:].split("@")[0]
    await handle(update, context, Event("command", name, "", update.update_id))


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await handle(update, context, Event("text", update.effective_message.text, "", update.update_id))


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    data = update.callback_query.data or ""
    await handle(update, context, Event("button", data, "", update.update_id))


async def location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    where = update.effective_message.location
    event = Event("location", f"{where.latitude},{where.longitude}", "", update.update_id)
    await handle(update, context, event)


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice and the like: say what works instead."""
    await context.bot_data["intake"].kept()
    await update.effective_message.reply_text(render("common/not_text.j2", lang=sender_language(update)))


async def group_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a group the bot only points to a private chat: health answers are personal."""
    await context.bot_data["intake"].kept()
    await update.effective_message.reply_text(
        render("common/private_only.j2", lang=sender_language(update), username=context.bot.username))


def sender_language(update: Update) -> str:
    """For what is answered without the engine: the sender's Telegram language."""
    user = update.effective_user
    return language_for(user.language_code if user else None)


async def error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat and update.effective_chat.type == "private":
        try:
            clinic = context.bot_data["engine"].clinic
            sorry = render("common/sorry.j2", lang=sender_language(update), clinic=clinic)
            await context.bot.send_message(update.effective_chat.id, sorry)
        except Exception:  # the apology itself failed; the log already has the cause
            log.warning("could not apologise for update %s", update_id)


def command_menu(admin: bool = False, lang: str = DEFAULT_LANGUAGE) -> list[BotCommand]:
    menu = template_module("commands.j2", lang)
    everyone = [BotCommand(name, menu.commands[name]) for name in COMMANDS if name in menu.commands]
    desk = [BotCommand(name, text) for name, text in menu.admin_commands.items()] if admin else []
    return everyone + desk


async def register_commands(application: Application) -> None:
    """The command menu, in each language (Telegram shows a user the one for their app's
    language, English otherwise); the clinic's admins also see the desk's commands."""
    for lang in LANGUAGES:
        await application.bot.set_my_commands(command_menu(lang=lang), language_code=menu_language(lang))
    for admin_id in application.bot_data["engine"].clinic.admin_ids:
        await set_admin_menu(application, admin_id)


def menu_language(lang: str) -> str | None:
    return None if lang == DEFAULT_LANGUAGE else lang  # the default menu is for everyone else


async def set_admin_menu(application: Application, admin_id: int) -> None:
    """Telegram refuses a chat's menu until the admin has opened a chat with the bot: it is tried
    again when they first write."""
    try:
        for lang in LANGUAGES:
            await application.bot.set_my_commands(
                command_menu(admin=True, lang=lang), scope=BotCommandScopeChat(admin_id),
                language_code=menu_language(lang))
        application.bot_data["menus"].add(admin_id)
    except (BadRequest, Forbidden):
        log.warning("an admin has not opened a chat with the bot yet; their menu waits")


async def start_reminders(application: Application) -> None:
    scheduler: ReminderScheduler = application.bot_data["scheduler"]
    await scheduler.load()
    application.job_queue.run_repeating(tick, interval=TICK_SECONDS, first=1, name="reminders")


async def tick(context: ContextTypes.DEFAULT_TYPE) -> None:
    await context.bot_data["scheduler"].tick()


async def on_start(application: Application) -> None:
    """Start-up, before updates are fetched: the menus, the reminders, and the updates the inbox
    kept from before a stop."""
    await register_commands(application)
    await start_reminders(application)
    await application.bot_data["intake"].replay()


def build_application(
    token: str, base_url: str, engine: Engine, *, rate_limited: bool = True, chat_pace: float = 1.0,
    request: BaseRequest | None = None,
) -> Application:
    """The bot. `chat_pace`: seconds between two messages to one chat (Telegram's limit).
    `rate_limited=False` lets tests that are not about pacing run at full speed;
    `request` replaces the HTTP client (tests hand the Bot API calls to a simulated Telegram)."""
    builder = ApplicationBuilder().token(token).base_url(base_url).defaults(DEFAULTS)
    if rate_limited:
        builder = builder.rate_limiter(PacedRateLimiter(max_retries=3, per_chat_seconds=chat_pace))
    if request is not None:
        builder = builder.request(request).get_updates_request(request)
    else:
        builder = builder.request(AiohttpRequest()).get_updates_request(AiohttpRequest(connections=1))
    application = builder.build()
    durably = Durably(engine.store.syncer)
    application.bot_data.update(engine=engine, durably=durably, menus=set())

    async def send(runner_id: int, replies: list[Reply], lang: str) -> None:
        await deliver(application.bot, runner_id, replies, lang, broadcast=True)

    application.bot_data["scheduler"] = ReminderScheduler(engine, send, run=durably)
    application.bot_data["intake"] = Intake(application, engine.store.inbox, engine.store.syncer)
    messages = filters.UpdateType.MESSAGE  # edited messages are ignored by design
    application.add_handler(MessageHandler(~PRIVATE & filters.COMMAND & messages, group_message))
    application.add_handler(CommandHandler(list(COMMANDS), command, filters=PRIVATE & messages))
    application.add_handler(MessageHandler(PRIVATE & messages & filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(PRIVATE & messages & filters.TEXT, text))
    application.add_handler(MessageHandler(PRIVATE & messages & filters.LOCATION, location))
    application.add_handler(MessageHandler(PRIVATE & messages, not_text))
    application.add_handler(CallbackQueryHandler(button))
    application.add_error_handler(error)
    return application


# --- serving: our own polling loop, or a webhook ------------------------------------------------

POLL_TIMEOUT = 30  # seconds a getUpdates call waits for news
POLL_RETRY = 5  # seconds before polling again after the network failed


async def poll(application: Application, *, timeout: int = POLL_TIMEOUT) -> None:
    """Long polling, ours rather than the library's: a batch is confirmed to Telegram (by the
    next getUpdates' offset) only once the intake has kept it, so a crash loses no update."""
    intake: Intake = application.bot_data["intake"]
    offset = None
    while True:
        try:
            updates = await application.bot.get_updates(offset=offset, timeout=timeout,
                                                        allowed_updates=ALLOWED_UPDATES)
        except (NetworkError, TimedOut) as error:
            log.warning("polling failed (%s); trying again in %d s", type(error).__name__, POLL_RETRY)
            await sleep(POLL_RETRY)
            continue
        if updates:
            await intake.receive(list(updates))
            offset = updates[-1].update_id + 1


SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def update_from(data: object, bot) -> Update | None:
    """Telegram's JSON as an Update; None for anything else (python-telegram-bot raises all
    kinds of errors on a body that is not an update)."""
    if not isinstance(data, dict) or type(data.get("update_id")) is not int:
        return None
    try:
        return Update.de_json(data, bot)
    except (TypeError, ValueError, KeyError, AttributeError):
        return None


def webhook_app(application: Application, secret: str) -> web.Application:
    """The webhook: Telegram's secret token checked, and 200 only once the update is kept."""
    intake: Intake = application.bot_data["intake"]

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(given, secret.encode()):  # bytes: any header, never a TypeError
            return web.Response(status=403)
        try:
            update = update_from(await request.json(), application.bot)
        except ValueError:  # not JSON
            update = None
        if update is None:
            return web.Response(status=400)
        await intake.receive([update])
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post(WEBHOOK_PATH, receive)
    return app


WEBHOOK_PATH = "/telegram"


async def serve_webhook(application: Application, url: str, listen: str, port: int,
                        secret: str | None = None) -> None:
    """Telegram posts each update to `url` (ending in /telegram); this listens on listen:port."""
    secret = secret or secrets.token_urlsafe(32)
    runner = web.AppRunner(webhook_app(application, secret))
    await runner.setup()
    try:
        await web.TCPSite(runner, listen, port).start()
        await application.bot.set_webhook(url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
        await asyncio.Event().wait()  # until cancelled
    finally:
        await runner.cleanup()


async def serve(application: Application, *, webhook: str | None = None, listen: str = "0.0.0.0",
                port: int = 8443, secret: str | None = None, poll_timeout: int = POLL_TIMEOUT) -> None:
    """Run the bot until cancelled: start-up, then polling or the webhook; on the way out, every
    update already received is handled first."""
    syncer = application.bot_data["engine"].store.syncer
    async with application:
        syncer.start()  # from here on, writes are grouped and synced off the event loop
        try:
            await on_start(application)
            await application.start()
            if webhook:
                await serve_webhook(application, webhook, listen, port, secret)
            else:
                await application.bot.delete_webhook()
                await poll(application, timeout=poll_timeout)
        finally:
            await application.bot_data["intake"].drain()
            if application.running:
                await application.stop()
            await asyncio.to_thread(syncer.stop)  # what is handed over is written before we go
