"""Ten thousand hostile updates through the real stack, from runners in every state and the
clinic's admin: nothing breaks.

The updates go to the real Application in-process, through our intake, a getUpdates-sized batch
at a time: out-of-range and huge numbers, 4096-character texts, Unicode digits, RTL and
zero-width characters, empty texts, commands and deep links with junk, taps on old messages and
forged callback data, edits and group chatter. Between the run's weeks Telegram starts its update
ids again elsewhere: lower, higher, and on ids other runners had before.

What a user would notice is checked update by update (the simulated Telegram tags each bot call
with the update it answered): every private message gets a reply, every tap is answered once,
a group only ever gets the short notice, no message is empty, too long or said twice in a row,
no handler fails; and every stored record stays valid.

The seed fixes what the users choose; the bot's answers shape what they can choose next, and
the engine serves chats in the order their updates reach it, so two runs may differ a little.
"""

import asyncio
import base64
import gc
import itertools
import logging
import random
import re
import string
import tempfile
import time
import traceback
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conversations.answers import Assessment
from conversations.engine import COMMANDS
from conversations.flow import CHECKIN_STATES, QUESTION_STATES, STATE_NAMES
from conversations.intake import BY_ID
from conversations.messages import render
from storage.inbox import RECENT
from testkit.telegram import BOT_USERNAME, MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH, FakeTelegram
from tests import warm_bot
from tests.clock import Clock
from tests.e2e import follow, make_coach, quiet, running_bot, say, tap
from tests.runner_script import REMINDER_SETUP, TYPICAL_RUNNER

SEED = 20261123
UPDATES = 10_000
SHARDS = 2  # bots side by side, each with its share of the updates (see the test)
BATCH = 100  # what one getUpdates answer holds at most
WEEKS = 6  # in each shard: between two weeks no update comes, then Telegram's ids start elsewhere
NOW = datetime(2027, 3, 29, 9, tzinfo=UTC)  # a Monday
ADMIN = 2999
GROUP = -900
KINDS = ("not_started", "declined", "mid_questions", "paused", "urgent", "planned", "reminders_paused",
         "mid_checkin", "confirming_delete", "in_challenge")
RUNNERS = [2001 + index for index in range(3 * len(KINDS))]
KIND_OF = {runner: KINDS[index % len(KINDS)] for index, runner in enumerate(RUNNERS)}
NAMES = ["Ana", "Zoë", "\u202eEve", "Bo\u200bb", "🏃\u200d♀️", "<b>Cy</b>", "Dee & Co", "Ñ" * 64,
         "عائشة", "O'Brien", "Ｆｕｌｌ", "x\u0301\u0301\u0301"]  # Telegram's first names: 1-64 characters
NAME_OF = {runner: NAMES[index % len(NAMES)] for index, runner in enumerate(RUNNERS)}
# A progress chart takes the engine 40 ms (the first in a process 0.5 s, matplotlib's import):
# the first shard draws a few, the other (a new process) none. A summary PDF takes 0.1-3 s (the
# first 2 s, its fonts): none here, test_summary_pdf and test_e2e_handoff draw them.
CHARTS = 5
FORM = """/newchallenge
name: Spring Achilles Challenge
start: 2027-03-29
weeks: 8
places: 2
session: Wed 18:30 Group strength class https://example.org/meet"""
EMOJI = "🏃‍♀️🔥💪😅👟🦵✅❌🙂"
DESK = ["roster", "alerts", "waitlist", "export", "announce", "announce", "newchallenge", "challenges",
        "leave"]


# --- what the users send ---------------------------------------------------------------------


