"""A runner's stories end to end: the real python-telegram-bot Application and our handlers,
against the simulated Telegram in-process; over HTTP for the polling smoke test, and with the
bot as its own process for the SIGKILL test."""

import json

from tests.e2e import BotProcess, follow, make_coach, quiet, real_time, running_bot, say, seen_text, tap
from tests.runner_script import REMINDER_SETUP, TYPICAL_RUNNER, onboard_in_engine

CLINIC_PHONE = "+44 20 7946 0000"


async def test_runner_goes_from_start_to_a_plan(telegram, tmp_path):
    coach = make_coach(tmp_path / "data")
    async with running_bot(telegram, coach):
        ana = telegram.user(1001, first_name="Ana")
        await say(ana, "/start")
        assert "Welcome to Achilles Coach" in seen_text(ana)
        await tap(ana, "I understand and agree")
        await follow(ana, TYPICAL_RUNNER)
        seen = seen_text(ana)
        assert "phase 2, Strength" in seen and "Strength day" in seen
        assert "3 x 15" in seen and "not a diagnosis" in seen
        plan = next(m for m in reversed(ana.inbox) if "Strength day" in (m.text or ""))
        assert "🩺 Talk to a clinician" in plan.buttons
        await follow(ana, REMINDER_SETUP)
        assert "every day at 07:30 (Europe/London)" in seen_text(ana, 1)
        commands = telegram.calls_of("setMyCommands")[-1].params["commands"]
        assert {"start", "today", "export", "delete"} <= {c["command"] for c in commands}


async def test_polling_over_http_from_start_to_a_plan(bot_api, tmp_path):
    """The smoke test of the real transport: long polling, HTTP, the production limiter."""
    async with running_bot(bot_api, make_coach(tmp_path / "data"), rate_limited=True):
        ana = bot_api.user(1010, first_name="Ana")
        await say(ana, "/start")
        await tap(ana, "I understand and agree")
        await follow(ana, TYPICAL_RUNNER)
        assert "phase 2, Strength" in seen_text(ana) and "Strength day" in seen_text(ana)
    assert {"getMe", "deleteWebhook", "getUpdates", "setMyCommands"} <= {c.method for c in bot_api.calls}
    # A poll cut short by the next one (the shutdown's) gets 409, as on Telegram; nothing else fails.
    assert [c.method for c in bot_api.calls if not c.ok and c.method != "getUpdates"] == []


async def test_runner_with_snap_who_cannot_rise_gets_urgent_path_and_no_plan(telegram, tmp_path):
    async with running_bot(telegram, make_coach(tmp_path / "data")):
        ben = telegram.user(1002)
        await say(ben, "/start")
        await tap(ben, "I understand and agree")
        await tap(ben, "A snap, pop")
        await tap(ben, "Can't rise onto the toes")
        await tap(ben, "Done")
        seen = seen_text(ben)
        assert "Please get this checked today" in seen and CLINIC_PHONE in seen
        await say(ben, "/today")
        assert "Strength day" not in "".join(m.text or "" for m in ben.inbox)


async def test_runner_who_declines_has_nothing_stored_but_the_refusal(telegram, tmp_path):
    data = tmp_path / "data"
    async with running_bot(telegram, make_coach(data)):
        cat = telegram.user(1003)
        await say(cat, "/start")
        await tap(cat, "No thanks")
    # Besides the empty index's mark, the inbox keeps only the recent updates' ids (no words).
    assert all(isinstance(i, int) for i in json.loads((data / "inbox" / "recent.json").read_text())["ids"])
    files = [p for p in data.rglob("*") if p.is_file() and p.name not in (".built", "recent.json")]
    assert len(files) == 1
    stored = json.loads(files[0].read_text())
    profile = next(iter(stored["profile"].values()))
    assert profile.keys() == {"runner_id", "state", "consent"} and profile["consent"]["given"] is False


async def test_bot_killed_mid_questionnaire_resumes_at_the_same_question(bot_api, tmp_path):
    """The bot as users run it, killed with SIGKILL right after acknowledging an answer. Every
    reply after a chat's first costs a real second here (the bot paces each chat), so the runner
    starts past the consent (through the engine) and the story is short; the restarted bot's way
    on to the plan is the next test's."""
    data = tmp_path / "data"
    before = make_coach(data, real_time)
    onboard_in_engine(before, 1004, steps=TYPICAL_RUNNER[:1])  # consent and the safety screen
    before.store.close()
    bot = BotProcess(bot_api, data)
    await bot.start()
    try:
        dan = bot_api.user(1004)
        await say(dan, "38")
        assert "Which heel hurts?" in seen_text(dan, 1)
        bot.kill()
        await bot.start()
        await say(dan, "/start")
        assert "Picking up where you left off" in seen_text(dan, 2)
        assert "Which heel hurts?" in seen_text(dan, 1)
        await follow(dan, TYPICAL_RUNNER[2:3])
        assert "Did it start gradually" in seen_text(dan, 1)
        await say(dan, "/export")
        exported = json.loads(dan.inbox[-1].document.text())
        assert exported["profile"]["answers"]["age"] == 38  # answered before the kill
        assert exported["profile"]["answers"]["side"] == "right"  # and after it
    finally:
        bot.kill()  # nothing left to lose; a graceful stop would wait out the long poll


