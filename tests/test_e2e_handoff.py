"""The clinician handoff end to end (in-process): a VISA-A score, the one-page summary as a PDF in
the chat, and, for a challenge participant, straight to the clinic's admin on one tap."""

import io

from pypdf import PdfReader

from tests.clock import Clock
from tests.e2e import follow, make_coach, quiet, running_bot, say, tap
from tests.runner_script import REMINDER_SETUP, TYPICAL_RUNNER
from tests.test_e2e_clinic import ADMIN, NOW, create_challenge, open_link


def pdf_text(document) -> tuple[int, str]:
    reader = PdfReader(io.BytesIO(document.data))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


async def test_visa_the_summary_pdf_and_its_delivery_to_the_clinic(telegram, tmp_path):
    coach = make_coach(tmp_path / "data", Clock(NOW), admins=(ADMIN,))
    async with running_bot(telegram, coach):
        _, code = await create_challenge(telegram)
        eli = await open_link(telegram, 1301, "Eli", code)
        await tap(eli, "I understand and agree")
        await tap(eli, "Join and share my check-ins")
        await follow(eli, TYPICAL_RUNNER + REMINDER_SETUP)
        await say(eli, "/checkin")
        await follow(eli, [("tap", "4"), ("tap", "Yes, settled"), ("tap", "Same as usual"),
                           ("tap", "Yes, all of it"), ("tap", "8 km")])
        await say(eli, "/visa 64")
        assert "VISA-A 64 saved" in eli.inbox[-1].text

        await say(eli, "/clinic")
        assert "📤 Send my summary to the clinic" in eli.inbox[-1].buttons
        await tap(eli, "My summary for a clinician")
        document = eli.inbox[-1].document
        assert document is not None and document.filename.endswith(".pdf")
        pages, text = pdf_text(document)
        assert pages == 1
        assert "R9" in text and "R10" in text, "every reason with its rule id"
        assert "Mon 29 Mar 4 yes as usual yes 8 hold" in text, "the last check-in"
        assert "64" in text and "Example Sports Physio" in text

        admin = telegram.user(ADMIN)
        before = len(admin.inbox)
        await say(eli, "/clinic")
        await tap(eli, "Send my summary to the clinic")
        await quiet(telegram)
        assert "Sent" in eli.inbox[-1].text
        [delivered] = admin.inbox[before:]
        assert "Eli" in delivered.content and "https://example.org/book" in delivered.content
        assert pdf_text(delivered.document)[0] == 1