def hostile_text(rng: random.Random) -> str:
    return rng.choice([
        lambda: str(rng.randint(-10**6, 10**6)),
        lambda: str(rng.choice([-1, 0, 11, 101, 2**31, 2**63, -(2**63) - 1, 10**30])),
        lambda: rng.choice(["1e400", "-1e400", "1e-400", "NaN", "nan", "inf", "-Infinity", "0x1F", "1_000",
                            "3,5", "38.", ".5", "+38", "--1", "1/0", "38 38", "½", "Ⅻ", "7/10", "10.5"]),
        lambda: rng.choice(["٣٨", "３８", "𝟑𝟖", "①", "²", "۴۲", "४२", "༣", "١٢"]),  # digits, not ASCII
        lambda: "9" * rng.choice([19, 20, 400, MAX_TEXT_LENGTH]),  # past int64, up to a message's worth
        lambda: (rng.choice(["x", "9 ", "é", "&lt;"]) * MAX_TEXT_LENGTH)[:MAX_TEXT_LENGTH],
        lambda: rng.choice(EMOJI) * rng.randint(1, 1024),
        lambda: rng.choice(["\u202e38", "\u200f38\u200f", "٣٨ km", "مرحبا 38", "שלום", "\u202bLeft\u202c"]),
        lambda: rng.choice(["3\u200b8", "\u200b", "\ufeff38", "38\u2060", "\u200d", "Le\u200dft"]),
        lambda: rng.choice(["", " ", "\n\t ", "\u00a0"]),
        lambda: rng.choice(["<b>bold</b> & <script>", "&amp;", "<", "a & b < c", "</i>", "<a href='x'>"]),
        lambda: rng.choice(["I felt a pop", "my calf is swollen", "on cipro", "fever", "can't walk at all"]),
        lambda: rng.choice(["Left", "right", "Both", "yes", "Worse", "None of these", "07:30", "25:99",
                            "Europe/London", "Mars/Olympus", "/", "@achilles_coach_bot"]),
        lambda: f"{rng.uniform(-1e6, 1e6):.{rng.randint(0, 12)}f}",
        lambda: "".join(chr(rng.randint(0x20, 0x2FFF)) for _ in range(rng.randint(1, 60))),
        lambda: "".join(rng.choices(string.printable, k=rng.randint(1, MAX_TEXT_LENGTH))),
    ])()


def code_like(rng: random.Random) -> str:
    """16 URL-safe characters, as an invite code is."""
    return base64.urlsafe_b64encode(rng.randbytes(12)).decode()


def payload(rng: random.Random, code: str) -> str:
    """What follows /start: an invite code, right, nearly right or not at all."""
    return rng.choice([
        lambda: code,
        lambda: code_like(rng),
        lambda: code[:-1] + ("A" if code[-1] != "A" else "B"),
        lambda: code + "\u200b",
        lambda: " " + code.lower(),
        lambda: "-" + code[1:],
        lambda: "_" * 64,
        lambda: rng.choice(["clinic_abc", "ref-123", "../../etc/passwd", "%00", "null", "undefined"]),
        lambda: "".join(rng.choices(string.ascii_letters + string.digits + "-_", k=rng.randint(1, 200))),
        lambda: hostile_text(rng),
    ])()


def junk_form(rng: random.Random) -> str:
    lines = ["name: " + hostile_text(rng)[:100], "start: 2027-13-45", "start: 2027-04-05", "start: yesterday",
             "weeks: 1e400", "weeks: 999", "weeks: 4", "places: -1", "places: 1000", "places: ²",
             "deadline: 2027-04-01", "session: Wed 25:99 Class", "session: Mon 18:00 " + "x" * 200,
             "session: Fri 07:00 Run https://example.org/x", "session: Xyz 07:00 Run", hostile_text(rng)]
    return "\n".join(rng.choice(lines) for _ in range(rng.randint(1, 8)))


FORGED = ["", "|", "||", "g|", "g|:", "g|nope", "g|join:", "g|agree:zzz", "1|erase", "-1|0", "0|0",
          "1e400|0", "NaN|t0", "g|done:2027-13-45", "g|done:", "g|snooze:1e400", "g|admit:", "g|admit::",
          "g|announce:x:y", "g|reassess:" + "x" * 50, "g|summary:" + "9" * 50]
