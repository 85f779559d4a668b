"""Clinics end to end (the real Application, the simulated Telegram in-process): a challenge
with limited places, the roster, alerts, privacy."""

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta

from tests.clock import Clock
from tests.e2e import follow, make_coach, quiet, running_bot, say, tap
from tests.runner_script import TYPICAL_RUNNER

ADMIN = 9000
NOW = datetime(2027, 3, 29, 9, tzinfo=UTC)
FORM = """/newchallenge
name: Spring Achilles Challenge
start: 2027-03-29
weeks: 6
places: 3
session: Wed 18:30 Group strength class https://example.org/meet"""


async def create_challenge(api) -> tuple[str, str]:
    admin = api.user(ADMIN, first_name="Dr Kay")
    await say(admin, FORM)
    text = admin.inbox[-1].text
    link = re.search(r"https://t\.me/\S+\?start=(\S+)", text)
    assert link, text
    return link.group(0), link.group(1)


async def open_link(api, runner_id: int, name: str, code: str):
    runner = api.user(runner_id, first_name=name)
    await say(runner, f"/start {code}")
    return runner


async def test_challenge_with_three_places_enrols_three_and_waitlists_the_fourth(telegram, tmp_path):
    coach = make_coach(tmp_path / "data", Clock(NOW), admins=(ADMIN,))
    async with running_bot(telegram, coach):
        link, code = await create_challenge(telegram)
        assert link.startswith("https://t.me/achilles_coach_bot?start=")
        runners = {}
        for runner_id, name in [(501, "Ana"), (502, "Ben"), (503, "Cat"), (504, "Dan")]:
            runner = await open_link(telegram, runner_id, name, code)
            assert "invited to Spring Achilles Challenge" in runner.inbox[-1].text
            await tap(runner, "I understand and agree")
            runners[name] = runner
            if name == "Dan":
                assert "full or closed" in runner.inbox[-1].text
                await tap(runner, "Join the waitlist")
                assert "on the waitlist" in runner.inbox[-1].text
            else:
                assert "shares your check-ins" in runner.inbox[-1].text
                await tap(runner, "Join and share my check-ins")
                assert "You're in" in runner.inbox[-1].text and "Safety first" in runner.inbox[-1].text

        admin = telegram.user(ADMIN)
        await say(admin, f"/roster {code}")
        roster = admin.inbox[-1].text
        assert all(name in roster for name in ("Ana", "Ben", "Cat")) and "Dan" not in roster
        assert "3/3 runners" in roster

        await say(admin, f"/waitlist {code}")
        assert "Dan" in admin.inbox[-1].text
        await tap(admin, "Admit Dan")
        await quiet(telegram)
        assert "A place opened" in runners["Dan"].inbox[-1].text
        await say(admin, f"/roster {code}")
        assert "Dan" in admin.inbox[-1].text


async def test_participants_red_flag_reaches_the_admin_within_a_second(telegram, tmp_path):
    coach = make_coach(tmp_path / "data", Clock(NOW), admins=(ADMIN,))
    async with running_bot(telegram, coach):
        _, code = await create_challenge(telegram)
        eve = await open_link(telegram, 505, "Eve", code)
        await tap(eve, "I understand and agree")
        await tap(eve, "Join and share my check-ins")
        await tap(eve, "A snap, pop")
        since = telegram.mark(ADMIN)
        await eve.tap("Done ✔️")
        alert = await telegram.wait_for_message(ADMIN, since=since, timeout=1.0)
        assert "Red flag in Spring Achilles Challenge" in alert[0].text and "Eve" in alert[0].text
        await say(telegram.user(ADMIN), "/alerts")
        assert "Eve" in telegram.messages_to(ADMIN)[-1].text


async def test_non_admins_are_refused_without_learning_whether_a_challenge_exists(telegram, tmp_path):
    coach = make_coach(tmp_path / "data", Clock(NOW), admins=(ADMIN,))
    async with running_bot(telegram, coach):
        _, code = await create_challenge(telegram)
        mallory = telegram.user(666)
        answers = {}
        for attempt in ("/roster", "/alerts", "/export", "/announce", "/waitlist", "/challenges"):
            for target in (code, "no-such-code"):
                await say(mallory, f"{attempt} {target} hello")
                answers[(attempt, target)] = mallory.inbox[-1].text
        assert len(set(answers.values())) == 1, answers
        assert "for clinic staff" in next(iter(answers.values()))
        assert code not in "".join(answers.values())


