"""The local Bot API server, proven against the real python-telegram-bot stack over HTTP."""

import asyncio
import datetime as dtm
import json
import struct
import zlib
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from tests.local_bot_api import (
    EntityParseError,
    LocalBotApi,
    parse_html,
    parse_markdown_v2,
    polling,
)

ANA = 1001


# ------------------------------------------------------------------------------------------
# A tiny bot: echo, /start with deep-link args, /menu with an inline keyboard, and friends.
# ------------------------------------------------------------------------------------------


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.effective_user is not None
    await update.message.reply_text(
        f"Welcome {update.effective_user.first_name}! args={context.args}"
    )


async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Yes 👍", callback_data="pain:yes"),
                InlineKeyboardButton("No", callback_data="pain:no"),
            ],
            [InlineKeyboardButton("Read more", url="https://example.org/achilles")],
        ]
    )
    await update.message.reply_text(
        "Did your <b>heel</b> hurt today?", reply_markup=keyboard, parse_mode=ParseMode.HTML
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer(f"Noted: {query.data}")
    await query.edit_message_text(f"You answered {query.data.split(':')[1]}")


async def broken(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None
    try:
        await update.message.reply_text("<b>unclosed", parse_mode=ParseMode.HTML)
    except BadRequest as exc:
        await update.message.reply_text(f"fallback: {exc.message}")


async def on_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.edited_message is not None
    await update.edited_message.reply_text(f"edited: {update.edited_message.text}")


async def on_location(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.location is not None
    location = update.message.location
    await update.message.reply_text(f"at {location.latitude:.2f},{location.longitude:.2f}")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.message is not None and update.message.text is not None
    await update.message.reply_text(update.message.text)


def build_app(api: LocalBotApi) -> Application:
    app = api.application_builder().build()
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CommandHandler("broken", broken))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^pain:"))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.TEXT, on_edit))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.LOCATION, on_location))
    app.add_handler(
        MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT & ~filters.COMMAND, echo)
    )
    return app


@pytest.fixture
async def coach(bot_api: LocalBotApi) -> AsyncIterator[Application]:
    app = build_app(bot_api)
    async with polling(app):
        yield app


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# ------------------------------------------------------------------------------------------
# Stories through the real PTB Application (long polling over HTTP)
# ------------------------------------------------------------------------------------------


async def test_a_users_message_is_echoed(bot_api: LocalBotApi, coach: Application) -> None:
    ana = bot_api.user(ANA, first_name="Ana")

    replies = await ana.say("my heel hurts")

    assert replies.text == "my heel hurts"
    assert ana.last_message is not None and ana.last_message.text == "my heel hurts"
    assert [m.text for m in ana.inbox] == ["my heel hurts"]
    methods = [call.method for call in bot_api.calls]
    assert methods[0] == "getMe"
    assert {"deleteWebhook", "getUpdates", "sendMessage"} <= set(methods)
    sent = bot_api.last_call("sendMessage")
    assert sent is not None and sent.params["chat_id"] == ANA


async def test_deep_link_payload_arrives_as_command_args(
    bot_api: LocalBotApi, coach: Application
) -> None:
    ana = bot_api.user(ANA, first_name="Ana")

    replies = await ana.say("/start clinic_42")

    assert replies.text == "Welcome Ana! args=['clinic_42']"
    message = bot_api.updates[-1]["message"]
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]


async def test_tapping_a_button_reaches_the_callback_handler(
    bot_api: LocalBotApi, coach: Application
) -> None:
    ana = bot_api.user(ANA, first_name="Ana")
    question = (await ana.say("/menu")).last
    assert question.text == "Did your heel hurt today?"
    assert question.raw_text == "Did your <b>heel</b> hurt today?"
    assert question.entities == [{"type": "bold", "offset": 9, "length": 4}]
    assert question.buttons == ["Yes 👍", "No", "Read more"]

    replies = await ana.tap("yes 👍")  # matching is case- and space-insensitive

    assert replies.last.edited and replies.last.message_id == question.message_id
    assert replies.text == "You answered yes"
    answer = bot_api.callback_answers[-1]
    assert (answer.text, answer.data, answer.user_id) == ("Noted: pain:yes", "pain:yes", ANA)
    # editMessageText without reply_markup removes the keyboard, as on Telegram
    assert ana.last_message is not None and ana.last_message.inline_keyboard == []
    with pytest.raises(AssertionError, match="no bot message with an inline keyboard"):
        await ana.tap("No")