ODD_STEPS = ["²", "①", "١", "99999999999999999999", "-0", " 1", "1 ", "0x1", "٣"]
ODD_TOKENS = ["²", "t²", "s²", "①", "t-1", "s99", "999999", "t", "s", "", "x" * 60, "erase", "keep", "t١"]


def sender(update: dict) -> int:
    return next(part["from"]["id"] for part in update.values() if isinstance(part, dict))


def fits(data: str) -> str:
    """Callback data as Telegram carries it: at most 64 bytes (cut at a character)."""
    while len(data.encode()) > 64:
        data = data[:-1]
    return data


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Sent:
    """An update a user sent, and what they are owed for it."""

    owed: str  # "reply" (a private message), "answer" (a tap), "notice" (a group command), "nothing"
    chat: int
    what: str


class Users:
    """Plays the runners and the admin: one random update at a time, remembering what each is owed."""

    def __init__(self, api: FakeTelegram, rng: random.Random, code: str, drawings: bool) -> None:
        self.api, self.rng, self.code = api, rng, code
        self.charts_left = CHARTS if drawings else 0
        self.actors = [*RUNNERS, ADMIN]
        self.sent: dict[int, Sent] = {}  # by update number
        self.keyboards: dict[int, list[tuple[int, list[str]]]] = defaultdict(list)  # (message, its data)
        self.scanned: dict[int, int] = defaultdict(int)  # records of each chat looked at
        self.everyones: list[str] = []  # callback data seen in any chat
        self.files: dict[int, list[int]] = defaultdict(list)  # messages with a document or a photo
        self.own_texts: dict[int, list[int]] = defaultdict(list)  # message ids a user typed
        self.had_id: dict[int, set[int]] = defaultdict(set)  # update id -> users it was given to
        for update in api.updates:  # the walks' too
            self.had_id[update["update_id"]].add(sender(update))

    def look(self) -> None:
        """Read what the bot sent since last time: the buttons users may tap (now or much later)."""
        for chat in self.actors:
            records = self.api.messages_to(chat)
            for record in records[self.scanned[chat]:]:
                data = [b["callback_data"] for row in record.inline_keyboard for b in row
                        if "callback_data" in b]
                if data:
                    self.keyboards[chat].append((record.message_id, data))
                    self.everyones += data
                if record.files and not record.edited:
                    self.files[chat].append(record.message_id)
            self.scanned[chat] = len(records)

    def one(self) -> None:
        rng, user = self.rng, self.pick()
        roll = rng.random()
        if user == ADMIN and rng.random() < 0.4:
            self.message(user, f"/{rng.choice(DESK)} {self.desk_argument()}".rstrip())
        elif roll < 0.18 and self.keyboards[user]:
            self.tap(user, *self.real_button(user))
        elif roll < 0.32 and self.api.messages_to(user):
            self.tap(user, self.any_message(user), self.forged_data(user))
        elif roll < 0.62:
            self.message(user, hostile_text(rng))
        elif roll < 0.80:
            self.message(user, self.command())
        elif roll < 0.84:
            lat, lon = rng.choice([(90, 180), (-90, -180), (0, 0), (51.5, -0.12), (-33.9, 151.2),
                                   (rng.uniform(-90, 90), rng.uniform(-180, 180))])
            self.record(user, self.api.send_location(user, lat, lon), "reply", user, f"location {lat},{lon}")
        elif roll < 0.90 and self.own_texts[user]:
            text = hostile_text(rng)
            update = self.api.edit_message(user, rng.choice(self.own_texts[user]), text)
            self.record(user, update, "nothing", user, f"edit to {text[:40]!r}")  # ignored by design
        else:  # in a group, a command gets only the notice, and the rest nothing
            name = rng.choice(["start", "help", "checkin", f"start@{BOT_USERNAME}"])
            text = f"/{name} {payload(rng, self.code)}" if rng.random() < 0.4 else hostile_text(rng)
            update = self.api.send_message(user, text, chat_type="group", chat_id=GROUP)
            command = any(e["type"] == "bot_command" and e["offset"] == 0  # as Telegram marks it
                          for e in update["message"].get("entities", ()))
            owed = "notice" if command else "nothing"
            self.record(user, update, owed, GROUP, f"in the group {text[:40]!r}")

    def pick(self) -> int:
        # The engine knows a redelivery by the ids of the runner's last 100 updates, kept however
        # old: an id the same runner had before a restart would read as one (shown where they are,
        # not applied). A random restart all but never lands there; here it goes to someone else.
        taken = self.had_id.get(self.api.next_update_id, ())
        return self.rng.choice([actor for actor in self.actors if actor not in taken])

    def record(self, user: int, update: dict, owed: str, chat: int, what: str) -> None:
        self.had_id[update["update_id"]].add(user)
        self.sent[self.api.number_of(update)] = Sent(owed, chat, what)

    def message(self, user: int, text: str) -> None:
        update = self.api.send_message(user, text)
        self.own_texts[user].append(update["message"]["message_id"])
        self.record(user, update, "reply", user, f"{text[:60]!r}")

    def tap(self, user: int, message: int, data: str) -> None:
        if data.partition("|")[2].partition(":")[0] in ("summary", "sendsummary"):
            data = data.replace("summary", "summarx", 1)  # still a tap, but no PDF (see CHARTS)
        update = self.api.press_button(user, message, data, strict=False)
        self.record(user, update, "answer", user, f"tap {data!r} on message {message}")

    def real_button(self, user: int) -> tuple[int, str]:
        """A button of the latest keyboard (the conversation moves on), or of an older one (stale)."""
        keyboards = self.keyboards[user]
        message, data = keyboards[-1] if self.rng.random() < 0.6 else self.rng.choice(keyboards)
        return message, self.rng.choice(data)

    def any_message(self, user: int) -> int:
        """Forged data comes with a message of the chat: "the message originated the query can
        contain no callback buttons with this data" (Bot API, CallbackQuery)."""
        keyboards, roll = self.keyboards[user], self.rng.random()
        if keyboards and roll < 0.6:
            return keyboards[-1][0]
        if self.files[user] and roll < 0.8:  # a document or a photo: no text to edit
            return self.rng.choice(self.files[user])
        return self.rng.choice(self.api.messages_to(user)).message_id  # old, or without buttons

    def forged_data(self, user: int) -> str:
        rng = self.rng
        own = [data for _, keyboard in self.keyboards[user][-3:] for data in keyboard] or ["1|0"]
        real = rng.choice(own)
        step, _, token = real.partition("|")
        return fits(rng.choice([
            lambda: real,  # as it is, but maybe with another message (see any_message)
            lambda: rng.choice(FORGED),
            lambda: "".join(rng.choice(string.printable) for _ in range(64)),
            lambda: rng.choice(EMOJI[:2]) * 16,
            lambda: f"{rng.choice(ODD_STEPS)}|{token}",
            lambda: f"{step}|{rng.choice(ODD_TOKENS)}",
            lambda: f"{int(step) + rng.choice([-1, 1])}|{token}" if step.isdecimal() else real + "x",
            lambda: rng.choice([real + "x", real[:-1], real.upper(), f"{token}|{step}"]),
            lambda: rng.choice(self.everyones or FORGED),  # another runner's, or the admin's
            lambda: f"g|{rng.choice(['admit', 'announce', 'join', 'done', 'skip'])}:{self.code}:"
                    f"{rng.choice([*ODD_STEPS, str(user), str(ADMIN)])}",
        ])())

    def command(self) -> str:
        rng = self.rng
        name = rng.choice([*COMMANDS, "start", "start", "fly", "START", "Start", "x" * 64,
                           f"help@{BOT_USERNAME}", "help@other_bot"])
        if name == "progress":  # a chart each: a few are enough
            self.charts_left -= 1
            if self.charts_left < 0:
                name = "help"
        if name.lower().startswith("start") and rng.random() < 0.7:
            return f"/{name} {payload(rng, self.code)}"
        if rng.random() < 0.5:
            return f"/{name}"
        return f"/{name} {rng.choice([hostile_text(rng), 'A' * rng.randint(1, 4000), code_like(rng)])}"

    def desk_argument(self) -> str:
        rng = self.rng
        return rng.choice([
            lambda: "",
            lambda: self.code,
            lambda: f"{self.code} {hostile_text(rng)}",
            lambda: payload(rng, self.code),
            lambda: hostile_text(rng),
            lambda: "\n" + junk_form(rng),
        ])()


