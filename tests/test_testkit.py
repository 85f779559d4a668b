"""The simulated Telegram (testkit), proven against the real python-telegram-bot stack.

A tiny bot runs in-process unless a test is about HTTP itself. Each test is about what the
bot's own tests rely on: replies and taps reach the bot, Telegram's refusals reach it as
python-telegram-bot's exceptions, injected failures behave like the network's, long polling
hands out each update until it is confirmed, and a webhook gets each update until it answers 2xx.
"""

import asyncio
import contextlib
import datetime as dtm
import json
import socket
from collections import deque
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from testkit.html import HtmlError, parse_html
from testkit.http import SECRET_HEADER, LocalBotApi, polling
from testkit.inprocess import BASE_URL, InProcessRequest, running_in_process
from testkit.telegram import FakeTelegram

ANA, BEN = 1001, 1002
MENU = InlineKeyboardMarkup([
    [InlineKeyboardButton("Yes 👍", callback_data="pain:yes"),
     InlineKeyboardButton("No", callback_data="pain:no")],
    [InlineKeyboardButton("Read more", url="https://example.org/achilles")],
])


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    text = update.message.text
    if text == "/menu":
        await update.message.reply_text("Did your <b>heel</b> hurt today?", reply_markup=MENU,
                                        parse_mode=ParseMode.HTML)
    elif text == "/wait":  # holds until someone else's update is being handled
        await asyncio.wait_for(context.bot_data.setdefault("go", asyncio.Event()).wait(), 2)
        await update.message.reply_text("went")
    elif text == "/go":
        context.bot_data.setdefault("go", asyncio.Event()).set()
        await update.message.reply_text("go")
    elif text == "/tell ben":  # something for another chat, in the background, as the bot's alerts
        context.application.create_task(tell_ben(context))
        await update.message.reply_text("Telling Ben")
    else:
        await update.message.reply_text(text)


async def tell_ben(context: ContextTypes.DEFAULT_TYPE) -> None:
    for _ in range(3):
        await asyncio.sleep(0)
    await context.bot.send_message(BEN, "Ana says hi")


async def on_tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer(f"Noted: {query.data}")
    await query.edit_message_text(f"You answered {query.data.split(':')[1]}")


def tiny_bot(builder: ApplicationBuilder) -> Application:
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, on_text))
    application.add_handler(CallbackQueryHandler(on_tap))
    return application


@pytest.fixture
async def app(telegram: FakeTelegram) -> AsyncIterator[Application]:
    builder = ApplicationBuilder().token(telegram.token).base_url(BASE_URL).concurrent_updates(8)  # as ours
    request = InProcessRequest(telegram)
    application = tiny_bot(builder.request(request).get_updates_request(request))
    async with running_in_process(telegram, application):
        yield application


# ---------------------------------------------------------------- users and the bot


async def test_a_users_message_reaches_the_bot_and_the_reply_is_what_they_see(telegram, app):
    ana = telegram.user(ANA, first_name="Ana")
    replies = await ana.say("my heel <hurts> & so on")
    assert [m.text for m in replies] == ["my heel <hurts> & so on"]
    assert ana.inbox == replies
    assert telegram.calls_of("sendMessage")[-1].params["chat_id"] == ANA


async def test_a_tap_is_answered_and_the_edit_replaces_the_message(telegram, app):
    ana = telegram.user(ANA)
    question = (await ana.say("/menu"))[-1]
    assert (question.text, question.html) == ("Did your heel hurt today?", "Did your <b>heel</b> hurt today?")
    assert question.buttons == ["Yes 👍", "No", "Read more"]

    replies = await ana.tap("yes 👍")  # case and spacing do not matter

    assert replies[-1].edited and replies[-1].message_id == question.message_id
    assert replies[-1].text == "You answered yes" and replies[-1].buttons == []
    answer = telegram.callback_answers[-1]
    assert (answer.text, answer.data, answer.user_id) == ("Noted: pain:yes", "pain:yes", ANA)
    with pytest.raises(AssertionError, match="no message with buttons"):
        await ana.tap("No")


