"""Telegram failing, on command of the simulated Telegram over HTTP: 429, 403, 400, 5xx,
dropped connections.

Every story checks the same three things: the bot recovers (the runner's next message is
answered normally), nothing is sent twice (the messages in the chat are exactly the expected
ones) and nothing is lost (the runner's answer is stored). The bot's backoff between attempts
is recorded, not slept (the `pauses` fixture): the stories assert the pauses it asked for.

The bot handles updates concurrently, so the messages are counted once it has stopped:
stopping waits for every update in hand, retries included, so a late duplicate cannot be missed.
"""

from datetime import UTC, datetime, timedelta

from testkit.http import LocalBotApi
from testkit.telegram import FakeUser
from tests.clock import Clock
from tests.e2e import full_label, make_coach, quiet, running_bot, say, tap
from tests.runner_script import onboard_in_engine

AGE_QUESTION = "How old are you?"
SIDE_QUESTION = "Which heel hurts?"
ONSET_QUESTION = "Did it start gradually"
RAISES_QUESTION = "Heel-raise test"
APOLOGY = "Sorry, something went wrong"
RESUMED = "Picking up where you left off"
REPLY_TIMEOUT = 15.0  # seconds; a reply normally comes within milliseconds (pauses are not slept)
MONDAY_0730 = datetime(2027, 3, 1, 7, 30, tzinfo=UTC)  # London is on UTC in March


async def at_the_age_question(api: LocalBotApi, runner_id: int) -> FakeUser:
    """A runner past the consent and the safety screen: the bot has just asked their age."""
    runner = api.user(runner_id)
    await say(runner, "/start")
    await tap(runner, "I understand and agree")
    await tap(runner, "None of these")
    assert AGE_QUESTION in runner.inbox[-1].text
    return runner


async def answer(runner: FakeUser, action: str, value: str) -> None:
    """Say or tap, and wait for one reply."""
    mark = runner.api.mark(runner.id)
    if action == "say":
        runner.send(value)
    else:
        question = [m for m in runner.api.current_messages(runner.id) if m.inline_keyboard][-1]
        button = question.button(full_label(runner, value))
        runner.api.press_button(runner.id, question.message_id, button["callback_data"])
    await runner.api.wait_for_message(runner.id, since=mark, timeout=REPLY_TIMEOUT)


def texts_since(runner: FakeUser, mark: int) -> list[str]:
    return [message.text or "" for message in runner.api.messages_to(runner.id)[mark:]]


def attempts(api: LocalBotApi, method: str, runner: FakeUser, since: int = 0) -> list[int]:
    """HTTP statuses of the bot's calls of `method` for this runner (0: connection dropped)."""
    return [call.status for call in api.calls[since:]
            if call.method == method and call.params.get("chat_id", runner.id) == runner.id]


def onboard_through_the_engine(application, runner_id: int) -> None:
    """A runner onboarded straight through the engine, not over Telegram (whether or not
    Telegram knows their chat)."""
    onboard_in_engine(application.bot_data["engine"], runner_id)


# --- 429: too many requests ------------------------------------------------------------------


async def test_too_many_requests_is_waited_out_and_the_next_question_arrives_once(bot_api, tmp_path):
    coach = make_coach(tmp_path / "data")
    async with running_bot(bot_api, coach, rate_limited=True):  # the real bot's limiter
        ana = await at_the_age_question(bot_api, 6001)
        mark, calls = bot_api.mark(ana.id), len(bot_api.calls)
        bot_api.fail_next("sendMessage", status=429, retry_after=1, chat_id=ana.id)
        await answer(ana, "say", "38")
        assert coach.store.load(ana.id)["answers"]["age"] == 38
        await answer(ana, "tap", "Right")
    seen = texts_since(ana, mark)
    assert len(seen) == 2 and SIDE_QUESTION in seen[0] and ONSET_QUESTION in seen[1]
    assert attempts(bot_api, "sendMessage", ana, calls) == [429, 200, 200]
    assert coach.store.load(ana.id)["answers"]["side"] == "right"


# --- 403: the runner blocked the bot ---------------------------------------------------------


async def test_runner_who_blocks_the_bot_mid_questionnaire_keeps_the_answer_and_resumes_after_unblocking(
    bot_api, tmp_path, pauses
):
    coach = make_coach(tmp_path / "data")
    async with running_bot(bot_api, coach):
        ben = await at_the_age_question(bot_api, 6002)
        mark = bot_api.mark(ben.id)
        ben.block()  # the answer goes out, then the runner blocks the bot before the reply
        ben.send("38")
        await bot_api.wait_for_call("sendMessage", lambda call: call.params.get("chat_id") == ben.id)
        await quiet(bot_api)
        assert texts_since(ben, mark) == []
        assert coach.store.load(ben.id)["answers"]["age"] == 38

        ben.unblock()
        await answer(ben, "say", "/start")
        await answer(ben, "tap", "Right")
    seen = texts_since(ben, mark)
    assert len(seen) == 2
    assert RESUMED in seen[0] and SIDE_QUESTION in seen[0] and ONSET_QUESTION in seen[1]
    refused = [c for c in bot_api.calls_of("sendMessage") if c.params.get("chat_id") == ben.id
               and c.status == 403 and SIDE_QUESTION in c.params["text"]]
    assert len(refused) == 1  # a refusal is final: not retried
    answers = coach.store.load(ben.id)["answers"]
    assert (answers["age"], answers["side"]) == (38, "right")
    assert pauses == []  # a refusal is not a network failure


