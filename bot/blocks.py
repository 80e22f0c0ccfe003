"""Small pieces every Slack surface of the bot shares: the command's name, a plain notice,
blocks that stay within Slack's limits (:mod:`bot.limits`), signed numbers and plurals in
Portuguese, and word folding for typed options. Pure.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from bot import limits

COMMAND = "/sentimento"
ECHO_CHARS = 60  # what a message repeats of a word the user typed


def section(text: str) -> dict[str, Any]:
    """A mrkdwn section; text past Slack's limit is cut with "…"."""
    return {"type": "section", "text": {"type": "mrkdwn",
                                        "text": limits.truncate(text, limits.SECTION_TEXT)}}


def fields_section(*texts: str) -> dict[str, Any]:
    """A section of mrkdwn fields (two columns), each cut to Slack's limit."""
    return {"type": "section", "fields": [
        {"type": "mrkdwn", "text": limits.truncate(text, limits.FIELD_TEXT)}
        for text in texts[:limits.SECTION_FIELDS]]}


def header(text: str) -> dict[str, Any]:
    """A header (plain text with emoji), cut to Slack's 150 characters."""
    return {"type": "header", "text": {"type": "plain_text", "emoji": True,
                                       "text": limits.truncate(text, limits.HEADER_TEXT)}}


def context(*texts: str) -> dict[str, Any]:
    """A context block of mrkdwn texts, each cut to Slack's limit."""
    return {"type": "context", "elements": [
        {"type": "mrkdwn", "text": limits.truncate(text, limits.TEXT_OBJECT)}
        for text in texts[:limits.CONTEXT_ELEMENTS]]}


def message_text(text: str) -> str:
    """A message's top-level ``text`` (notification and fallback), cut to what Slack advises."""
    return limits.truncate(text, limits.MESSAGE_TEXT_ADVISED)


def echo(typed: str, limit: int = ECHO_CHARS) -> str:
    """What a message repeats of something the user typed: on one line, cut with "…"."""
    return limits.truncate(" ".join(typed.split()), limit)


def notice(text: str) -> dict[str, Any]:
    """A plain message: ``text`` for notifications and one mrkdwn section with the same text
    (both cut to Slack's limits)."""
    return {"text": message_text(text), "blocks": [section(text)]}


def signed(value: int) -> str:
    """``+3``, ``0`` or ``−3`` (a real minus sign, as the reports show it)."""
    return f"+{value}" if value > 0 else ("0" if value == 0 else f"−{abs(value)}")


def plural(count: int, one: str, many: str) -> str:
    """``1 alerta`` / ``2 alertas``: the count and the right form."""
    return f"{count} {one if count == 1 else many}"


def fold(word: str) -> str:
    """Lower-case without accents, for matching typed words (``Relatório`` == ``relatorio``)."""
    decomposed = unicodedata.normalize("NFKD", word.strip().lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))