async def test_a_missing_or_link_button_cannot_be_tapped(telegram, app):
    ana = telegram.user(ANA)
    await ana.say("/menu")
    with pytest.raises(AssertionError, match=r"buttons: \['Yes 👍', 'No', 'Read more'\]"):
        await ana.tap("Maybe")
    with pytest.raises(AssertionError, match="opens a link"):
        await ana.tap("Read more")


async def test_a_wait_returns_after_the_tasks_the_bot_started_for_the_update(telegram, app):
    telegram.register_chat(BEN)
    replies = await telegram.user(ANA).say("/tell ben")
    assert replies[0].text == "Telling Ben"
    assert [m.text for m in telegram.messages_to(BEN)] == ["Ana says hi"]


async def test_updates_queued_together_are_handled_together_as_polling_would(telegram, app):
    telegram.send_message(ANA, "/wait")
    telegram.send_message(BEN, "/go")
    await telegram.settle()
    assert [m.text for m in telegram.messages_to(ANA)] == ["went"]


async def test_each_message_and_answer_names_the_update_it_answered(telegram, app):
    telegram.register_chat(BEN)
    tell = telegram.send_message(ANA, "/tell ben")
    menu = telegram.send_message(BEN, "/menu")
    await telegram.settle()
    question = next(m for m in telegram.messages_to(BEN) if m.buttons)
    tap = telegram.press_button(BEN, question.message_id, "pain:no")
    await telegram.settle()
    number = telegram.number_of
    assert [(m.text, m.reply_to) for m in telegram.messages_to(ANA)] == [("Telling Ben", number(tell))]
    assert {(m.text, m.reply_to) for m in telegram.messages_to(BEN)} == {
        ("Ana says hi", number(tell)),  # sent by a task the bot started for Ana's update
        ("Did your heel hurt today?", number(menu)), ("You answered no", number(tap))}
    assert telegram.callback_answers[-1].reply_to == number(tap) == 2


async def test_update_ids_start_again_anywhere_and_each_update_is_still_handled(telegram, app):
    first = telegram.send_message(ANA, "one")
    telegram.restart_update_ids(first["update_id"])  # even on an id used before
    again = telegram.send_message(BEN, "two")
    lower = telegram.send_message(BEN, "three")
    await telegram.settle()
    assert [u["update_id"] for u in (first, again, lower)] == [first["update_id"], first["update_id"],
                                                              first["update_id"] + 1]
    assert [m.text for m in telegram.messages_to(BEN)] == ["two", "three"]
    assert telegram.next_update_id == first["update_id"] + 2


async def test_in_process_a_missing_reply_fails_at_once_with_the_conversation(telegram):
    telegram.user(ANA, first_name="Ana").send("anyone there?")  # no bot is running
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(AssertionError, match="anyone there") as failure:
        await telegram.wait_for_message(ANA, timeout=30)
    assert "1 new bot message(s) in chat 1001, got 0" in str(failure.value)
    assert loop.time() - started < 1


# ---------------------------------------------------------------- Telegram's refusals


async def test_too_long_or_empty_messages_are_refused(telegram, app):
    telegram.register_chat(ANA)
    await app.bot.send_message(ANA, "x" * 4096)
    await app.bot.send_message(ANA, f"<b>{'x' * 4096}</b>", parse_mode=ParseMode.HTML)  # counted as seen
    with pytest.raises(BadRequest, match="Message is too long"):
        await app.bot.send_message(ANA, "x" * 4097)
    with pytest.raises(BadRequest, match="Message text is empty"):
        await app.bot.send_message(ANA, "  <i></i> ", parse_mode=ParseMode.HTML)
    assert len(telegram.messages_to(ANA)) == 2


