"""A runner whose Telegram speaks Spanish, end to end over HTTP (the real Application polling the
local Bot API server): the whole way in Spanish, the urgent screen with the clinic's numbers,
and a switch to English in the middle of the questions."""

from __future__ import annotations

from testkit.telegram import FakeTelegram
from tests.e2e import follow, make_coach, running_bot, say, seen_text, tap

# The typical runner's answers (tests/runner_script.py), tapped as a Spanish reader sees them.
TYPICAL_RUNNER_ES = [
    ("tap", "Ninguna de estas"),
    ("say", "38"),
    ("tap", "Derecho"),
    ("tap", "Poco a poco"),
    ("say", "18"),
    ("tap", "Omitir"),
    ("tap", "3"),
    ("tap", "Por encima del talón"),
    ("say", "6"),
    ("tap", "10-30 min"),
    ("tap", "Mejora al calentar, luego regresa"),
    ("tap", "2"),
    ("tap", "3"),
    ("tap", "Sí, se calmó"),
    ("tap", "Más o menos igual"),
    ("tap", "4"),
    ("tap", "30 km"),
    ("tap", "30 km"),
    ("tap", "Ninguna de estas"),
    ("tap", "Nada todavía"),
    ("tap", "Más o menos igual"),
    ("tap", "Ninguna de estas"),
]


async def test_a_runner_with_telegram_in_mexican_spanish_gets_to_a_plan_in_spanish(bot_api, tmp_path):
    coach = make_coach(tmp_path / "data")
    async with running_bot(bot_api, coach):
        lucia = bot_api.user(8001, "Lucía", language_code="es-MX")
        await say(lucia, "/start")
        assert "Te damos la bienvenida" in lucia.inbox[-1].text
        await tap(lucia, "Entiendo y acepto")
        await follow(lucia, TYPICAL_RUNNER_ES)
        plan = seen_text(lucia, 3)
    assert "fase 2" in plan.lower() and "Fuerza" in plan
    assert "3 x 15" in plan and "Ritmo: 3 s subiendo" in plan and "no un diagnóstico" in plan
    assert coach.store.load(lucia.id)["language"] == "es"
    spanish_menu = bot_api.commands[FakeTelegram.menu_key(None, "es")]
    assert {"command": "language", "description": "Cambiar el idioma"} in spanish_menu


async def test_a_red_flag_in_spanish_gives_the_spanish_urgent_screen_with_the_clinics_numbers(
        bot_api, tmp_path):
    coach = make_coach(tmp_path / "data")
    async with running_bot(bot_api, coach):
        mateo = bot_api.user(8002, "Mateo", language_code="es-419")
        await say(mateo, "/start")
        await tap(mateo, "Entiendo y acepto")
        await tap(mateo, "Chasquido")
        await tap(mateo, "Listo")
        urgent = seen_text(mateo, 2)
    assert "haz que te revisen esto hoy" in urgent
    assert coach.clinic.phone in urgent and coach.clinic.emergency_number in urgent
    assert coach.store.load(mateo.id)["assessment"]["reasons"][0]["rule"] == "R1"


async def test_switching_to_english_mid_questionnaire_carries_on_at_the_same_question(bot_api, tmp_path):
    coach = make_coach(tmp_path / "data")
    async with running_bot(bot_api, coach):
        sofia = bot_api.user(8003, "Sofía", language_code="es-MX")
        await say(sofia, "/start")
        await tap(sofia, "Entiendo y acepto")
        await tap(sofia, "Ninguna de estas")
        assert "¿Cuántos años tienes?" in sofia.inbox[-1].text
        await say(sofia, "/language en")
        assert "How old are you?" in sofia.inbox[-1].text  # the same question, now in English
        await say(sofia, "38")
        assert "Which heel hurts?" in sofia.inbox[-1].text
        await say(sofia, "/language")
        await tap(sofia, "Español")
        assert "¿Qué talón te duele?" in sofia.inbox[-1].text
    assert coach.store.load(sofia.id)["answers"]["age"] == 38