async def walk(api: FakeTelegram, runner: int, code: str, answered: int) -> None:
    """Take a runner to the state their kind names (`answered`: how far a runner mid-way got)."""
    kind, user = KIND_OF[runner], api.user(runner, NAME_OF[runner])
    if kind == "not_started":
        return
    if kind == "in_challenge":
        await say(user, f"/start {code}")
        await tap(user, "I understand and agree")
        await tap(user, "Join")  # the third finds it full and joins the waitlist
        await follow(user, TYPICAL_RUNNER + REMINDER_SETUP)
        return
    await say(user, "/start")
    if kind == "declined":
        await tap(user, "No thanks")
        return
    await tap(user, "I understand and agree")
    if kind == "urgent":
        await tap(user, "A gap or dent")
        await tap(user, "Done")
    elif kind in ("mid_questions", "paused"):
        await follow(user, TYPICAL_RUNNER[:answered])
        if kind == "paused":
            await say(user, "/cancel")
    else:
        await follow(user, TYPICAL_RUNNER + REMINDER_SETUP)
        if kind == "mid_checkin":
            await say(user, "/checkin")
            await tap(user, "3")
        elif kind == "reminders_paused":
            await say(user, "/pause")
        elif kind == "confirming_delete":
            await say(user, "/delete")