@pytest.mark.parametrize(("html", "error"), [
    ("<b>bold", 'find end tag corresponding to start tag "b"'),
    ("<b>bold</i>", 'expected "</b>", found "</i>"'),
    ("<h1>title</h1>", 'unsupported start tag "h1"'),
    ("<br/>", 'unsupported tag "<br/>"'),
    ("pain < 3", "unescaped '<'"),
    ("salt & pepper", "unescaped '&'"),
    ("a&b", "unescaped '&'"),
    ("&nbsp;", "unsupported entity &nbsp;"),
    ('<span class="x">s</span>', 'must have class "tg-spoiler"'),
])
async def test_html_telegram_cannot_parse_is_a_bad_request(telegram, app, html, error):
    telegram.register_chat(ANA)
    with pytest.raises(BadRequest, match="Can't parse entities") as refused:
        await app.bot.send_message(ANA, html, parse_mode=ParseMode.HTML)
    assert error in refused.value.message
    assert telegram.messages_to(ANA) == []


def test_html_telegram_supports_reads_as_the_user_sees_it():
    html = ('<b>Hi</b> &lt;3 <i>x</i> <a href="https://e.org/?a=1&amp;b=2">link</a> &quot;q&quot; &#128512; '
            '<code>c</code> <pre>p</pre> <s>s</s> <u>u</u> <blockquote>b</blockquote> '
            '<span class="tg-spoiler">spoiler</span> <tg-spoiler>t</tg-spoiler>')
    assert parse_html(html) == 'Hi <3 x link "q" 😀 c p s u b spoiler t'
    with pytest.raises(HtmlError):
        parse_html("</b>")


async def test_unknown_and_blocked_chats_are_refused(telegram, app):
    with pytest.raises(BadRequest, match="Chat not found"):
        await app.bot.send_message(424242, "hello?")
    telegram.register_user(777, first_name="Lurker")
    with pytest.raises(Forbidden, match="can't initiate conversation"):
        await app.bot.send_message(777, "hello?")
    telegram.register_chat(ANA)
    telegram.block(ANA)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await app.bot.send_message(ANA, "Time for your calf raises!")
    telegram.unblock(ANA)
    await app.bot.send_message(ANA, "Time for your calf raises!")
    assert [m.text for m in telegram.messages_to(ANA)] == ["Time for your calf raises!"]


async def test_edits_and_buttons_follow_telegrams_rules(telegram, app):
    telegram.register_chat(ANA)
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Done", callback_data="done")]])
    sent = await app.bot.send_message(ANA, "Day 1", reply_markup=keyboard)
    with pytest.raises(BadRequest, match="Message is not modified"):
        await app.bot.edit_message_text("Day 1", ANA, sent.message_id, reply_markup=keyboard)
    edited = await app.bot.edit_message_text("Day 2", ANA, sent.message_id)
    with pytest.raises(BadRequest, match="Message to edit not found"):
        await app.bot.edit_message_text("Day 3", ANA, 999)
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]])
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await app.bot.send_message(ANA, "pick", reply_markup=too_long)
    assert edited.text == "Day 2" and edited.reply_markup is None
    assert [(m.text, m.edited) for m in telegram.messages_to(ANA)] == [("Day 1", False), ("Day 2", True)]


async def test_a_tap_answered_twice_is_refused_the_second_time(telegram, app):
    ana = telegram.user(ANA)
    await ana.say("/menu")
    await ana.tap("No")
    query_id = telegram.callback_answers[-1].query_id
    with pytest.raises(BadRequest, match="Query is too old"):
        await app.bot.answer_callback_query(query_id, "again")


async def test_command_menu_names_are_checked(telegram, app):
    await app.bot.set_my_commands([("start", "Begin"), ("today", "The plan for today")])
    assert telegram.calls_of("setMyCommands")[-1].params["commands"][1] == {
        "command": "today", "description": "The plan for today"}
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await app.bot.set_my_commands([("Not-Valid", "x")])


async def test_documents_and_photos_keep_their_bytes_and_captions(telegram, app):
    telegram.register_chat(ANA)
    csv = b"day,pain\n1,4\n"
    await app.bot.send_document(ANA, csv, filename="progress.csv", caption="Your <b>week</b>",
                                parse_mode=ParseMode.HTML)
    await app.bot.send_photo(ANA, b"\x89PNG fake bytes", caption="chart")
    report, chart = telegram.messages_to(ANA)
    assert (report.document.filename, report.document.text()) == ("progress.csv", "day,pain\n1,4\n")
    assert report.content == "Your week"
    assert report.text is None and chart.photo.data == b"\x89PNG fake bytes" and chart.caption == "chart"