async def test_tapping_a_missing_button_lists_the_available_ones(
    bot_api: LocalBotApi, coach: Application
) -> None:
    ana = bot_api.user(ANA, first_name="Ana")
    await ana.say("/menu")

    with pytest.raises(AssertionError, match=r"available buttons: \['Yes 👍', 'No', 'Read more'\]"):
        await ana.tap("Maybe")
    with pytest.raises(AssertionError, match="not a callback button"):
        await ana.tap("Read more")


async def test_bad_html_from_a_handler_is_a_bad_request_in_the_bot(
    bot_api: LocalBotApi, coach: Application
) -> None:
    ana = bot_api.user(ANA, first_name="Ana")

    replies = await ana.say("/broken")

    assert replies.text == (
        "fallback: Can't parse entities: can't find end tag corresponding to start tag \"b\""
    )
    failed = [call for call in bot_api.calls if call.status == 400]
    assert len(failed) == 1 and failed[0].params["parse_mode"] == "HTML"


async def test_edited_messages_and_locations_reach_the_bot(
    bot_api: LocalBotApi, coach: Application
) -> None:
    ana = bot_api.user(ANA, first_name="Ana")
    await ana.say("ran 5 km")
    first = next(u for u in bot_api.updates if "message" in u)["message"]

    bot_api.edit_message(ANA, first["message_id"], "ran 8 km")
    edited = await bot_api.wait_for_message(ANA)
    located = await ana.share_location(52.3731, 4.8922)

    assert edited[0].text == "edited: ran 8 km"
    assert located.text == "at 52.37,4.89"


async def test_many_users_at_once(bot_api: LocalBotApi, coach: Application) -> None:
    users = [bot_api.user(5000 + n, first_name=f"Runner{n}") for n in range(100)]

    replies = await asyncio.gather(*(user.say(f"hello from {user.id}") for user in users))

    assert [r.text for r in replies] == [f"hello from {user.id}" for user in users]
    assert bot_api.stats.messages_sent == 100
    assert bot_api.pending_updates <= 100  # confirmed with the next getUpdates offset


async def test_wait_for_message_timeout_explains_what_happened(bot_api: LocalBotApi) -> None:
    bot_api.user(ANA, first_name="Ana").send("anyone there?")

    with pytest.raises(AssertionError, match="timed out") as exc_info:
        await bot_api.wait_for_message(ANA, timeout=0.05)

    assert "Ana (1001): anyone there?" in str(exc_info.value)


# ------------------------------------------------------------------------------------------
# Telegram's validation, seen as PTB exceptions
# ------------------------------------------------------------------------------------------


async def test_too_long_message_is_a_bad_request(bot_api: LocalBotApi, coach: Application) -> None:
    bot_api.register_chat(ANA, first_name="Ana")

    await coach.bot.send_message(ANA, "x" * 4096)
    await coach.bot.send_message(ANA, f"<b>{'x' * 4096}</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message is too long"):
        await coach.bot.send_message(ANA, "x" * 4097)
    with pytest.raises(BadRequest, match="Message is too long"):
        await coach.bot.send_message(ANA, "x" * 4090 + "&amp;" * 7, parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await coach.bot.send_message(ANA, "  <i></i> ", parse_mode=ParseMode.HTML)
    assert len(bot_api.messages_to(ANA)) == 2


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<b>bold", 'can\'t find end tag corresponding to start tag "b"'),
        ("<b>bold</i>", 'unmatched end tag at byte offset 7, expected "</b>", found "</i>"'),
        ("<h1>title</h1>", 'unsupported start tag "h1" at byte offset 0'),
        ("pain < 3", 'unsupported start tag "" at byte offset 5'),
        ("salt & pepper", "unescaped '&' at byte offset 5"),
    ],
)
async def test_bad_html_is_a_bad_request(
    bot_api: LocalBotApi, coach: Application, html: str, error: str
) -> None:
    bot_api.register_chat(ANA, first_name="Ana")

    with pytest.raises(BadRequest) as exc_info:
        await coach.bot.send_message(ANA, html, parse_mode=ParseMode.HTML)

    assert exc_info.value.message.lower().startswith(f"can't parse entities: {error}".lower())