async def test_restarted_bot_resumes_and_carries_on_to_the_plan(telegram, tmp_path):
    data = tmp_path / "data"
    async with running_bot(telegram, make_coach(data)):
        dan = telegram.user(1011)
        await say(dan, "/start")
        await tap(dan, "I understand and agree")
        await follow(dan, TYPICAL_RUNNER[:6])  # up to the heel-raise pain
    async with running_bot(telegram, make_coach(data)):  # a new Application, a new engine
        await say(dan, "/start")
        assert "Picking up where you left off" in seen_text(dan, 2)
        assert "How much did the heel raises" in seen_text(dan, 1)
        await follow(dan, TYPICAL_RUNNER[6:-1])
        await tap(dan, "None of these", replies=2)  # the plan, then the reminder question
        assert "phase 2, Strength" in seen_text(dan)
        await say(dan, "/export")
        exported = json.loads(dan.inbox[-1].document.text())
        assert exported["profile"]["answers"]["age"] == 38
        assert exported["profile"]["answers"]["weeks_of_symptoms"] == 6


EVE = 8_150_463  # an id no timestamp or count in the files is likely to contain


async def test_export_sends_everything_and_delete_leaves_no_trace(telegram, tmp_path):
    data = tmp_path / "data"
    async with running_bot(telegram, make_coach(data)):
        eve = telegram.user(EVE)
        await say(eve, "/start")
        await tap(eve, "I understand and agree")
        await follow(eve, TYPICAL_RUNNER)
        await say(eve, "/export")
        exported = json.loads(eve.inbox[-1].document.text())
        assert exported["runner_id"] == EVE
        assert exported["profile"]["answers"]["heel_raises_reps"] == 18
        assert exported["profile"]["assessment"]["phase"] == 2
        await say(eve, "/delete")
        await tap(eve, "Yes, erase everything")
        assert "everything stored about you has been erased" in seen_text(eve, 1)
    for path in data.rglob("*"):
        if path.is_file():
            assert str(EVE).encode() not in path.read_bytes(), path


async def test_group_chat_gets_one_line_pointing_to_a_private_chat(telegram, tmp_path):
    async with running_bot(telegram, make_coach(tmp_path / "data")):
        telegram.register_chat(-500, chat_type="group", title="Running club")
        fay = telegram.user(1006)
        fay.send("/start", chat_id=-500)
        replies = await telegram.wait_for_message(-500)
        assert "private chat" in replies[0].text
        await quiet(telegram)
        assert len(telegram.messages_to(-500)) == 1


async def test_stale_button_is_answered_politely_and_changes_nothing(telegram, tmp_path):
    coach = make_coach(tmp_path / "data")
    async with running_bot(telegram, coach):
        gus = telegram.user(1007)
        await say(gus, "/start")
        await tap(gus, "I understand and agree")
        await tap(gus, "None of these")
        first_question = [m for m in gus.inbox if m.inline_keyboard][-2]
        await say(gus, "38")
        before = coach.store.load(1007)
        await gus.tap(first_question.buttons[0], message=first_question, count=0)
        answer = telegram.callback_answers[-1]
        assert "earlier message" in (answer.text or "")
        after = coach.store.load(1007)
        assert (after["state"], after["answers"], after["step"]) == (
            before["state"], before["answers"], before["step"])


async def test_a_failing_handler_is_logged_with_the_update_id_and_the_runner_gets_an_apology(
    telegram, tmp_path, caplog, monkeypatch
):
    coach = make_coach(tmp_path / "data")

    def broken(runner_id, event):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(coach, "handle", broken)
    async with running_bot(telegram, coach):
        ivy = telegram.user(1009)
        update = ivy.send("/today")
        replies = await telegram.wait_for_message(1009)
        assert "Sorry, something went wrong" in replies[0].text
        assert "disk on fire" not in replies[0].text
    failures = [r for r in caplog.records if r.levelname == "ERROR"]
    assert any(str(update["update_id"]) in r.getMessage() for r in failures)