# ---------------------------------------------------------------- failures on command


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB reads its own
async def test_injected_429_is_a_retry_after(telegram, app):
    telegram.register_chat(ANA)
    telegram.fail_next("sendMessage", status=429, retry_after=7)
    with pytest.raises(RetryAfter) as refused:
        await app.bot.send_message(ANA, "first try")
    await app.bot.send_message(ANA, "second try")
    assert refused.value.retry_after in (7, dtm.timedelta(seconds=7))
    assert [m.text for m in telegram.messages_to(ANA)] == ["second try"]
    assert [c.status for c in telegram.calls_of("sendMessage")] == [429, 200]


async def test_injected_errors_and_dropped_connections(telegram, app):
    telegram.register_chat(ANA)
    telegram.register_chat(BEN)
    telegram.fail_next("sendMessage", status=502, chat_id=ANA)
    await app.bot.send_message(BEN, "not to Ana: no failure")
    telegram.drop_next("sendMessage")
    telegram.drop_next("sendMessage", after=True)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await app.bot.send_message(ANA, "one")
    with pytest.raises(NetworkError):
        await app.bot.send_message(ANA, "two")  # lost on the way in
    with pytest.raises(NetworkError):
        await app.bot.send_message(ANA, "three")  # delivered; only the answer is lost
    await app.bot.send_message(ANA, "four")
    assert [m.text for m in telegram.messages_to(ANA)] == ["three", "four"]
    assert [c.status for c in telegram.calls_of("sendMessage")] == [200, 502, 0, 0, 200]


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB reads its own
async def test_flood_limits():
    now = [1000.0]
    telegram = FakeTelegram(enforce_limits=True, clock=lambda: now[0])
    for chat_id in range(1, 32):
        telegram.register_chat(chat_id)
    builder = ApplicationBuilder().token(telegram.token).base_url(BASE_URL)
    async with builder.request(InProcessRequest(telegram)).build().bot as bot:
        await bot.send_message(1, "first")
        with pytest.raises(RetryAfter):
            await bot.send_message(1, "too soon for this chat")
        now[0] += 1.0
        await bot.send_message(1, "a second later")
        for chat_id in range(2, 31):  # 30 messages within one second overall
            await bot.send_message(chat_id, "broadcast")
        with pytest.raises(RetryAfter):
            await bot.send_message(31, "31st in a second")
    assert telegram.stats.rate_limited == 2


# ---------------------------------------------------------------- over HTTP


async def test_over_http_the_bot_polls_and_a_dropped_connection_is_a_network_error(bot_api: LocalBotApi):
    async with polling(tiny_bot(ApplicationBuilder().token(bot_api.token).base_url(bot_api.base_url))) as app:
        ana = bot_api.user(ANA)
        assert [m.text for m in await ana.say("hello")] == ["hello"]
        bot_api.drop_next("sendMessage", chat_id=ANA)
        with pytest.raises(NetworkError):
            await app.bot.send_message(ANA, "lost")
    assert {"getMe", "deleteWebhook", "getUpdates"} <= {c.method for c in bot_api.calls}
    assert [m.text for m in bot_api.messages_to(ANA)] == ["hello"]


async def test_over_http_the_form_and_the_token_are_read_as_telegram_does(bot_api: LocalBotApi):
    bot_api.register_chat(ANA)
    url = f"{bot_api.base_url}{bot_api.token}"
    markup = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    async with aiohttp.ClientSession() as http:
        form = {"chat_id": str(ANA), "text": "007", "reply_markup": json.dumps(markup)}
        sent = await (await http.post(f"{url}/sendMessage", data=form)).json()
        upload = aiohttp.FormData()
        upload.add_field("chat_id", str(ANA))
        upload.add_field("document", b"bytes", filename="a.bin")
        document = await http.post(f"{url}/sendDocument", data=upload)
        unknown = await http.post(f"{url}/sendTelepathy", data={"chat_id": str(ANA)})
        wrong_token = await http.post(f"{bot_api.base_url}1:wrong/getMe")
        assert sent["result"]["text"] == "007" and sent["result"]["reply_markup"] == markup  # text stays text
        assert document.status == 200 and bot_api.messages_to(ANA)[1].document.data == b"bytes"
        assert (unknown.status, await unknown.json()) == (404, {"ok": False, "error_code": 404,
                                                                "description": "Not Found"})
        assert wrong_token.status == 401


