"""Telegram's HTML parse mode, checked with the standard library's parser.

Telegram refuses a message whose HTML it cannot parse ("Bad Request: can't parse entities"), so a
broken template is a broken conversation. `parse_html` refuses what Telegram refuses (tags it does
not support, unbalanced tags, a bare `<` or `&`, named entities other than the four it knows) and
returns the text the user sees. It is deliberately stricter than Telegram about `&`: Telegram
shows a bare one literally, but it usually means user input went out unescaped.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

# https://core.telegram.org/bots/api#html-style
TAGS = frozenset({
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
    "a", "code", "pre", "blockquote", "tg-emoji",
})
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
# html.parser forgives an entity without its ';' and drops a bare '&' at the very end: not us.
BARE_AMPERSAND = re.compile(r"&(?![A-Za-z][A-Za-z0-9]*;|#[0-9]+;|#[xX][0-9A-Fa-f]+;)")


class HtmlError(ValueError):
    """Why Telegram would refuse the message."""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)  # entities arrive one by one, to be checked
        self.text: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in TAGS:
            raise HtmlError(f'unsupported start tag "{tag}"')
        if tag == "span" and dict(attrs).get("class") != "tg-spoiler":
            raise HtmlError('tag "span" must have class "tg-spoiler"')
        self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raise HtmlError(f'unsupported tag "<{tag}/>"')

    def handle_endtag(self, tag: str) -> None:
        if not self.open:
            raise HtmlError(f'unexpected end tag "</{tag}>"')
        if self.open[-1] != tag:
            raise HtmlError(f'unmatched end tag: expected "</{self.open[-1]}>", found "</{tag}>"')
        self.open.pop()

    def handle_data(self, data: str) -> None:
        # With convert_charrefs off, well-formed entities and tags never reach here.
        if "<" in data:
            raise HtmlError(f"unescaped '<' in {data!r}: write &lt;")
        if "&" in data:
            raise HtmlError(f"unescaped '&' in {data!r}: write &amp;")
        self.text.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in NAMED_ENTITIES:
            raise HtmlError(f"unsupported entity &{name};")
        self.text.append(NAMED_ENTITIES[name])

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
            self.text.append(chr(code))
        except (ValueError, OverflowError):
            raise HtmlError(f"bad character reference &#{name};") from None

    def handle_comment(self, data: str) -> None:
        raise HtmlError("comments are not supported")

    def handle_decl(self, decl: str) -> None:
        raise HtmlError(f"unsupported declaration <!{decl}>")

    def handle_pi(self, data: str) -> None:
        raise HtmlError(f"unsupported processing instruction <?{data}>")

    def unknown_decl(self, data: str) -> None:
        raise HtmlError(f"unsupported declaration <![{data}]>")


def parse_html(html: str) -> str:
    """The text Telegram would show for `html` (tags dropped, entities decoded); raises
    `HtmlError` where Telegram would refuse the message."""
    bare = BARE_AMPERSAND.search(html)
    if bare:
        raise HtmlError(f"unescaped '&' at offset {bare.start()}: write &amp;")
    reader = _Reader()
    reader.feed(html)
    reader.close()
    if reader.open:
        raise HtmlError(f'can\'t find end tag corresponding to start tag "{reader.open[-1]}"')
    return "".join(reader.text)
