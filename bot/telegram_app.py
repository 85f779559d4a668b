"""The Telegram adapter: updates in, `Coach` events; `Reply` objects out, Telegram messages.

Nothing clinical is decided here. One `main`-style builder (`build_application`) wires the
handlers; each handler is short and named after what it answers.
"""

from __future__ import annotations

import logging

from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import MessageLimit, ParseMode
from telegram.error import BadRequest
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from conversations.coach import COMMANDS, Coach, Event, Reply
from conversations.messages import render, template_module

log = logging.getLogger(__name__)
PRIVATE = filters.ChatType.PRIVATE
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    rows = [
        [InlineKeyboardButton(b.label, callback_data=b.data, url=b.url) for b in row]
        for row in reply.buttons
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


async def send_replies(update: Update, context: ContextTypes.DEFAULT_TYPE, replies: list[Reply]) -> None:
    chat_id = update.effective_chat.id
    query = update.callback_query
    notice = next((reply.notice for reply in replies if reply.notice), None)
    if query is not None:
        await query.answer(notice)
    for reply in replies:
        if reply.html and reply.edit and query is not None:
            try:
                await query.edit_message_text(
                    reply.html, parse_mode=ParseMode.HTML, reply_markup=keyboard(reply),
                    link_preview_options=NO_PREVIEW,
                )
            except BadRequest as error:
                if "not modified" not in str(error).lower():
                    raise
        elif reply.html:
            parts = split_message(reply.html)
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                await context.bot.send_message(
                    chat_id, part, parse_mode=ParseMode.HTML,
                    reply_markup=keyboard(reply) if last else None,
                    link_preview_options=NO_PREVIEW,
                )
        if reply.document is not None:
            name, content = reply.document
            await context.bot.send_document(chat_id, document=content, filename=name)


async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE, event: Event) -> None:
    coach: Coach = context.bot_data["coach"]
    replies = coach.handle(update.effective_user.id, event)
    await send_replies(update, context, replies)


async def command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    name = update.effective_message.text.split()[0][1:].split("@")[0].lower()
    argument = " ".join(context.args or [])
    await handle(update, context, Event("command", name, argument, update.update_id))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    name = update.effective_message.text.split()[0][1:].split("@")[0]
    await handle(update, context, Event("command", name, "", update.update_id))


async def text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await handle(update, context, Event("text", update.effective_message.text, "", update.update_id))


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    data = update.callback_query.data or ""
    await handle(update, context, Event("button", data, "", update.update_id))


async def not_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice and the like: say what works instead."""
    await update.effective_message.reply_text(render("common/not_text.j2"), parse_mode=ParseMode.HTML)


async def group_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """In a group the bot only points to a private chat: health answers are personal."""
    await update.effective_message.reply_text(
        render("common/private_only.j2", username=context.bot.username), parse_mode=ParseMode.HTML
    )


async def error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    update_id = update.update_id if isinstance(update, Update) else None
    log.error("update %s failed", update_id, exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat and update.effective_chat.type == "private":
        try:
            await context.bot.send_message(update.effective_chat.id, render("common/sorry.j2"),
                                           parse_mode=ParseMode.HTML)
        except Exception:  # the apology itself failed; the log already has the cause
            log.warning("could not apologise for update %s", update_id)


async def register_commands(application: Application) -> None:
    descriptions = template_module("commands.j2").commands
    await application.bot.set_my_commands(
        [BotCommand(name, descriptions[name]) for name in COMMANDS if name in descriptions]
    )


def build_application(token: str, base_url: str, coach: Coach, *, rate_limited: bool = True) -> Application:
    """The bot. `rate_limited=False` lets tests that are not about pacing run at full speed."""
    builder = ApplicationBuilder().token(token).base_url(base_url).post_init(register_commands)
    if rate_limited:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    application = builder.build()
    application.bot_data["coach"] = coach
    messages = filters.UpdateType.MESSAGE  # edited messages are ignored by design
    application.add_handler(MessageHandler(~PRIVATE & filters.COMMAND & messages, group_message))
    application.add_handler(CommandHandler(list(COMMANDS), command, filters=PRIVATE & messages))
    application.add_handler(MessageHandler(PRIVATE & messages & filters.COMMAND, unknown_command))
    application.add_handler(MessageHandler(PRIVATE & messages & filters.TEXT, text))
    application.add_handler(MessageHandler(PRIVATE & messages, not_text))
    application.add_handler(CallbackQueryHandler(button))
    application.add_error_handler(error)
    return application