IN_STATE = {  # what each kind's record looks like once walked there
    "not_started": lambda r: r is None,
    "declined": lambda r: r["state"] == "declined",
    "mid_questions": lambda r: r["state"] in QUESTION_STATES and r.get("mode", "none") == "none",
    "paused": lambda r: r.get("mode") == "paused",
    "urgent": lambda r: r["state"] == "urgent",
    "planned": lambda r: r["state"] == "idle" and r["reminder"]["active"],
    "reminders_paused": lambda r: r["state"] == "idle" and not r["reminder"]["active"],
    "mid_checkin": lambda r: r["state"] in CHECKIN_STATES,
    "confirming_delete": lambda r: r.get("mode") == "confirming_delete",
    "in_challenge": lambda r: r["state"] == "idle",
}


def restart_at(week: int, weeks: list[list[int]], rng: random.Random, length: int) -> int:
    """Where Telegram's ids start again after a quiet week (`weeks`: the ids of each week so far):
    lower, higher, or on ids used before.

    Never where the inbox still remembers one of the next `length` ids: it drops an update whose
    id is among the last RECENT received, however long ago, and a restart at a random id all but
    never lands there. The starts on ids used before are on ids other runners had."""
    everything = [update_id for ids in weeks for update_id in ids]
    recent = set(everything[-RECENT:])
    candidates = {
        1: lambda: rng.randint(1_000, min(everything) - length),  # lower than any so far
        2: lambda: rng.choice(weeks[0]),  # on ids of the first week
        3: lambda: rng.randint(2**30, 2**31 - length),  # far higher
        4: lambda: rng.choice(everything),  # on ids of any week
        5: lambda: min(recent) - length,  # as close under what the inbox remembers as can be
    }
    while True:
        start = candidates[week]()
        if recent.isdisjoint(range(start, start + length)):
            return start


# --- what a user would notice ----------------------------------------------------------------


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


