"""Every word a user reads is a jinja2 template under `templates/`; this module renders them.

`render` gives Telegram HTML (autoescaped, so nothing a runner typed can inject markup);
`render_text` gives plain text for templates written as plain text (reasons, JSON output);
`render_reply` turns a `Reply` (a template's name and its facts) into a `Screen` an adapter can
draw; `html_to_text` turns rendered HTML into what the terminal chat prints.

Every template can read the clinical thresholds as `limits` (conversations/thresholds.py), so
no template repeats a clinical number, and `reason_text(reason)` for an assessment's reasons.

Languages: templates are written in English inside jinja2's i18n blocks (`{% trans %}`, `_()`);
the other languages' words are gettext catalogs, `templates/locale/<lang>/LC_MESSAGES/
messages.po`, read with Babel. Each language has its own environment; every function here takes
`lang` (a code of `LANGUAGES`, English by default).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from conversations.replies import OPTION, Button, Reply
from conversations.thresholds import THRESHOLDS

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
LOCALE_DIR = TEMPLATES_DIR / "locale"
DEFAULT_LANGUAGE = "en"
# English, and every language with a catalog: adding templates/locale/<code>/ adds the language.
LANGUAGES = (DEFAULT_LANGUAGE, *sorted(
    path.name for path in LOCALE_DIR.glob("*") if (path / "LC_MESSAGES" / "messages.po").is_file()))
# How a date reads in each language (Babel patterns); English's for any other.
DATE_STYLES = {"es": "EEEE d 'de' MMMM"}


def language_for(code: str | None) -> str:
    """The language for Telegram's `language_code` ("es-MX" -> "es"); English for anything else."""
    base = (code or "").split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else DEFAULT_LANGUAGE
CHECK = "✅"
BOX = "▫️"


def duration(seconds: int) -> str:
    """120 -> '2 min', 150 -> '2 min 30 s', 45 -> '45 s'."""
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 2:
        return f"{seconds} s"
    return f"{minutes} min" + (f" {rest} s" if rest else "")


def reason_text(reason: object, lang: str = DEFAULT_LANGUAGE) -> str:
    """The plain-language text of one reason of an assessment (a rule id, its whys and facts)."""
    get = reason.get if isinstance(reason, dict) else lambda name: getattr(reason, name)
    return render_text(f"reasons/{get('rule')}.j2", lang=lang, whys=get("whys"), **get("facts"))


@cache
def translations(lang: str) -> NullTranslations:
    """The language's catalog, compiled in memory from its .po file (English needs none)."""
    if lang == DEFAULT_LANGUAGE:
        return NullTranslations()
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=lang)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def as_moment(value: object) -> object:
    """A moment kept as text (in the outbox) back to a datetime; anything else as it is."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


@cache
def _environment(autoescape: bool, lang: str = DEFAULT_LANGUAGE) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_translations(translations(lang), newstyle=True)
    environment.filters["duration"] = duration
    # The protocol's words (extracted from protocol.toml): looked up as they are, never formatted.
    environment.filters["translated"] = translations(lang).gettext
    environment.filters["datetime"] = as_moment
    # Dates in the reader's language: "Monday 1 March", "lunes 1 de marzo".
    date_style = DATE_STYLES.get(lang, "EEEE d MMMM")
    environment.filters["day"] = lambda value, style=date_style: format_date(as_moment(value), style,
                                                                             locale=lang)
    environment.globals["limits"] = THRESHOLDS
    environment.globals["lang"] = lang
    environment.globals["reason_text"] = lambda reason: reason_text(reason, lang)
    environment.globals["option_label"] = lambda question, value: option_labels(question, lang)[value]
    return environment


def _tidy(text: str) -> str:
    # Templates are written for readability; collapse the blank lines their logic leaves behind.
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def render(template: str, /, *, lang: str = DEFAULT_LANGUAGE, **context: object) -> str:
    """A message in Telegram's HTML parse mode."""
    return _tidy(_environment(True, lang).get_template(template).render(**context))


def render_text(template: str, /, *, lang: str = DEFAULT_LANGUAGE, **context: object) -> str:
    """A plain-text template, e.g. a reason shown in JSON and inside messages."""
    text = _environment(False, lang).get_template(template).render(**context)
    return " ".join(text.split())


def html_to_text(message: str) -> str:
    """Telegram HTML as plain terminal text: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", message))


@cache
def template_module(name: str, lang: str = DEFAULT_LANGUAGE) -> object:
    """The variables and macros a template sets, e.g. the button labels in buttons.j2."""
    return _environment(False, lang).get_template(name).module


@cache
def option_labels(question_id: str, lang: str = DEFAULT_LANGUAGE) -> dict:
    """A question's button labels by value, from templates/questions/labels.j2."""
    return template_module("questions/labels.j2", lang).labels[question_id]


def label_text(button: Button, lang: str = DEFAULT_LANGUAGE) -> str:
    """A button's visible text."""
    if button.label == OPTION:
        facts = button.facts
        text = option_labels(facts["question"], lang)[facts["value"]]
        if facts["ticked"] is not None:
            text = f"{CHECK if facts['ticked'] else BOX} {text}"
        return text
    label = getattr(template_module("buttons.j2", lang), button.label)
    return str(label(**button.facts)) if callable(label) else str(label)


@dataclass(frozen=True)
class Key:
    """A drawn button: its text, and what a tap sends (or the link it opens)."""

    label: str
    data: str | None = None
    url: str | None = None


@dataclass
class Screen:
    """A reply as the runner sees it."""

    html: str
    buttons: list[list[Key]] = field(default_factory=list)
    edit: bool = False
    document: tuple[str, bytes] | None = None
    photo: bytes | None = None
    notice: str | None = None


def render_reply(reply: Reply, lang: str = DEFAULT_LANGUAGE, **shared: object) -> Screen:
    """Draw a reply in the reader's language. `shared` holds what the adapter knows and the
    engine need not, such as the bot's username for invite links."""
    text = render(reply.template, lang=lang, **{**shared, **reply.facts}) if reply.template else ""
    rows = [[Key(label_text(button, lang), button.data, button.url) for button in row]
            for row in reply.buttons]
    notice = render(reply.notice, lang=lang, **shared) if reply.notice else None
    return Screen(text, rows, reply.edit, reply.document, reply.photo, notice)