async def test_chat_not_found_and_conversation_rules(
    bot_api: LocalBotApi, coach: Application
) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await coach.bot.send_message(424242, "hello?")
    bot_api.register_user(777, first_name="Lurker")
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await coach.bot.send_message(777, "hello?")


async def test_blocked_user_gives_forbidden(bot_api: LocalBotApi, coach: Application) -> None:
    ana = bot_api.user(ANA, first_name="Ana")
    await ana.say("hi")

    ana.block()

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await coach.bot.send_message(ANA, "Time for your calf raises!")
    ana.unblock()
    await coach.bot.send_message(ANA, "Time for your calf raises!")


async def test_edit_rules(bot_api: LocalBotApi, coach: Application) -> None:
    bot_api.register_chat(ANA, first_name="Ana")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Done", callback_data="done")]])
    sent = await coach.bot.send_message(ANA, "Day 1", reply_markup=keyboard)

    with pytest.raises(BadRequest, match="Message is not modified"):
        await coach.bot.edit_message_text("Day 1", ANA, sent.message_id, reply_markup=keyboard)
    edited = await coach.bot.edit_message_text("Day 2", ANA, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await coach.bot.edit_message_text("Day 3", ANA, 999)
    too_long = "x" * 65
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await coach.bot.send_message(
            ANA,
            "pick",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("x", callback_data=too_long)]]
            ),
        )

    assert isinstance(edited, type(sent)) and edited.text == "Day 2"
    assert edited.edit_date is not None and edited.reply_markup is None
    assert [(m.text, m.edited) for m in bot_api.messages_to(ANA)] == [
        ("Day 1", False),
        ("Day 2", True),
    ]


# ------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------