# --- 400: bad request ------------------------------------------------------------------------


async def test_bad_request_on_one_reply_gets_an_apology_and_the_next_message_works(bot_api, tmp_path, pauses):
    coach = make_coach(tmp_path / "data")
    async with running_bot(bot_api, coach):
        cat = await at_the_age_question(bot_api, 6003)
        mark = bot_api.mark(cat.id)
        bot_api.fail_next("sendMessage", status=400, description="Bad Request: chat not found",
                          chat_id=cat.id)
        await answer(cat, "say", "38")
        assert coach.store.load(cat.id)["answers"]["age"] == 38
        await answer(cat, "say", "/start")
        await answer(cat, "tap", "Right")
    seen = texts_since(cat, mark)
    assert len(seen) == 3
    assert APOLOGY in seen[0]
    assert RESUMED in seen[1] and SIDE_QUESTION in seen[1]
    assert ONSET_QUESTION in seen[2]
    assert coach.store.load(cat.id)["answers"]["side"] == "right"
    assert pauses == []


async def test_reminder_to_a_chat_telegram_does_not_know_fails_alone_and_the_others_still_go_out(
    bot_api, tmp_path
):
    clock = Clock(MONDAY_0730 - timedelta(hours=1))
    coach = make_coach(tmp_path / "data", clock)
    async with running_bot(bot_api, coach) as application:
        scheduler = application.bot_data["scheduler"]
        dan = bot_api.user(6004)
        bot_api.register_chat(dan.id)  # he has talked to the bot before: Telegram knows the chat
        onboard_through_the_engine(application, dan.id)  # a 07:30 reminder
        onboard_through_the_engine(application, 6005)  # the same reminder, a chat Telegram never saw
        mark = bot_api.mark(dan.id)
        clock.moment = MONDAY_0730
        assert await scheduler.tick() == 1
        unknown = [c for c in bot_api.calls_of("sendMessage") if c.params.get("chat_id") == 6005]
        assert [(c.status, c.error) for c in unknown] == [(400, "Bad Request: chat not found")]
        assert coach.store.load(6005)["reach"] == "blocked"  # nothing more is sent there
        assert coach.store.load(dan.id)["last_reminder_on"] == "2027-03-01"
        await answer(dan, "tap", "Check in")
        assert await scheduler.tick() == 0  # dan's reminder is not sent twice
    seen = texts_since(dan, mark)
    assert len(seen) == 2 and "Strength day" in seen[0]


async def test_reminder_refused_as_a_bad_request_is_not_retried_every_minute(bot_api, tmp_path, pauses):
    clock = Clock(MONDAY_0730 - timedelta(hours=1))
    coach = make_coach(tmp_path / "data", clock)
    async with running_bot(bot_api, coach) as application:
        scheduler = application.bot_data["scheduler"]
        onboard_through_the_engine(application, 6006)  # a chat Telegram never saw
        clock.moment = MONDAY_0730
        await scheduler.tick()
        for _ in range(3):
            clock.advance(timedelta(minutes=1))
            await scheduler.tick()
    refused = [c for c in bot_api.calls_of("sendMessage") if c.params.get("chat_id") == 6006]
    assert len(refused) == 1, f"{len(refused)} attempts in 3 minutes"
    assert pauses == []


# --- 5xx: Telegram's servers fail ------------------------------------------------------------


async def test_server_errors_are_retried_with_backoff_and_the_next_question_arrives_once(
    bot_api, tmp_path, pauses
):
    coach = make_coach(tmp_path / "data")
    async with running_bot(bot_api, coach):
        eve = await at_the_age_question(bot_api, 6007)
        mark, calls = bot_api.mark(eve.id), len(bot_api.calls)
        bot_api.fail_next("sendMessage", status=502, description="Bad Gateway", times=2, chat_id=eve.id)
        await answer(eve, "say", "38")
        assert coach.store.load(eve.id)["answers"]["age"] == 38
        await answer(eve, "tap", "Right")
    seen = texts_since(eve, mark)
    assert len(seen) == 2 and SIDE_QUESTION in seen[0] and ONSET_QUESTION in seen[1]
    assert attempts(bot_api, "sendMessage", eve, calls) == [502, 502, 200, 200]
    assert pauses == [1, 2]


