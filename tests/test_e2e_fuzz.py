"""Thousands of random updates, in every state, through the real stack: nothing breaks.

Every private message gets an answer, every button tap is answered, edited and group chatter
is ignored by design, no handler fails, and every stored record stays valid.
"""

import asyncio
import logging
import random

from conversations.answers import Assessment
from conversations.engine import COMMANDS
from conversations.flow import STATE_NAMES
from conversations.intake import BY_ID
from tests.e2e import follow, make_coach, quiet, running_bot, say, tap
from tests.runner_script import TYPICAL_RUNNER

UPDATES = 2000
RUNNERS = list(range(2001, 2021))
EMOJI = "🏃‍♀️🔥💪😅👟🦵✅❌🙂"


def random_text(rng: random.Random) -> str:
    return rng.choice([
        lambda: str(rng.randint(-50, 500)),
        lambda: rng.choice(["11", "-1", "10.5", "1e400", "9" * rng.randint(8, 400), "7/10", "١٢"]),
        lambda: rng.choice(["I felt a pop", "my calf is swollen", "on cipro", "fever"]),
        lambda: f"{rng.uniform(0, 200):.1f} km",
        lambda: "".join(rng.choice(EMOJI) for _ in range(rng.randint(1, 8))),
        lambda: "x" * 4096,
        lambda: "<b>bold</b> & <script>",
        lambda: rng.choice(["Left", "right", "Both", "yes", "Worse", "None of these", ""]) or " ",
        lambda: "".join(chr(rng.randint(32, 0x2FFF)) for _ in range(rng.randint(1, 60))),
    ])()


async def walk(user, kind: int, rng: random.Random) -> None:
    await say(user, "/start")
    if kind == 1:
        await tap(user, "No thanks")
    elif kind == 2:
        await tap(user, "I understand and agree")
        await follow(user, TYPICAL_RUNNER[: rng.randint(0, len(TYPICAL_RUNNER) - 1)])
    elif kind == 3:
        await tap(user, "I understand and agree")
        await tap(user, "A gap or dent")
        await tap(user, "Done")
    elif kind == 4:
        await tap(user, "I understand and agree")
        await follow(user, TYPICAL_RUNNER)


async def put_in_varied_states(api, rng):
    """Walk each runner part of the way: not started, declined, mid-questions, urgent, done."""
    walks = [walk(api.user(runner), index % 5, rng) for index, runner in enumerate(RUNNERS)]
    await asyncio.gather(*walks)


def random_update(api, rng, counts):
    runner = rng.choice(RUNNERS)
    roll = rng.random()
    messages = [m for m in api.current_messages(runner) if m.inline_keyboard]
    if roll < 0.3 and messages:
        message = rng.choice(messages)  # often an older message: a stale button
        buttons = [b for row in message.inline_keyboard for b in row if "callback_data" in b]
        data = rng.choice(buttons)["callback_data"] if buttons else "1|0"
        api.press_button(runner, message.message_id, data, strict=False)
        counts["taps"] += 1
    elif roll < 0.35 and messages:
        garbage = rng.choice(["", "zzz", "g|nope", "99999|0", "1|t99", "|", "g|", "1|erase"])
        api.press_button(runner, messages[-1].message_id, garbage, strict=False)
        counts["taps"] += 1
    elif roll < 0.55:
        command = rng.choice([*COMMANDS, "fly", "start clinic_abc", "START", "help@achilles_coach_bot"])
        api.send_message(runner, f"/{command}")
        counts[runner] += 1
    elif roll < 0.85:
        api.send_message(runner, random_text(rng))
        counts[runner] += 1
    elif roll < 0.9:
        api.send_location(runner, rng.uniform(-80, 80), rng.uniform(-170, 170))
        counts[runner] += 1
    elif roll < 0.95 and api.messages_to(runner):
        api.edit_message(runner, 1, random_text(rng))  # ignored by design
    else:
        api.send_message(runner, random_text(rng), chat_type="group", chat_id=-900)




def assert_record_is_valid(record: dict) -> None:
    assert record["state"] in STATE_NAMES["state"]
    assert record.get("mode", "none") in STATE_NAMES["mode"]
    if not record["consent"]["given"]:
        assert record.keys() == {"runner_id", "state", "consent"}
        return
    for question_id, value in record.get("answers", {}).items():
        question = BY_ID[question_id]
        if question.kind == "multi":
            assert set(value) <= set(question.options)
        elif question.kind in ("choice", "pain"):
            assert value in [v for v in question.options] + [v for v, _ in question.extra]
        else:
            assert value is None or question.minimum <= value <= question.maximum
    if record["state"] in ("urgent", "referred", "idle"):
        Assessment.model_validate(record["assessment"])


async def test_thousands_of_random_updates_break_nothing(telegram, tmp_path, caplog):
    caplog.set_level(logging.ERROR)
    rng = random.Random(20261123)
    coach = make_coach(tmp_path / "data")
    telegram.register_chat(-900, chat_type="group", title="Club")
    async with running_bot(telegram, coach):
        await put_in_varied_states(telegram, rng)
        before = {runner: len([m for m in telegram.messages_to(runner) if not m.edited])
                  for runner in RUNNERS}
        answers_before = len(telegram.callback_answers)
        counts = {"taps": 0, **dict.fromkeys(RUNNERS, 0)}
        for _batch in range(UPDATES // 200):
            for _ in range(200):
                random_update(telegram, rng, counts)
            await quiet(telegram, timeout=60)

    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    failed = [c for c in telegram.calls if not c.ok and c.method != "getUpdates"]
    assert failed == [], [(c.method, c.error) for c in failed[:5]]
    assert len(telegram.callback_answers) - answers_before == counts["taps"]
    for runner in RUNNERS:
        sent = [m for m in telegram.messages_to(runner) if not m.edited]
        assert len(sent) - before[runner] >= counts[runner], f"runner {runner} left unanswered"
        assert not any("something went wrong" in (m.text or "") for m in sent)
    for runner in coach.store.runner_ids():
        assert_record_is_valid(coach.store.load(runner))
