"""The safety path end to end: the real python-telegram-bot Application, the simulated Telegram in-process."""

from tests.e2e import follow, make_coach, running_bot, say, seen_text, tap
from tests.runner_script import TYPICAL_RUNNER

CLINIC_PHONE = "+44 20 7946 0000"


async def test_sudden_onset_and_two_raises_reach_the_urgent_screen_without_the_hop_test(telegram, tmp_path):
    async with running_bot(telegram, make_coach(tmp_path / "data")):
        eva = telegram.user(1201)
        await say(eva, "/start")
        await tap(eva, "I understand and agree")
        await follow(
            eva,
            [("tap", "None of these"), ("say", "44"), ("tap", "Right"), ("tap", "Suddenly"), ("say", "2")],
        )
        urgent = eva.inbox[-1]
        assert "Please get this checked today" in urgent.text and CLINIC_PHONE in urgent.text
        assert "📅 Book with the clinic" in urgent.buttons
        everything = "\n".join(m.text or "" for m in eva.inbox)
        assert "Hop test" not in everything
        assert not any(dose in everything for dose in ("Strength day", "x 15", "phase 1", "phase 2"))


async def test_a_typed_pop_at_any_question_reaches_the_safety_question(telegram, tmp_path):
    async with running_bot(telegram, make_coach(tmp_path / "data")):
        fin = telegram.user(1202)
        await say(fin, "/start")
        await tap(fin, "I understand and agree")
        for step in TYPICAL_RUNNER:
            text = fin.inbox[-1].text
            question = text[text.index("Question ") :]  # after any note merged into the same message
            await say(fin, "I felt a pop yesterday during sprints")
            assert "Before anything else: a safety check" in seen_text(fin, 1)
            assert "✅ A snap, pop or 'kick' at the back of the ankle" in fin.inbox[-1].buttons
            await tap(fin, "None of these")
            assert fin.inbox[-1].text.endswith(question)
            await follow(fin, [step])
        await say(fin, "I felt a pop yesterday during sprints")
        await tap(fin, "Yes, this happened")
        assert "Please get this checked today" in seen_text(fin, 1) and CLINIC_PHONE in seen_text(fin, 1)
