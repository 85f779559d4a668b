"""Every word in every language: the templates hold their words only in translatable blocks,
each language's catalog translates every one of them with the same placeholders, and the
assessment is the same whatever language the runner reads."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from conversations.answers import contract_json
from conversations.messages import (
    LANGUAGES,
    LOCALE_DIR,
    TEMPLATES_DIR,
    option_labels,
    render_reply,
    template_module,
)
from conversations.replies import Event
from conversations.triage import assess
from testkit.runner import REMINDER_SETUP, TYPICAL_RUNNER
from testkit.story import make_coach
from tests.test_vignettes import load_vignettes

ROOT = TEMPLATES_DIR.parent
TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]
# Outside the translatable blocks a template may show only these (links, names, field names
# the clinic form's parser reads).
NOT_WORDS = {"https", "me", "start", "org", "VISA"}
FORM_FIELDS = {"name", "start", "weeks", "places", "deadline", "session", "Wed"}
# A translation may equal its English only if it holds no word: numbers, units, names, formats.
NAMES = {"VISA-A", "UTC", "km", "min", "No", "no", "s"}


def catalog(lang: str):
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=lang)


def words_outside_translation(source: str) -> list[str]:
    source = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    source = re.sub(r"\{%[-+]?\s*trans\b.*?%\}.*?\{%[-+]?\s*endtrans\s*[-+]?%\}", " ", source, flags=re.S)
    source = re.sub(r"\{[{%].*?[%}]\}", " ", source, flags=re.S)
    source = re.sub(r"<[^>]+>|/[a-z_]+", " ", source)  # markup and /commands
    return re.findall(r"[^\W\d_]{2,}", source)


def untranslated_literals(source: str) -> list[str]:
    """Quoted text inside {{ }} and {% %} that is not handed to gettext."""
    found = []
    for block in re.findall(r"\{[{%].*?[%}]\}", re.sub(r"\{#.*?#\}", " ", source, flags=re.S), flags=re.S):
        if re.match(r"\{%[-+]?\s*(trans|pluralize)\b", block) or "ngettext(" in block:
            continue
        for match in re.finditer(r"""(?<![\w])(["'])([^"']*?)\1""", block):
            if re.search(r"(?:_|gettext)\($", block[:match.start()]):
                continue
            text = re.sub(r"\{\w*\}|%\(\w+\)s|\\n|\([\d-]+\)", " ", match.group(2))
            words = [w for w in re.findall(r"[^\W\d_]{3,}", text) if w not in NAMES and w != "VISA"]
            if words and not re.fullmatch(r"[\w./|:-]*", match.group(2)):  # keys, zones, template names
                found.append(match.group(2))
    return found


@pytest.mark.parametrize("template", sorted(TEMPLATES_DIR.rglob("*.j2")),
                         ids=lambda path: str(path.relative_to(TEMPLATES_DIR)))
def test_every_word_of_every_template_is_translatable(template: Path):
    source = template.read_text(encoding="utf-8")
    allowed = NOT_WORDS | (FORM_FIELDS if template.name == "form.j2" else set())
    assert [w for w in words_outside_translation(source) if w not in allowed] == []
    assert untranslated_literals(source) == []


def extracted_messages() -> set[str]:
    method_map = [("conversations/protocol.toml", "conversations.protocol.extract_words"),
                  ("templates/**.j2", "jinja2")]
    options = {"templates/**.j2": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true",
                                   "lstrip_blocks": "true"}}
    ids = set()
    ours = lambda directory: "/." not in directory and "venv" not in directory  # noqa: E731
    for _filename, _line, message, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map=options, directory_filter=ours):
        ids.add(message if isinstance(message, str) else message[0])
    return ids


@pytest.mark.parametrize("lang", TRANSLATED)
def test_each_catalog_holds_every_message_of_the_templates_and_the_protocol(lang):
    known = {message.id if isinstance(message.id, str) else message.id[0]
             for message in catalog(lang) if message.id}
    missing = extracted_messages() - known
    assert not missing, f"run `make messages` and translate: {sorted(missing)[:5]}"


def placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%\(\w+\)s|\{\w*\}|%%", text))


def has_words(text: str) -> bool:
    text = re.sub(r"%\(\w+\)s|\{\w*\}", " ", text)
    return any(word not in NAMES for word in re.findall(r"[^\W\d_]{2,}", text))


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_is_translated_with_the_same_placeholders(lang):
    problems = []
    for message in catalog(lang):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in texts:
            if not text:
                problems.append(("missing", ids[0]))
            elif placeholders(text) != placeholders(ids[-1 if text is texts[-1] else 0]):
                problems.append(("placeholders differ", ids[0], text))
            elif text in ids and has_words(text):
                problems.append(("left in English", text))
    assert problems == []


@pytest.mark.parametrize("lang", TRANSLATED)
def test_buttons_menus_and_answer_labels_exist_in_every_language_and_stay_distinct(lang):
    english, other = template_module("commands.j2"), template_module("commands.j2", lang)
    assert english.commands.keys() == other.commands.keys()
    assert all(other.commands[name] != english.commands[name] for name in english.commands)
    labels = template_module("questions/labels.j2").labels
    for question in labels:
        translated = option_labels(question, lang)
        assert translated.keys() == option_labels(question).keys()
        assert len(set(translated.values())) == len(translated), f"{question}: two buttons read the same"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_public_vignettes_give_the_same_assessment_in_every_language(lang):
    from conversations.answers import parse_answers

    for vignette in load_vignettes():
        assessment = assess(parse_answers(vignette["answers"]))
        english, other = contract_json(assessment), contract_json(assessment, lang)
        assert [r["rule"] for r in other["reasons"]] == [r["rule"] for r in english["reasons"]]
        assert {k: v for k, v in other.items() if k != "reasons"} == {
            k: v for k, v in english.items() if k != "reasons"}
        for mine, theirs in zip(other["reasons"], english["reasons"], strict=True):
            assert mine["text"].strip() and mine["text"] != theirs["text"], vignette["name"]


def english_sentences() -> list[str]:
    """The English messages long enough that finding one verbatim means it was not translated."""
    return [m.id for m in catalog(TRANSLATED[0]) if isinstance(m.id, str) and len(m.id) > 24
            and " " in m.id and "%(" not in m.id and m.string != m.id]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_a_runner_reading_another_language_sees_no_english_from_consent_to_the_plan(tmp_path, lang):
    """The typical runner's way, in `lang`: the buttons are found by their English labels (the same
    keyboard, drawn in English too), and no English sentence of the catalog shows anywhere."""
    coach = make_coach(tmp_path / "data")
    shown, in_english = [], []

    def send(event: Event) -> None:
        outcome = coach.handle(7, replace(event, language=lang))
        assert outcome.lang == lang
        shown.extend(render_reply(reply, outcome.lang) for reply in outcome.replies)
        in_english.extend(render_reply(reply) for reply in outcome.replies)

    def tap(part: str) -> None:
        keyboard = [screen for screen in in_english if screen.buttons][-1]
        send(Event("button", next(key.data for row in keyboard.buttons for key in row if part in key.label)))

    send(Event("command", "start"))
    tap("I understand and agree")
    for action, value in TYPICAL_RUNNER + REMINDER_SETUP:
        tap(value) if action == "tap" else send(Event("text", value))
    for command in ("today", "plan", "help", "privacy", "reminders", "clinic", "checkin", "disclaimer"):
        send(Event("command", command))
    text = "\n".join(screen.html for screen in shown)
    assert text != "\n".join(screen.html for screen in in_english)
    assert [sentence for sentence in english_sentences() if sentence in text] == []
