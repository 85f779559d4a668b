"""Every word a user reads is a jinja2 template under `templates/`; this module renders them.

`render` gives Telegram HTML (autoescaped, so nothing a runner typed can inject markup);
`render_text` gives plain text for templates written as plain text (reasons, JSON output);
`html_to_text` turns rendered HTML into what the terminal chat prints.
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


def duration(seconds: int) -> str:
    """120 -> '2 min', 150 -> '2 min 30 s', 45 -> '45 s'."""
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 2:
        return f"{seconds} s"
    return f"{minutes} min" + (f" {rest} s" if rest else "")


@cache
def _environment(autoescape: bool) -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=autoescape,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["duration"] = duration
    return environment


def _tidy(text: str) -> str:
    # Templates are written for readability; collapse the blank lines their logic leaves behind.
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def render(template: str, /, **context: object) -> str:
    """A message in Telegram's HTML parse mode."""
    return _tidy(_environment(True).get_template(template).render(**context))


def render_text(template: str, /, **context: object) -> str:
    """A plain-text template, e.g. a reason shown in JSON and inside messages."""
    text = _environment(False).get_template(template).render(**context)
    return " ".join(text.split())


def html_to_text(message: str) -> str:
    """Telegram HTML as plain terminal text: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", message))


def template_module(name: str) -> object:
    """The variables a template sets, e.g. the button labels in questions/labels.j2."""
    return _environment(False).get_template(name).module