async def test_long_polling_hands_out_updates_until_confirmed(bot_api: LocalBotApi):
    url = f"{bot_api.base_url}{bot_api.token}/getUpdates"
    first = bot_api.send_message(ANA, "one")
    bot_api.send_message(ANA, "two")
    third = bot_api.send_message(ANA, "three")
    async with aiohttp.ClientSession() as http:

        async def get_updates(**params: int) -> dict:
            return await (await http.post(url, data={k: str(v) for k, v in params.items()})).json()

        assert [u["update_id"] for u in (await get_updates(limit=2))["result"]] == [
            first["update_id"], first["update_id"] + 1]
        confirmed = await get_updates(offset=third["update_id"])
        assert [u["message"]["text"] for u in confirmed["result"]] == ["three"]
        assert bot_api.pending_updates == 1

        loop = asyncio.get_running_loop()
        started = loop.time()
        waiting = asyncio.create_task(get_updates(offset=third["update_id"] + 1, timeout=5))
        await asyncio.sleep(0.05)
        fourth = bot_api.send_message(ANA, "four")
        assert [u["update_id"] for u in (await waiting)["result"]] == [fourth["update_id"]]
        assert loop.time() - started < 1.0  # woken by the update, not by the timeout

        older = asyncio.create_task(get_updates(offset=fourth["update_id"] + 1, timeout=5))
        await asyncio.sleep(0.05)
        assert await get_updates(offset=fourth["update_id"] + 1, timeout=0) == {"ok": True, "result": []}
        assert (await older)["error_code"] == 409  # one poller at a time, as on Telegram


# ---------------------------------------------------------------- a webhook (over HTTP)

SECRET = "s3cret_-Token"
DROP, SILENT = "drop", "silent"  # a receiver's answers beyond HTTP statuses


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Receiver:
    """A webhook for the simulated Telegram to post to. It answers with the given statuses in
    turn (then 200), or drops the connection, or never answers; and it records each post."""

    def __init__(self, port: int, answers=()) -> None:
        self.url = f"http://127.0.0.1:{port}/telegram"
        self.port = port
        self.answers = deque(answers)
        self.posts: list[tuple[dict, str | None]] = []  # each body, with the secret header
        self.at_once = self.most_at_once = 0
        self.released = asyncio.Event()  # lets a SILENT answer go, at the end
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/telegram", self.receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        self.released.set()
        if self._runner is not None:
            await self._runner.cleanup()

    async def receive(self, request: web.Request) -> web.StreamResponse:
        self.at_once += 1
        self.most_at_once = max(self.most_at_once, self.at_once)
        try:
            self.posts.append((await request.json(), request.headers.get(SECRET_HEADER)))
            await asyncio.sleep(0.01)  # room for a second post to arrive, if one were sent at once
            answer = self.answers.popleft() if self.answers else 200
            if answer == DROP:
                request.transport.close()
            elif answer == SILENT:
                await self.released.wait()
            return web.Response(status=500 if answer in (DROP, SILENT) else answer)
        finally:
            self.at_once -= 1


@contextlib.asynccontextmanager
async def receiving(port: int | None = None, answers=()) -> AsyncIterator[Receiver]:
    receiver = Receiver(port or free_port(), answers)
    await receiver.start()
    try:
        yield receiver
    finally:
        await receiver.stop()


def texts(posts: list[tuple[dict, str | None]]) -> list[str]:
    return [body["message"]["text"] for body, _ in posts]