async def test_announcement_is_previewed_then_sent_to_every_participant(telegram, tmp_path):
    coach = make_coach(tmp_path / "data", Clock(NOW), admins=(ADMIN,))
    async with running_bot(telegram, coach):
        _, code = await create_challenge(telegram)
        fay = await open_link(telegram, 506, "Fay", code)
        await tap(fay, "I understand and agree")
        await tap(fay, "Join and share my check-ins")
        admin = telegram.user(ADMIN)
        before = len(fay.inbox)
        await say(admin, f"/announce {code} Track session moved to 19:00 <b>tonight</b>")
        preview = admin.inbox[-1]
        assert "Preview" in preview.text and "&lt;b&gt;" not in preview.text
        assert "<b>tonight</b>" in preview.text  # shown as typed, not as markup
        assert len(fay.inbox) == before, "nothing goes out before the admin confirms"
        await tap(admin, "Send it")
        await quiet(telegram)
        assert len(fay.inbox) == before + 1
        assert "Track session moved to 19:00 <b>tonight</b>" in fay.inbox[-1].text


async def test_challenge_export_is_a_csv_with_one_row_per_participant_day(telegram, tmp_path):
    clock = Clock(NOW)
    coach = make_coach(tmp_path / "data", clock, admins=(ADMIN,))
    async with running_bot(telegram, coach):
        _, code = await create_challenge(telegram)
        gus = await open_link(telegram, 507, "Gus", code)
        await tap(gus, "I understand and agree")
        await tap(gus, "Join and share my check-ins")
        await follow(gus, TYPICAL_RUNNER[:-1])
        await tap(gus, "None of these", replies=2)
        await tap(gus, "07:30")
        await tap(gus, "UK, Ireland")
        await tap(gus, "Done")
        await say(gus, "/checkin")
        for part in ("3", "Yes, settled", "Same as usual", "Yes, all of it", "5 km"):
            await tap(gus, part)
        clock.moment = datetime(2027, 3, 31, 9, tzinfo=UTC)
        await say(telegram.user(ADMIN), f"/export {code}")
        document = telegram.messages_to(ADMIN)[-1].document
        rows = list(csv.reader(io.StringIO(document.text())))
    assert rows[0][:3] == ["date", "participant_id", "name"]
    assert [r[0] for r in rows[1:]] == ["2027-03-29", "2027-03-30", "2027-03-31"]
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["participant_id"] == "507" and first["pain"] == "3" and first["km"] == "5.0"
    assert rows[2][rows[0].index("checked_in")] == "0"


async def test_unknown_invite_code_gets_a_polite_message_and_nothing_else(telegram, tmp_path):
    coach = make_coach(tmp_path / "data", Clock(NOW), admins=(ADMIN,))
    async with running_bot(telegram, coach):
        hal = telegram.user(508)
        await say(hal, "/start AAAAAAAAAAAAAAAA")
        assert "isn't valid" in hal.inbox[-1].text
        assert hal.inbox[-1].buttons == []
        assert coach.store.load(508) is None


async def test_group_session_reminders_arrive_the_day_before_and_an_hour_before(telegram, tmp_path):
    clock = Clock(NOW)
    coach = make_coach(tmp_path / "data", clock, admins=(ADMIN,))
    async with running_bot(telegram, coach) as application:
        scheduler = application.bot_data["scheduler"]
        _, code = await create_challenge(telegram)
        ivy = await open_link(telegram, 509, "Ivy", code)
        await tap(ivy, "I understand and agree")
        await tap(ivy, "Join and share my check-ins")
        session = datetime(2027, 3, 31, 17, 30, tzinfo=UTC)  # Wed 18:30 in London (BST)
        seen = []
        moments = (session - timedelta(days=1, hours=8), session - timedelta(days=1),
                   session - timedelta(hours=1), session - timedelta(minutes=50))
        for moment in moments:
            clock.moment = moment
            await scheduler.tick()
            await quiet(telegram)
            seen.append(ivy.inbox[-1].text)
        assert "Group strength class" not in seen[0]
        assert "Tomorrow: Group strength class" in seen[1] and "at 18:30 your time" in seen[1]
        assert "In one hour: Group strength class" in seen[2] and "https://example.org/meet" in seen[2]
        assert seen[3] == seen[2], "each reminder once"


JO = 7_340_512  # an id no timestamp or count in the files is likely to contain


async def test_participant_export_shows_the_membership_and_delete_leaves_the_challenge(telegram, tmp_path):
    data = tmp_path / "data"
    coach = make_coach(data, Clock(NOW), admins=(ADMIN,))
    async with running_bot(telegram, coach):
        _, code = await create_challenge(telegram)
        jo = await open_link(telegram, JO, "Jo", code)
        await tap(jo, "I understand and agree")
        await tap(jo, "Join and share my check-ins")
        await say(jo, "/export")
        exported = json.loads(jo.inbox[-1].document.text())
        assert exported["challenges"][0]["name"] == "Jo"
        assert exported["challenges"][0]["challenge"] == "Spring Achilles Challenge"
        await say(jo, "/delete")
        await tap(jo, "Yes, erase everything")
        await say(telegram.user(ADMIN), f"/roster {code}")
        assert "Jo" not in telegram.messages_to(ADMIN)[-1].text
    for path in data.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert str(JO).encode() not in content and b'"Jo"' not in content, path