async def test_server_error_on_the_tap_acknowledgement_is_retried_and_the_next_question_arrives_once(
    bot_api, tmp_path, pauses
):
    coach = make_coach(tmp_path / "data")
    async with running_bot(bot_api, coach):
        fay = await at_the_age_question(bot_api, 6008)
        await answer(fay, "say", "38")
        mark, calls = bot_api.mark(fay.id), len(bot_api.calls)
        bot_api.fail_next("answerCallbackQuery", status=500)
        await answer(fay, "tap", "Right")
        assert coach.store.load(fay.id)["answers"]["side"] == "right"
        await answer(fay, "tap", "Gradually")
    seen = texts_since(fay, mark)
    assert len(seen) == 2 and ONSET_QUESTION in seen[0] and RAISES_QUESTION in seen[1]
    acknowledgements = [c.status for c in bot_api.calls[calls:] if c.method == "answerCallbackQuery"]
    assert acknowledgements == [500, 200, 200]
    assert pauses == [1]
    assert coach.store.load(fay.id)["answers"]["onset"] == "gradual"


async def test_network_down_longer_than_the_retries_ends_in_an_apology_and_keeps_the_answer(
    bot_api, tmp_path, pauses
):
    coach = make_coach(tmp_path / "data")
    async with running_bot(bot_api, coach):
        gus = await at_the_age_question(bot_api, 6009)
        mark, calls = bot_api.mark(gus.id), len(bot_api.calls)
        bot_api.fail_next("sendMessage", status=502, description="Bad Gateway", times=4, chat_id=gus.id)
        await answer(gus, "say", "38")  # four attempts, then the apology
        assert coach.store.load(gus.id)["answers"]["age"] == 38
        await answer(gus, "say", "/start")
    seen = texts_since(gus, mark)
    assert len(seen) == 2 and APOLOGY in seen[0]
    assert RESUMED in seen[1] and SIDE_QUESTION in seen[1]
    assert attempts(bot_api, "sendMessage", gus, calls) == [502, 502, 502, 502, 200, 200]
    assert pauses == [1, 2, 4]  # then it gave up


# --- dropped connections ---------------------------------------------------------------------


async def test_connection_dropped_before_telegram_saw_the_message_is_retried_and_sent_once(
    bot_api, tmp_path, pauses
):
    coach = make_coach(tmp_path / "data")
    async with running_bot(bot_api, coach):
        hal = await at_the_age_question(bot_api, 6010)
        mark, calls = bot_api.mark(hal.id), len(bot_api.calls)
        bot_api.drop_next("sendMessage", chat_id=hal.id)
        await answer(hal, "say", "38")
        assert coach.store.load(hal.id)["answers"]["age"] == 38
        await answer(hal, "tap", "Right")
    seen = texts_since(hal, mark)
    assert len(seen) == 2 and SIDE_QUESTION in seen[0] and ONSET_QUESTION in seen[1]
    assert attempts(bot_api, "sendMessage", hal, calls) == [0, 200, 200]
    assert pauses == [1]


async def test_answer_lost_after_telegram_delivered_the_message_shows_the_question_twice_and_either_works(
    bot_api, tmp_path, pauses
):
    """Telegram has no idempotency key: when only the answer to sendMessage is lost, the bot
    cannot know the message went out, retries, and the runner sees the question twice. Both
    copies carry the same buttons, so tapping either one moves on, once."""
    coach = make_coach(tmp_path / "data")
    async with running_bot(bot_api, coach):
        ivy = await at_the_age_question(bot_api, 6011)
        mark = bot_api.mark(ivy.id)
        bot_api.drop_next("sendMessage", after=True, chat_id=ivy.id)
        await answer(ivy, "say", "38")
        await ivy.wait_for_reply(timeout=REPLY_TIMEOUT)  # the retry: the same question again
        first, second = bot_api.messages_to(ivy.id)[mark:]
        assert SIDE_QUESTION in first.text and (first.text, first.buttons) == (second.text, second.buttons)
        assert first.reply_markup == second.reply_markup
        assert coach.store.load(ivy.id)["answers"]["age"] == 38

        await ivy.tap(full_label(ivy, "Right"), message=first)  # the older copy
        await answer(ivy, "tap", "Gradually")
    seen = texts_since(ivy, mark)
    assert len(seen) == 4 and ONSET_QUESTION in seen[2] and RAISES_QUESTION in seen[3]
    answers = coach.store.load(ivy.id)["answers"]
    assert (answers["age"], answers["side"], answers["onset"]) == (38, "right", "gradual")
    assert pauses == [1]


async def test_tap_acknowledgement_lost_after_delivery_still_shows_the_next_question(
    bot_api, tmp_path, pauses
):
    """Only the tap's spinner is lost: acknowledging it again is refused ("query is too old"),
    and the next question must come all the same, not an apology."""
    coach = make_coach(tmp_path / "data")
    async with running_bot(bot_api, coach):
        jon = await at_the_age_question(bot_api, 6012)
        await answer(jon, "say", "38")
        mark = bot_api.mark(jon.id)
        bot_api.drop_next("answerCallbackQuery", after=True)
        await answer(jon, "tap", "Right")
        assert coach.store.load(jon.id)["answers"]["side"] == "right"
        await answer(jon, "tap", "Gradually")
    seen = texts_since(jon, mark)
    assert len(seen) == 2 and ONSET_QUESTION in seen[0] and RAISES_QUESTION in seen[1], seen
    assert pauses == [1]  # the second try is refused as too old, and not tried again