async def test_sent_documents_and_photos_are_retrievable(
    bot_api: LocalBotApi, coach: Application
) -> None:
    bot_api.register_chat(ANA, first_name="Ana")
    csv = b"day,pain\n1,4\n2,3\n"

    message = await coach.bot.send_document(
        ANA, csv, filename="progress.csv", caption="Your <b>week</b>", parse_mode=ParseMode.HTML
    )
    photo_message = await coach.bot.send_photo(ANA, png(3, 2), caption="chart")

    report = bot_api.messages_to(ANA)[0]
    assert report.document is not None and report.document.text() == "day,pain\n1,4\n2,3\n"
    assert (report.document.filename, report.document.mime_type) == ("progress.csv", "text/csv")
    assert report.caption == "Your week" and report.raw_caption == "Your <b>week</b>"
    assert message.document is not None and message.document.file_name == "progress.csv"
    chart = bot_api.messages_to(ANA)[1].photo
    assert chart is not None and (chart.width, chart.height) == (3, 2)
    assert photo_message.photo[-1].width == 3
    downloaded = await (await coach.bot.get_file(message.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == csv
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await coach.bot.send_photo(ANA, b"not an image")


# ------------------------------------------------------------------------------------------
# Failure injection and flood limits
# ------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB reads its own
async def test_injected_429_surfaces_as_retry_after(
    bot_api: LocalBotApi, coach: Application
) -> None:
    bot_api.register_chat(ANA, first_name="Ana")
    bot_api.fail_next("sendMessage", status=429, retry_after=7)

    with pytest.raises(RetryAfter) as exc_info:
        await coach.bot.send_message(ANA, "first try")
    await coach.bot.send_message(ANA, "second try")

    assert exc_info.value.retry_after in (7, dtm.timedelta(seconds=7))
    assert [m.text for m in bot_api.messages_to(ANA)] == ["second try"]
    assert bot_api.stats.injected_failures == 1
    assert [c.status for c in bot_api.calls_of("sendMessage")] == [429, 200]


async def test_injected_errors_and_dropped_connections(
    bot_api: LocalBotApi, coach: Application
) -> None:
    bot_api.register_chat(ANA, first_name="Ana")
    bot_api.fail_next("sendMessage", status=502)
    bot_api.drop_next("sendMessage")
    bot_api.drop_next("sendMessage", after=True)

    with pytest.raises(NetworkError, match="Bad Gateway"):
        await coach.bot.send_message(ANA, "one")
    with pytest.raises(NetworkError):
        await coach.bot.send_message(ANA, "two")  # lost on the way in
    with pytest.raises(NetworkError):
        await coach.bot.send_message(ANA, "three")  # delivered; the answer is lost
    await coach.bot.send_message(ANA, "four")

    assert [m.text for m in bot_api.messages_to(ANA)] == ["three", "four"]
    assert bot_api.stats.dropped == 2


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB reads its own
async def test_flood_limits() -> None:
    now = [1000.0]
    async with LocalBotApi(enforce_limits=True, clock=lambda: now[0]) as api:
        for chat_id in range(1, 32):
            api.register_chat(chat_id)
        async with api.application_builder().build().bot as bot:
            await bot.send_message(1, "first")
            with pytest.raises(RetryAfter):
                await bot.send_message(1, "too soon for this chat")
            now[0] += 1.0
            await bot.send_message(1, "a second later")
            for chat_id in range(2, 31):  # 30 messages within one second overall
                await bot.send_message(chat_id, "broadcast")
            with pytest.raises(RetryAfter):
                await bot.send_message(31, "31st in a second")

    assert api.stats.rate_limited == 2
    assert api.calls_of("sendMessage")[-1].error == "Too Many Requests: retry after 1"


# ------------------------------------------------------------------------------------------
# The protocol itself: encodings, long polling, errors (raw HTTP, no PTB)
# ------------------------------------------------------------------------------------------


async def test_request_encodings(bot_api: LocalBotApi) -> None:
    bot_api.register_chat(ANA, first_name="Ana")
    url = f"{bot_api.base_url}{bot_api.token}"
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    async with aiohttp.ClientSession() as http:
        as_json = await http.post(
            f"{url}/sendMessage", json={"chat_id": ANA, "text": "json", "reply_markup": markup}
        )
        as_query = await http.get(f"{url}/sendMessage", params={"chat_id": ANA, "text": "007"})
        form = aiohttp.FormData()
        form.add_field("chat_id", str(ANA))
        form.add_field("caption", "true")
        form.add_field("reply_markup", json.dumps(markup))
        form.add_field("document", b"bytes", filename="a.bin")
        as_multipart = await http.post(f"{url}/senddocument", data=form)  # case-insensitive
        unknown = await http.post(f"{url}/sendTelepathy", data={"chat_id": ANA})
        wrong_token = await http.post(f"{bot_api.base_url}1:wrong/getMe")

        assert (await as_json.json())["result"]["reply_markup"] == markup
        assert (await as_query.json())["result"]["text"] == "007"
        assert (await as_multipart.json())["result"]["caption"] == "true"
        assert unknown.status == 404
        assert await unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        assert wrong_token.status == 401
    records = bot_api.messages_to(ANA)
    assert [r.text for r in records[:2]] == ["json", "007"]
    assert records[2].document is not None and records[2].document.data == b"bytes"
    assert records[2].reply_markup == markup


async def test_long_polling_semantics(bot_api: LocalBotApi) -> None:
    url = f"{bot_api.base_url}{bot_api.token}/getUpdates"
    first = bot_api.send_message(ANA, "one")
    bot_api.send_message(ANA, "two")
    third = bot_api.send_message(ANA, "three")
    async with aiohttp.ClientSession() as http:

        async def get_updates(**params: int) -> dict:
            response = await http.post(url, data={k: str(v) for k, v in params.items()})
            return await response.json()

        assert [u["update_id"] for u in (await get_updates(limit=2))["result"]] == [
            first["update_id"],
            first["update_id"] + 1,
        ]
        confirmed = await get_updates(offset=third["update_id"])
        assert [u["message"]["text"] for u in confirmed["result"]] == ["three"]
        assert bot_api.pending_updates == 1

        loop = asyncio.get_running_loop()
        started = loop.time()
        waiting = asyncio.create_task(get_updates(offset=third["update_id"] + 1, timeout=5))
        await asyncio.sleep(0.05)
        fourth = bot_api.send_message(ANA, "four")
        assert [u["update_id"] for u in (await waiting)["result"]] == [fourth["update_id"]]
        assert loop.time() - started < 1.0

        older = asyncio.create_task(get_updates(offset=fourth["update_id"] + 1, timeout=5))
        await asyncio.sleep(0.05)
        newer = await get_updates(offset=fourth["update_id"] + 1, timeout=0)
        assert newer == {"ok": True, "result": []}
        assert (await older)["error_code"] == 409


async def test_bot_settings_and_webhook(bot_api: LocalBotApi, coach: Application) -> None:
    await coach.bot.set_my_commands([("start", "Begin"), ("menu", "Daily check-in")])
    commands = await coach.bot.get_my_commands()
    me = await coach.bot.get_me()

    assert [(c.command, c.description) for c in commands] == [
        ("start", "Begin"),
        ("menu", "Daily check-in"),
    ]
    assert me.username == "achilles_coach_bot" and me.is_bot
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await coach.bot.set_my_commands([("Not-Valid", "x")])
    with pytest.raises(InvalidToken):  # a token the server does not know: 401 Unauthorized
        async with Bot("42:not-the-token", base_url=bot_api.base_url):
            pass
    with pytest.raises(EndPointNotFound):  # unknown methods are 404 "Not Found", like Telegram
        await coach.bot.do_api_request("sendTelepathy")


async def test_webhook_is_recorded_and_blocks_polling(bot_api: LocalBotApi) -> None:
    async with bot_api.application_builder().build().bot as bot:
        await bot.set_webhook("https://coach.example.org/hook", secret_token="s3cret")
        info = await bot.get_webhook_info()
        assert info.url == "https://coach.example.org/hook"
        assert bot_api.webhook is not None and bot_api.webhook["secret_token"] == "s3cret"
        with pytest.raises(Exception, match="webhook is active"):
            await bot.get_updates()
        await bot.delete_webhook()
        assert await bot.get_updates() == ()


# ------------------------------------------------------------------------------------------
# The markup parsers (ports of TDLib's)
# ------------------------------------------------------------------------------------------


def test_html_parser_plain_text_and_entities() -> None:
    text, entities = parse_html(
        '<b>Hi</b> &lt;3 <a href="https://e.org">link</a> '
        '<pre><code class="language-python">x = 1</code></pre>'
    )

    assert text == "Hi <3 link x = 1"
    assert entities == [
        {"type": "bold", "offset": 0, "length": 2},
        {"type": "text_link", "offset": 6, "length": 4, "url": "https://e.org"},
        {"type": "pre", "offset": 11, "length": 5, "language": "python"},
    ]
    assert parse_html("fish & chips", strict=False) == ("fish & chips", [])
    assert parse_html("😀<i>é</i>")[1] == [{"type": "italic", "offset": 2, "length": 1}]


@pytest.mark.parametrize(
    ("markdown", "expected"),
    [
        ("Version 1\\.0", ("Version 1.0", [])),
        (
            "*bold* _it_",
            (
                "bold it",
                [
                    {"type": "bold", "offset": 0, "length": 4},
                    {"type": "italic", "offset": 5, "length": 2},
                ],
            ),
        ),
        ("`a.b`", ("a.b", [{"type": "code", "offset": 0, "length": 3}])),
    ],
)
def test_markdown_v2_parser(markdown: str, expected: tuple) -> None:
    assert parse_markdown_v2(markdown) == expected


@pytest.mark.parametrize(
    ("markdown", "error"),
    [
        ("Version 1.0", "Character '.' is reserved and must be escaped with the preceding '\\'"),
        ("*bold", "Can't find end of Bold entity at byte offset 0"),
        ("[link](https://e.org", "Can't find end of a URL at byte offset 7"),
    ],
)
def test_markdown_v2_errors(markdown: str, error: str) -> None:
    with pytest.raises(EntityParseError) as exc_info:
        parse_markdown_v2(markdown)
    assert str(exc_info.value) == error


async def test_group_chats_and_custom_methods(bot_api: LocalBotApi, coach: Application) -> None:
    ana = bot_api.user(ANA, first_name="Ana")
    bot_api.register_chat(-100200, chat_type="supergroup", title="Heel Heroes")

    replies = await ana.say("/start@achilles_coach_bot team", chat_id=-100200)

    assert replies.text == "Welcome Ana! args=['team']"
    assert bot_api.chat(-100200) == {"id": -100200, "type": "supergroup", "title": "Heel Heroes"}
    bot_api.register_method("getStarCount", lambda params, files: {"amount": 3})
    assert await coach.bot.do_api_request("get_star_count") == {"amount": 3}

    def broken_method(params: dict, files: dict) -> None:
        raise RuntimeError("boom")

    bot_api.register_method("getStarCount", broken_method)
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await coach.bot.do_api_request("get_star_count")
    assert [repr(e) for e in bot_api.server_errors] == ["RuntimeError('boom')"]