def what_went_wrong(api: FakeTelegram, users: Users) -> list[str]:
    replies, answers = defaultdict(list), defaultdict(list)
    for message in api.all_messages():
        replies[message.reply_to].append(message)
    for answer in api.callback_answers:
        answers[answer.reply_to].append(answer)
    notice = render("common/private_only.j2", username=BOT_USERNAME)
    problems = []
    for number, sent in users.sent.items():
        got = replies.get(number, [])
        here = [m for m in got if m.chat_id == sent.chat]
        if sent.owed == "reply" and not here:
            seen = [m.content[:160] for m in api.messages_to(sent.chat) if (m.reply_to or 0) < number][-1:]
            problems.append(f"no reply to {sent.what} from {sent.chat}, who had last read {seen}")
        elif sent.owed == "answer" and len(answers.get(number, [])) != 1:
            problems.append(f"{sent.what} from {sent.chat} answered {len(answers.get(number, []))} times")
        elif sent.owed == "notice" and [m.html for m in got] != [notice]:
            problems.append(f"{sent.what}: the group got {[m.content[:60] for m in got]}")
        elif sent.owed == "nothing" and (got or answers.get(number)):
            problems.append(f"{sent.what} from {sent.chat} was answered: {[m.content[:60] for m in got]}")
        for before, after in itertools.pairwise(here):
            if before.content == after.content:
                problems.append(f"{sent.what} from {sent.chat}: said twice: {after.content[:80]!r}")
    for message in api.all_messages():
        cause = users.sent[message.reply_to].what if message.reply_to in users.sent else "a walk"
        if message.chat_id == GROUP and message.html != notice:
            problems.append(f"in the group, for {cause}: {message.content[:80]!r}")
        if message.text is not None and not 0 < len(message.text) <= MAX_TEXT_LENGTH:
            problems.append(f"a message of {len(message.text)} characters for {cause}")
        if len(message.caption or "") > MAX_CAPTION_LENGTH:
            problems.append(f"a caption of {len(message.caption)} characters for {cause}")
        if "something went wrong" in message.content:
            problems.append(f"an apology for {cause}")
    return problems


class Logged(logging.Handler):
    """Every warning and error logged while a shard runs: none is expected."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        cause = record.exc_info[1] if record.exc_info else None
        because = f" ({type(cause).__name__}: {cause})" if cause else ""
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}{because}")


@dataclass
class Report:
    """What one shard saw, for the test to judge (a shard may run in another process)."""

    seed: int
    error: str = ""  # the shard could not run to the end
    logged: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # calls Telegram refused
    problems: list[str] = field(default_factory=list)  # what users would notice
    invalid: list[str] = field(default_factory=list)  # stored records that do not validate
    sent: int = 0
    reused: int = 0  # updates that came with an id used before
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # less than `seconds` when something else had the cores


def run_shard(shard: int) -> Report:
    """One bot with its own simulated Telegram, data dir and UPDATES // SHARDS updates. The data
    dir is on a tmpfs where there is one: real files, without the disk's fsyncs."""
    report = Report(SEED + shard)
    started, cpu = time.perf_counter(), time.process_time()
    root, logged = logging.getLogger(), Logged()
    level = root.level
    if level > logging.WARNING:  # a warning must reach the handler
        root.setLevel(logging.WARNING)
    root.addHandler(logged)
    thresholds = gc.get_threshold()
    gc.set_threshold(50_000, 50, 100)  # rescanning python-telegram-bot's many objects: 10% of the time
    shm = Path("/dev/shm")
    try:
        with tempfile.TemporaryDirectory(prefix="fuzz-", dir=shm if shm.is_dir() else None) as directory:
            asyncio.run(fuzz(Path(directory) / "data", shard, report))
    except Exception:
        report.error = traceback.format_exc()
    finally:
        gc.set_threshold(*thresholds)
        root.removeHandler(logged)
        root.setLevel(level)
    report.logged = logged.lines
    report.seconds, report.cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    return report