async def test_while_a_webhook_is_set_polling_is_a_conflict_and_updates_wait_for_it(bot_api: LocalBotApi):
    nobody_listens = f"http://127.0.0.1:{free_port()}/telegram"
    async with Bot(bot_api.token, base_url=bot_api.base_url) as bot:
        waiting_poll = asyncio.create_task(bot.get_updates(timeout=5))
        while not bot_api.calls_of("getUpdates"):  # recorded as it arrives
            await asyncio.sleep(0.01)
        with pytest.raises(BadRequest, match="unallowed characters"):
            await bot.set_webhook(nobody_listens, secret_token="not allowed!")
        assert await bot.set_webhook(nobody_listens, secret_token=SECRET, allowed_updates=["message"])
        with pytest.raises(Conflict):
            await waiting_poll  # the webhook ends a long poll that was waiting
        first = bot_api.send_message(ANA, "while nobody listens")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        refused = await bot_api.wait_for_delivery(lambda d: d.status is not None)
        info = await bot.get_webhook_info()
        assert (info.url, info.allowed_updates) == (nobody_listens, ("message",))
        assert info.pending_update_count == 1
        assert (refused.update_id, refused.status, refused.secret_token) == (first["update_id"], 0, SECRET)

        assert await bot.delete_webhook()
        assert (await bot.get_webhook_info()).url == ""
        assert [u.message.text for u in await bot.get_updates()] == ["while nobody listens"]


async def test_the_webhook_gets_each_update_with_the_secret_in_order_until_it_answers_2xx(bot_api):
    bot = Bot(bot_api.token, base_url=bot_api.base_url)
    async with receiving(answers=[500, 403]) as receiver, bot:
        await bot.set_webhook(receiver.url, secret_token=SECRET, allowed_updates=["message"])
        one = bot_api.send_message(ANA, "one")
        bot_api.edit_message(ANA, one["message"]["message_id"], "one, edited")  # not asked for
        two = bot_api.send_message(BEN, "two")
        await bot_api.wait_for_delivery(lambda d: d.update_id == two["update_id"] and d.delivered)

    assert texts(receiver.posts) == ["one", "one", "one", "two"]  # again after 500 and 403, then on
    assert {secret for _, secret in receiver.posts} == {SECRET}
    assert [d.status for d in bot_api.deliveries] == [500, 403, 200, 200]
    assert receiver.most_at_once == 1
    assert bot_api.pending_updates == 0


async def test_a_webhook_that_is_down_drops_the_connection_or_never_answers_gets_the_update_again():
    port = free_port()
    async with LocalBotApi(webhook_timeout=0.2) as api, Bot(api.token, base_url=api.base_url) as bot:
        await bot.set_webhook(f"http://127.0.0.1:{port}/telegram")
        update = api.send_message(ANA, "are you there?")
        refused = await api.wait_for_delivery(lambda d: d.status == 0)
        async with receiving(port, answers=[DROP, SILENT]) as receiver:
            delivered = await api.wait_for_delivery(lambda d: d.delivered)
        info = await bot.get_webhook_info()

    assert "connect" in refused.error.lower()
    assert texts(receiver.posts) == ["are you there?"] * 3  # dropped, no answer in time, taken
    after_start = [d.status for d in api.deliveries[-3:]]
    assert after_start == [0, 0, 200] and delivered.update_id == update["update_id"]
    assert info.pending_update_count == 0


async def test_after_ids_start_again_lower_an_old_offset_confirms_none_of_the_new(bot_api: LocalBotApi):
    url = f"{bot_api.base_url}{bot_api.token}/getUpdates"
    old = bot_api.send_message(ANA, "before the quiet week")
    async with aiohttp.ClientSession() as http:

        async def get_updates(**params: int) -> dict:
            return await (await http.post(url, data={k: str(v) for k, v in params.items()})).json()

        assert (await get_updates(offset=old["update_id"] + 1))["result"] == []  # confirmed
        bot_api.restart_update_ids(7)
        new = bot_api.send_message(ANA, "after it")
        handed = await get_updates(offset=old["update_id"] + 1)  # the offset the bot still holds
        assert [u["update_id"] for u in handed["result"]] == [new["update_id"]] == [7]
        assert (await get_updates(offset=8))["result"] == []