async def fuzz(data_dir: Path, shard: int, report: Report) -> None:
    rng = random.Random(report.seed)
    api = FakeTelegram()
    api.register_chat(GROUP, chat_type="group", title="Club")
    api.register_chat(ADMIN)  # the clinic's admin has talked to the bot before: their menu is set
    clock = Clock(NOW)
    coach = make_coach(data_dir, clock, admins=(ADMIN,))
    updates = UPDATES // SHARDS
    async with running_bot(api, coach):
        admin = api.user(ADMIN, "Dr Kay")
        await say(admin, FORM)
        code = admin.inbox[-1].text.split("?start=")[1].split()[0]  # from the invite link
        answered = {runner: rng.randint(1, len(TYPICAL_RUNNER) - 1) for runner in RUNNERS}
        await asyncio.gather(*(walk(api, runner, code, answered[runner]) for runner in RUNNERS))
        not_there = [(r, KIND_OF[r]) for r in RUNNERS if not IN_STATE[KIND_OF[r]](coach.store.load(r))]
        assert not_there == [], f"the walks did not reach every state: {not_there}"

        users = Users(api, rng, code, drawings=shard == 0)
        per_week, weeks = updates // WEEKS, []
        for week in range(WEEKS):
            if week:  # a quiet week: everything handled long ago, then ids start again elsewhere
                weeks.append([update["update_id"] for update in api.updates[sum(map(len, weeks)):]])
                clock.advance(timedelta(days=8))
                api.restart_update_ids(restart_at(week, weeks, rng, per_week + updates % WEEKS))
            todo = per_week + (updates % WEEKS if week == WEEKS - 1 else 0)
            for start in range(0, todo, BATCH):
                users.look()
                for _ in range(min(BATCH, todo - start)):
                    users.one()
                await quiet(api, timeout=60)

    report.refused = [f"{call.method}: {call.error}" for call in api.calls if not call.ok]
    report.problems = what_went_wrong(api, users)
    report.sent = len(users.sent)
    ids = [update["update_id"] for update in api.updates]
    report.reused = len(ids) - len(set(ids))
    for runner in coach.store.runner_ids():
        try:
            assert_record_is_valid(coach.store.load(runner))
        except Exception as error:
            report.invalid.append(f"{runner}: {type(error).__name__} {error}")


def counted(lines: list[str], first: int = 6) -> str:
    """How many, and the commonest (alike but for an update id), each with its count."""
    common = Counter(re.sub(r"update \d+", "update …", line) for line in lines).most_common(first)
    return f"{len(lines)}:\n    " + "\n    ".join(f"{n} x {line[:400]}" for line, n in common)


def test_ten_thousand_hostile_updates_break_nothing():
    # Two bots side by side, one per core: python-telegram-bot and the engine take ~1.5 ms of
    # CPU an update, so 10,000 in one process would take 15 s. The other runs in a new process,
    # forked from one that has imported the bot already (`tests.warm_bot`).
    with ProcessPoolExecutor(SHARDS - 1, mp_context=warm_bot.FORKS) as pool:
        others = [pool.submit(run_shard, shard) for shard in range(1, SHARDS)]
        reports = [run_shard(0), *(other.result(timeout=600) for other in others)]
    wrong = []
    for report in reports:
        print(f"seed {report.seed}: {report.sent} updates in {report.seconds:.1f} s, "  # shown with a failure
              f"{report.cpu_seconds:.1f} s of CPU")
        wrong += [f"seed {report.seed}: {what} {counted(lines)}" for what, lines in (
            ("the run stopped:", report.error.splitlines()[-1:]), ("logged", report.logged),
            ("Telegram refused", report.refused), ("users would notice", report.problems),
            ("invalid records", report.invalid)) if lines]
        if report.reused <= BATCH:
            wrong.append(f"seed {report.seed}: the restarts reused only {report.reused} ids")
    assert wrong == [], "\n".join(["", *wrong, *(report.error for report in reports)])
    assert sum(report.sent for report in reports) == UPDATES
